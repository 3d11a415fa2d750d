"""The dataset spec's `time` key: when each row happened, for time-ordered resampling (backtests).

Either one date or timestamp column, or the year, month and day as columns of their own:

    "time": {"column": "ordered_at", "unit": "week"}
    "time": {"year": "Year_Sold", "month": "Mo_Sold"}

`unit` is the period windows are counted in (runtime_scripts/common/resampling/periods.py): any
unit for a date column (default "day"); for year/month/day columns the finest they name by
default, and none finer than that ("week" and "day" need a day column). Standard library only:
the input validator reads a time key too (the rows' periods are read in the window split).
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime_scripts.common.resampling import periods

KEYS = ("column", "year", "month", "day", "unit")
# The coarsest unit each set of parts can give, finest first.
_PARTS_UNITS = {"day": periods.UNITS, "month": ("month", "quarter", "year"), "year": ("year",)}


class TimeSpecError(ValueError):
    """A malformed `time` key; the message names what to write instead."""


@dataclass(frozen=True)
class TimeSpec:
    unit: str
    column: str | None = None
    year: str | None = None
    month: str | None = None
    day: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.column, self.year, self.month, self.day) if c)

    def describe(self) -> str:
        if self.column:
            return f"column {self.column!r}"
        return "columns " + ", ".join(repr(c) for c in self.columns)

    @classmethod
    def from_dict(cls, data: object) -> TimeSpec:
        if not isinstance(data, dict):
            raise TimeSpecError("'time' must be an object such as {\"column\": \"date\"} or "
                                "{\"year\": \"year\", \"month\": \"month\"}")
        unknown = sorted(set(data) - set(KEYS))
        if unknown:
            raise TimeSpecError(f"'time' has unknown keys {unknown}; allowed: {list(KEYS)}")
        names = {k: data.get(k) for k in KEYS if k != "unit"}
        for key, value in names.items():
            if value is not None and (not isinstance(value, str) or not value):
                raise TimeSpecError(f"'time.{key}' must name a column, got {value!r}")
        if names["column"] and any(names[k] for k in ("year", "month", "day")):
            raise TimeSpecError("'time' names either one date 'column' or 'year' (with "
                                "'month', 'day') columns, not both")
        if names["column"]:
            allowed: tuple[str, ...] = periods.UNITS
            default = "day"
        elif names["year"]:
            if names["day"] and not names["month"]:
                raise TimeSpecError("'time.day' needs 'time.month' too")
            finest = "day" if names["day"] else "month" if names["month"] else "year"
            allowed, default = _PARTS_UNITS[finest], finest
        else:
            raise TimeSpecError("'time' must name a date 'column' or a 'year' column")
        unit = data.get("unit", default)
        if unit not in allowed:
            raise TimeSpecError(f"'time.unit' {unit!r} is not allowed for "
                                f"{'a date column' if names['column'] else 'these columns'}"
                                f"; allowed: {', '.join(allowed)}")
        return cls(unit=unit, **names)

    def to_dict(self) -> dict[str, str]:
        return {k: v for k in KEYS if (v := getattr(self, k))}
