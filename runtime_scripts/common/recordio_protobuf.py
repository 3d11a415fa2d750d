"""SageMaker's RecordIO-protobuf (`application/x-recordio-protobuf`), written and read with the
standard library and numpy (no protobuf package in the images).

What SageMaker's "Common data formats for training" documents, and the SDK's
`write_numpy_to_dense_tensor` writes:
- each row is one `Record` (proto2, package aialgs.data): `features` (field 1) and `label`
  (field 2) are `map<string, Value>` keyed "values"; `Value.float32_tensor` (field 2) is a
  `Float32Tensor` with `values` (1, packed float), `keys` (2, packed uint64: sparse when given)
  and `shape` (3, packed uint64: required when sparse);
- each serialised Record is framed as MXNet RecordIO: the magic 0xced7230a and the length, both
  little-endian uint32, the bytes, then zero padding to a multiple of 4 bytes. The length's top
  three bits are MXNet's continuation flag: a record split over several frames, which the SDK
  never writes and this reader refuses.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError

CSV = "text/csv"
CONTENT_TYPE = "application/x-recordio-protobuf"
MAGIC = 0xCED7230A
_LENGTH_MASK = (1 << 29) - 1  # the lower 29 bits; the upper 3 are the continuation flag
_KEY = b"values"
# Field tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).
_LENGTH_DELIMITED, _VARINT, _FIXED64, _FIXED32 = 2, 0, 1, 5


class RecordIOError(ValueError):
    """The bytes are not RecordIO-protobuf as SageMaker's algorithms read it."""


# --- writing --------------------------------------------------------------------------------------
def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | _LENGTH_DELIMITED) + _varint(len(payload)) + payload


def _tensor_entry(values: np.ndarray) -> bytes:
    """A `map<string, Value>` entry "values" -> Value{float32_tensor{values}} (dense)."""
    tensor = _field(1, values.astype("<f4").tobytes())
    return _field(1, _KEY) + _field(2, _field(2, tensor))


def encode_record(features: np.ndarray, label: np.ndarray | None = None) -> bytes:
    """One Record: dense float32 features, and the label when there is one."""
    record = _field(1, _tensor_entry(np.ravel(features)))
    if label is not None:
        record += _field(2, _tensor_entry(np.ravel(label)))
    return record


def frame(payload: bytes) -> bytes:
    if len(payload) > _LENGTH_MASK:
        raise RecordIOError(f"a record of {len(payload)} bytes exceeds RecordIO's 2^29 - 1")
    return struct.pack("<II", MAGIC, len(payload)) + payload + b"\0" * (-len(payload) % 4)


def encode(features: np.ndarray, labels: np.ndarray | None = None) -> bytes:
    """Rows of `features` (n x d) and their `labels` (n, or None) as RecordIO-protobuf."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise RecordIOError(f"features must be a matrix (rows x features), not {features.shape}")
    if labels is not None and len(labels) != len(features):
        raise RecordIOError(f"{len(labels)} labels for {len(features)} rows")
    return b"".join(frame(encode_record(row, None if labels is None else labels[i]))
                    for i, row in enumerate(features))


def write(path: Path, features: np.ndarray, labels: np.ndarray | None = None) -> None:
    path.write_bytes(encode(features, labels))


def training_format(env: Mapping[str, str]) -> str:
    """The format preprocessing writes the training splits in (contract.TRAINING_INPUT_FORMAT_ENV,
    set by the pipeline for a built-in algorithm trained on RecordIO-protobuf)."""
    chosen = env.get(contract.TRAINING_INPUT_FORMAT_ENV) or CSV
    if chosen not in (CSV, CONTENT_TYPE):
        raise JobError(f"{contract.TRAINING_INPUT_FORMAT_ENV}={chosen!r}: the training splits "
                       f"are written as {CSV} or {CONTENT_TYPE}")
    return chosen


def writes_recordio(env: Mapping[str, str], split: str) -> bool:
    """Whether `split` is written as RecordIO-protobuf (the test split never is: the evaluation
    job reads CSV)."""
    return training_format(env) == CONTENT_TYPE and split in contract.TRAINING_SPLITS


# --- reading --------------------------------------------------------------------------------------
def records(data: bytes) -> list[bytes]:
    """The framed payloads of `data`, in order."""
    found, at = [], 0
    while at < len(data):
        if len(data) - at < 8:
            raise RecordIOError(f"{len(data) - at} stray bytes at offset {at}: not a RecordIO "
                                "frame")
        magic, word = struct.unpack_from("<II", data, at)
        if magic != MAGIC:
            raise RecordIOError(f"no RecordIO magic number at offset {at} (found {magic:#x}): "
                                "the file is not application/x-recordio-protobuf")
        if word >> 29:
            raise RecordIOError(f"record at offset {at} is split over several frames "
                                "(continuation flag set): write whole records")
        length = word & _LENGTH_MASK
        start = at + 8
        if start + length > len(data):
            raise RecordIOError(f"record at offset {at} is cut short")
        found.append(data[start:start + length])
        at = start + length + (-length % 4)
    return found


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data):
            raise RecordIOError("a protobuf varint runs past the record")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, bytes | int]]:
    """(field number, wire type, payload) of each field of one protobuf message."""
    out, at = [], 0
    while at < len(data):
        tag, at = _read_varint(data, at)
        number, kind = tag >> 3, tag & 7
        if kind == _VARINT:
            value, at = _read_varint(data, at)
            out.append((number, kind, value))
        elif kind == _LENGTH_DELIMITED:
            size, at = _read_varint(data, at)
            out.append((number, kind, data[at:at + size]))
            at += size
        elif kind in (_FIXED32, _FIXED64):
            size = 4 if kind == _FIXED32 else 8
            out.append((number, kind, data[at:at + size]))
            at += size
        else:
            raise RecordIOError(f"protobuf wire type {kind} is not one a Record uses")
    return out


def _packed_varints(payload: bytes) -> list[int]:
    values, at = [], 0
    while at < len(payload):
        value, at = _read_varint(payload, at)
        values.append(value)
    return values


def _tensor(payload: bytes) -> np.ndarray:
    """A Float32Tensor as a dense vector (a sparse one expanded by its shape)."""
    values: list[np.ndarray] = []
    keys: list[int] = []
    shape: list[int] = []
    for number, kind, part in _fields(payload):
        if number == 1:  # packed, or one float per field when written unpacked
            values.append(np.frombuffer(part, dtype="<f4"))
        elif number == 2:
            keys += _packed_varints(part) if kind == _LENGTH_DELIMITED else [part]
        elif number == 3:
            shape += _packed_varints(part) if kind == _LENGTH_DELIMITED else [part]
    dense = np.concatenate(values) if values else np.empty(0, dtype="<f4")
    if not keys:
        return dense.astype(np.float64)
    if not shape:
        raise RecordIOError("a sparse tensor (keys given) without its shape")
    out = np.zeros(int(np.prod(shape)), dtype=np.float64)
    out[np.asarray(keys, dtype=np.int64)] = dense
    return out


def _map_value(entry: bytes) -> tuple[bytes, np.ndarray | None]:
    key, tensor = b"", None
    for number, _, part in _fields(entry):
        if number == 1:
            key = part
        elif number == 2:
            for value_number, _, value in _fields(part):
                if value_number == 2:  # float32_tensor
                    tensor = _tensor(value)
    return key, tensor


def decode_record(payload: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """(features, label or None) of one Record; both under the key "values"."""
    features = label = None
    for number, _, part in _fields(payload):
        if number in (1, 2):
            key, tensor = _map_value(part)
            if key != _KEY or tensor is None:
                continue
            if number == 1:
                features = tensor
            else:
                label = tensor
    if features is None:
        raise RecordIOError("a Record without float32 features under \"values\"")
    return features, label


def decode(data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """(n x d features, n labels or None) of a RecordIO-protobuf file's records."""
    rows = [decode_record(payload) for payload in records(data)]
    if not rows:
        return np.empty((0, 0)), None
    widths = {len(features) for features, _ in rows}
    if len(widths) > 1:
        raise RecordIOError(f"records of different widths {sorted(widths)}")
    labelled = [label is not None for _, label in rows]
    if any(labelled) and not all(labelled):
        raise RecordIOError("some records have a label and some not")
    features = np.vstack([f for f, _ in rows])
    labels = np.concatenate([label for _, label in rows]) if all(labelled) else None
    return features, labels


def read(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        return decode(path.read_bytes())
    except RecordIOError as exc:
        raise RecordIOError(f"{path.name}: {exc}") from None
