"""The one cell policy: how a raw cell becomes a feature value, at training and at serving alike.

Preprocessing (pandas frames read as text, or Parquet's typed values), evaluation and the
inference server (CSV tokens, JSON values) all read cells through these functions, so the same
cell is treated the same everywhere:

- empty, only whitespace, JSON null, Parquet's missing values: missing, in every column.
- surrounding whitespace (`" 12 "`, `" KS"`): not part of the value, in every column.
- `NaN` in any case (how numpy, pandas and Spark write a missing float): missing in a numeric
  column; in a categorical column it is the text itself.
- `inf`, `-Infinity`, numbers beyond float64 (`1e400`): rejected in a numeric column (not a
  finite number).
- `1_000`, non-ASCII digits (`١٢`), any other text that is not a plain decimal number: rejected
  in a numeric column.
- a NUL byte: rejected in every column.
- a JSON or Parquet number in a categorical column: its text, `415` and `415.0` both `"415"`.

A rejected cell stops preprocessing with every offending column named (count and example), and
is a 400 at serving naming the row and the column. Echoed values are shortened (`shown`), so a
1 MB token never comes back in a message.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

ECHO_LIMIT = 40  # characters of a client's value quoted back in a message

NOT_A_NUMBER = "must be a number"
NOT_FINITE = "must be a finite number (inf and values beyond +-1.8e308 are not accepted)"
HAS_NUL = "must not contain NUL bytes"


class CellError(ValueError):
    """A cell the policy rejects; `reason` says why (one of the constants above)."""

    def __init__(self, reason: str, value: object) -> None:
        super().__init__(f"{reason}, got {shown(value)}")
        self.reason = reason
        self.value = value


def shown(value: object, limit: int = ECHO_LIMIT) -> str:
    """`repr(value)`, cut to `limit` characters with the full length said."""
    if isinstance(value, (str, bytes)) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= limit + 2 else f"{text[:limit]}... ({len(text)} characters)"


def is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.strip()
    return type(value).__name__ in ("NAType", "NaTType")  # pandas' missing markers


def numeric_value(value: object) -> float:
    """One numeric cell as a float; NaN means missing. Raises CellError."""
    if is_missing(value):
        return math.nan
    if isinstance(value, bool):
        raise CellError(NOT_A_NUMBER, value)
    if isinstance(value, str):
        text = value.strip()
        if "\x00" in text:
            raise CellError(HAS_NUL, value)
        if "_" in text or not text.isascii():
            raise CellError(NOT_A_NUMBER, value)
        try:
            number = float(text)
        except ValueError:
            raise CellError(NOT_A_NUMBER, value) from None
    else:
        try:
            number = float(value)  # type: ignore[arg-type]  # ints, floats, numpy scalars
        except (TypeError, ValueError):
            raise CellError(NOT_A_NUMBER, value) from None
    if math.isinf(number):
        raise CellError(NOT_FINITE, value)
    return number


def numeric_rejection(value: object) -> CellError:
    """Why `numeric_value` rejects `value` (which it must)."""
    try:
        numeric_value(value)
    except CellError as exc:
        return exc
    raise AssertionError(f"{value!r} is a valid numeric cell")


def parse_numeric(tokens: Sequence[object]) -> tuple[np.ndarray, int | None]:
    """Many numeric cells: (float64 array, NaN for missing; index of the first rejected cell).

    The common case (every token a plain decimal string or a number) is one C-level `map(float)`
    plus two checks over the joined text; only a batch with something unusual takes the
    per-cell path.
    """
    try:
        values = list(map(float, tokens))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _parse_each(tokens)
    kinds = set(map(type, tokens))
    if kinds == {str}:  # CSV tokens: float() also reads "1_000" and non-ASCII digits
        joined = "".join(tokens)  # type: ignore[arg-type]
        if "_" in joined or not joined.isascii():
            return _parse_each(tokens)
    elif not kinds <= {int, float}:  # JSON values: bools and strings go cell by cell
        return _parse_each(tokens)
    numbers = np.array(values, dtype=np.float64)
    if np.isinf(numbers).any():
        return _parse_each(tokens)
    return numbers, None


def _parse_each(tokens: Sequence[object]) -> tuple[np.ndarray, int | None]:
    values = []
    for k, token in enumerate(tokens):
        try:
            values.append(numeric_value(token))
        except CellError:
            return np.array(values, dtype=np.float64), k
    return np.array(values, dtype=np.float64), None


def categorical_value(value: object) -> str | None:
    """One categorical cell as its level text; None means missing. Raises CellError (NUL)."""
    if is_missing(value):
        return None
    if isinstance(value, str):
        if "\x00" in value:
            raise CellError(HAS_NUL, value)
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 415.0 from Parquet or JSON is the level "415"
    return str(value)
