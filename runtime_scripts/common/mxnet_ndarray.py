"""MXNet's NDArray file format, read and written without MXNet: the format SageMaker's Linear
Learner, K-Means and PCA save their models in (`model_algo-1` in model.tar.gz; AWS's examples
read it with `mx.ndarray.load`). Only what those models hold: dense arrays of float32/float64.

The layout is MXNet's `NDArray::Save` (src/ndarray/ndarray.cc, MXNet 1.x), little-endian:
  uint64 0x112 (list magic), uint64 0 (reserved), uint64 n, then n arrays, each:
    uint32 0xF993fac9 (V2 magic; 0xF993faca, V3, has the same layout), int32 storage type (0:
    dense), uint32 ndim, int64 dims[ndim], int32 dev_type, int32 dev_id, int32 type flag
    (0: float32, 1: float64), the values in C order;
  then uint64 m (0, or n: the names), each uint64 length + the name's bytes.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

LIST_MAGIC = 0x112
ARRAY_MAGICS = (0xF993FAC9, 0xF993FACA)  # V2 (storage type), V3 (NumPy shape semantics)
DENSE = 0
CPU = 1
DTYPES = {0: np.dtype("<f4"), 1: np.dtype("<f8")}


class NDArrayFormatError(ValueError):
    """A file that is not a dense MXNet NDArray list."""


def save(path: Path, arrays: list[np.ndarray] | dict[str, np.ndarray]) -> None:
    """Write `arrays` (a list, or named as MXNet's dict form) as float32."""
    path.write_bytes(dumps(arrays))


def dumps(arrays: list[np.ndarray] | dict[str, np.ndarray]) -> bytes:
    """The file's bytes for `arrays` (see `save`)."""
    names = list(arrays) if isinstance(arrays, dict) else []
    values = list(arrays.values()) if isinstance(arrays, dict) else list(arrays)
    out = [struct.pack("<QQQ", LIST_MAGIC, 0, len(values))]
    for value in values:
        data = np.ascontiguousarray(value, dtype=DTYPES[0])
        out.append(struct.pack("<Iii", ARRAY_MAGICS[0], DENSE, data.ndim))
        out.append(struct.pack(f"<{data.ndim}q", *data.shape))
        out.append(struct.pack("<iii", CPU, 0, 0))
        out.append(data.tobytes())
    out.append(struct.pack("<Q", len(names)))
    for name in names:
        encoded = name.encode()
        out.append(struct.pack("<Q", len(encoded)) + encoded)
    return b"".join(out)


class _Reader:
    def __init__(self, data: bytes, source: Path | str) -> None:
        self.data, self.at, self.source = data, 0, source

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.at + size > len(self.data):
            raise NDArrayFormatError(f"{self.source} ends early: not a complete MXNet NDArray "
                                     "file")
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += size
        return values

    def raw(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise NDArrayFormatError(f"{self.source} ends early inside an array")
        chunk = self.data[self.at:self.at + size]
        self.at += size
        return chunk


def load(path: Path) -> list[np.ndarray] | dict[str, np.ndarray]:
    """The arrays of an MXNet NDArray file: a dict when the file names them, else a list."""
    return loads(path.read_bytes(), path)


def loads(data: bytes, path: Path | str) -> list[np.ndarray] | dict[str, np.ndarray]:
    """The arrays of an NDArray file's bytes (`path` names it in errors), as `load`."""
    reader = _Reader(data, path)
    magic, _reserved, count = reader.take("<QQQ")
    if magic != LIST_MAGIC:
        raise NDArrayFormatError(f"{path} is not an MXNet NDArray file (magic {magic:#x}, "
                                 f"expected {LIST_MAGIC:#x})")
    arrays = [_array(reader) for _ in range(count)]
    (named,) = reader.take("<Q")
    if named not in (0, count):
        raise NDArrayFormatError(f"{path} names {named} of its {count} arrays")
    names = [reader.raw(reader.take("<Q")[0]).decode() for _ in range(named)]
    return dict(zip(names, arrays, strict=True)) if names else arrays


def _array(reader: _Reader) -> np.ndarray:
    magic, storage, ndim = reader.take("<Iii")
    if magic not in ARRAY_MAGICS:
        raise NDArrayFormatError(f"{reader.source}: array magic {magic:#x} is not MXNet 1.x's "
                                 "(a file of MXNet 0.x is not read)")
    if storage != DENSE:
        raise NDArrayFormatError(f"{reader.source}: a sparse array (storage type {storage}) is "
                                 "not read; the built-in models hold dense ones")
    shape = reader.take(f"<{ndim}q")
    reader.take("<ii")  # the device it was saved from
    (flag,) = reader.take("<i")
    if flag not in DTYPES:
        raise NDArrayFormatError(f"{reader.source}: type flag {flag} is not float32/float64")
    dtype = DTYPES[flag]
    count = int(np.prod(shape)) if shape else 1
    return np.frombuffer(reader.raw(count * dtype.itemsize), dtype=dtype).reshape(shape).copy()
