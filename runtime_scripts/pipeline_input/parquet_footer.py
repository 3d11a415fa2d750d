"""What a Parquet file's footer says about its columns, read without pyarrow.

The input validator's Lambda runtime has the standard library and boto3, not pyarrow. A Parquet
file ends with its metadata: the FileMetaData structure in Thrift's compact protocol, its length
(4 bytes, little-endian) and the magic "PAR1" (the Apache Parquet format specification). That
metadata holds the schema (every column's name and type), each row group's row count and, per
column chunk, optional statistics: null count and the smallest and largest value (`min_value`,
`max_value`, in the column's own sort order). This module decodes that much: enough to know the
columns, the rows, a time column's range and the values a class column's statistics name.
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass, field
from typing import Any

MAGIC = b"PAR1"
TAIL = 8  # footer length + magic


class FooterError(ValueError):
    """Not a Parquet footer this reader understands: the caller knows nothing of the file."""


# --- Thrift compact protocol ------------------------------------------------------------------
_STOP, _TRUE, _FALSE, _I8, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = \
    range(13)
_MAX_DEPTH = 16  # FileMetaData nests 5 levels deep; a hostile footer gets no further


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise FooterError("footer ends early")
        self.at += 1
        return self.data[self.at - 1]

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise FooterError("varint too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise FooterError("footer ends early")
        self.at += n
        return self.data[self.at - n:self.at]

    def value(self, kind: int, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise FooterError("nested too deep")
        if kind in (_TRUE, _FALSE):  # a list element: one byte, 1 true
            return self.byte() == _TRUE
        if kind == _I8:
            return struct.unpack("b", self.take(1))[0]
        if kind in (_I16, _I32, _I64):
            return self.zigzag()
        if kind == _DOUBLE:
            return struct.unpack("<d", self.take(8))[0]
        if kind == _BINARY:
            return self.take(self.varint())
        if kind in (_LIST, _SET):
            header = self.byte()
            size, element = header >> 4, header & 0x0F
            if size == 15:
                size = self.varint()
            return [self.value(element, depth + 1) for _ in range(size)]
        if kind == _MAP:
            size = self.varint()
            kinds = self.byte() if size else 0
            return {self.value(kinds >> 4, depth + 1): self.value(kinds & 0x0F, depth + 1)
                    for _ in range(size)}
        if kind == _STRUCT:
            return self.struct(depth + 1)
        raise FooterError(f"unknown Thrift type {kind}")

    def struct(self, depth: int = 0) -> dict[int, Any]:
        fields: dict[int, Any] = {}
        last = 0
        while True:
            header = self.byte()
            kind = header & 0x0F
            if kind == _STOP:
                return fields
            delta = header >> 4
            last = last + delta if delta else self.zigzag()
            fields[last] = kind == _TRUE if kind in (_TRUE, _FALSE) else self.value(kind, depth)


# --- FileMetaData, as far as the validator needs it ----------------------------------------------
# Physical types (parquet.thrift `Type`) and how a statistics value of each is stored.
_PLAIN = {1: "<i", 2: "<q", 4: "<f", 5: "<d"}  # INT32, INT64, FLOAT, DOUBLE
BOOLEAN, INT32, INT64, BYTE_ARRAY = 0, 1, 2, 6
# ConvertedType: UTF8 0, DATE 6, TIMESTAMP_MILLIS 9, TIMESTAMP_MICROS 10.
_UTF8, _DATE, _TS_MILLIS, _TS_MICROS = 0, 6, 9, 10
_SIGNED_INTS = range(15, 19)  # INT_8 .. INT_64
_EPOCH = dt.date(1970, 1, 1)
_UNITS_PER_DAY = {"millis": 86_400_000, "micros": 86_400_000_000, "nanos": 86_400_000_000_000}


@dataclass(frozen=True)
class ColumnStats:
    """One column chunk's statistics (None where the writer left them out)."""

    null_count: int | None
    min_value: Any
    max_value: Any


@dataclass
class Footer:
    rows: int
    columns: list[str]  # the top-level columns, in order
    kinds: dict[str, str]  # column -> "date", "timestamp-<unit>", "text", "number", "boolean"
    # One entry per row group: its rows, and each top-level primitive column's statistics.
    row_groups: list[tuple[int, dict[str, ColumnStats]]] = field(default_factory=list)


def footer_length(tail: bytes) -> int:
    """The metadata's length from a file's last 8 bytes."""
    if len(tail) < TAIL or tail[-4:] != MAGIC:
        raise FooterError("not a Parquet file (no PAR1 at its end)")
    return struct.unpack("<I", tail[-8:-4])[0]


def parse(metadata: bytes) -> Footer:
    """The FileMetaData bytes (without the length and magic that follow them)."""
    meta = _Reader(metadata).struct()
    schema = meta.get(2)
    if not isinstance(schema, list) or not schema or not all(isinstance(s, dict) for s in schema):
        raise FooterError("no schema")
    columns, kinds = _top_level(schema)
    groups = []
    for group in meta.get(4) or []:
        stats = {}
        for chunk in group.get(1) or []:
            column = chunk.get(3) or {}
            path = [p.decode("utf-8", "replace") for p in column.get(3) or []]
            if len(path) == 1 and path[0] in kinds:
                stats[path[0]] = _stats(column.get(12), column.get(1), kinds[path[0]])
        groups.append((int(group.get(3, 0)), stats))
    return Footer(rows=int(meta.get(3, 0)), columns=columns, kinds=kinds, row_groups=groups)


def _top_level(schema: list[dict[int, Any]]) -> tuple[list[str], dict[str, str]]:
    """The root's children (a nested column counts once, by its name) and the kind of each
    primitive one."""
    columns: list[str] = []
    kinds: dict[str, str] = {}
    at, remaining = 1, int(schema[0].get(5, 0))
    while remaining and at < len(schema):
        element = schema[at]
        name = element.get(4, b"").decode("utf-8", "replace")
        columns.append(name)
        children = int(element.get(5, 0))
        if children == 0:
            kinds[name] = _kind(element)
        at = _skip(schema, at)
        remaining -= 1
    return columns, kinds


def _skip(schema: list[dict[int, Any]], at: int) -> int:
    """The index after element `at` and all its descendants."""
    pending = 1
    while pending and at < len(schema):
        pending += int(schema[at].get(5, 0)) - 1
        at += 1
    return at


def _kind(element: dict[int, Any]) -> str:
    physical, converted, logical = element.get(1), element.get(6), element.get(10) or {}
    if 6 in logical or converted == _DATE:
        return "date" if physical == INT32 else "other"
    if 8 in logical:  # TimestampType: unit is a union MILLIS 1, MICROS 2, NANOS 3
        unit = {1: "millis", 2: "micros", 3: "nanos"}.get(min(logical[8].get(2) or {0: None}))
        return f"timestamp-{unit}" if physical == INT64 and unit else "other"
    if converted in (_TS_MILLIS, _TS_MICROS):
        return f"timestamp-{'millis' if converted == _TS_MILLIS else 'micros'}"
    if physical == BYTE_ARRAY and (1 in logical or converted == _UTF8):
        return "text"
    signed = logical.get(10, {}).get(2, True) is not False  # IntType's isSigned
    if physical in _PLAIN and not logical.keys() - {10} and signed \
            and converted in (None, *_SIGNED_INTS):
        return "number"  # plain or a signed INTEGER; not DECIMAL, TIME or unsigned (its order)
    if physical == BOOLEAN:
        return "boolean"
    return "other"


def _stats(raw: Any, physical: Any, kind: str) -> ColumnStats | None:
    if not isinstance(raw, dict):
        return None
    null_count = raw.get(3)
    low, high = raw.get(6), raw.get(5)  # min_value, max_value (the column order's)
    # An inexact bound (a truncated text, field 7/8 false) is no value of the column.
    if raw.get(8) is False:
        low = None
    if raw.get(7) is False:
        high = None
    return ColumnStats(null_count if isinstance(null_count, int) else None,
                       _decode(low, physical, kind), _decode(high, physical, kind))


def _decode(value: Any, physical: Any, kind: str) -> Any:
    if not isinstance(value, bytes):
        return None
    try:
        if kind == "text":
            return value.decode("utf-8")
        if kind == "boolean":
            return bool(value[0]) if value else None
        if physical not in _PLAIN:
            return None
        number = struct.unpack(_PLAIN[physical], value)[0]
    except (UnicodeDecodeError, struct.error):
        return None
    if kind == "date":
        return _EPOCH + dt.timedelta(days=number)
    if kind.startswith("timestamp-"):  # the day of the instant, in UTC (as the jobs read it)
        return _EPOCH + dt.timedelta(days=number // _UNITS_PER_DAY[kind.split("-")[1]])
    return number if kind == "number" else None
