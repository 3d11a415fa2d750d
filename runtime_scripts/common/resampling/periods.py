"""Time periods as whole numbers: the unit in which backtest windows are counted.

A period is one day, ISO week, month, quarter or year, numbered so that consecutive periods
differ by one (a month is year * 12 + month - 1). Windows are then plain integer ranges, and a
cutoff given as text ("2008-01", "2008Q3", "2008-01-14") reads as the period holding it.

Standard library only: the input validator (a bare Lambda runtime) plans windows with the same
arithmetic as the split job.
"""

from __future__ import annotations

import datetime as dt
import re

UNITS = ("day", "week", "month", "quarter", "year")
# What a period of each unit is written as, in messages and in the `first_cutoff` input.
UNIT_FORMATS = {
    "day": "YYYY-MM-DD",
    "week": "YYYY-MM-DD (any day of the ISO week, Monday to Sunday)",
    "month": "YYYY-MM",
    "quarter": "YYYYQn (n 1 to 4)",
    "year": "YYYY",
}
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
MIN_YEAR, MAX_YEAR = 1, 9999  # what datetime.date can hold


class PeriodError(ValueError):
    """A date or period that cannot be read; the message says what it should look like."""


def check_unit(unit: str) -> str:
    if unit not in UNITS:
        raise PeriodError(f"unknown time unit {unit!r}; allowed: {', '.join(UNITS)}")
    return unit


def ordinal(unit: str, year: int, month: int = 1, day: int = 1) -> int:
    """The number of the `unit` period holding the date year-month-day."""
    try:
        date = dt.date(year, month, day)
    except (ValueError, TypeError) as exc:
        raise PeriodError(f"{year}-{month}-{day} is not a date: {exc}") from None
    if unit == "day":
        return date.toordinal()
    if unit == "week":  # numbered by the Monday that starts the ISO week
        return (date.toordinal() - date.weekday()) // 7
    if unit == "month":
        return year * 12 + month - 1
    if unit == "quarter":
        return year * 4 + (month - 1) // 3
    return year


def label(unit: str, number: int) -> str:
    """The period `number` as text, in the form `parse` reads back."""
    if unit == "day":
        return dt.date.fromordinal(number).isoformat()
    if unit == "week":
        return dt.date.fromordinal(number * 7 + 1).isoformat()  # its Monday (ordinal 1 is one)
    if unit == "month":
        return f"{number // 12:04d}-{number % 12 + 1:02d}"
    if unit == "quarter":
        return f"{number // 4:04d}Q{number % 4 + 1}"
    return f"{number:04d}"


def parse(unit: str, text: str) -> int:
    """The `unit` period a text names: its own form (`UNIT_FORMATS`), or a date in it."""
    check_unit(unit)
    text = text.strip()
    forms = {"day": (_DATE,), "week": (_DATE,), "month": (_MONTH, _DATE),
             "quarter": (_QUARTER, _DATE), "year": (_YEAR, _DATE)}[unit]
    for form in forms:
        match = form.match(text)
        if not match:
            continue
        parts = [int(g) for g in match.groups()]
        if form is _QUARTER:
            return ordinal(unit, parts[0], (parts[1] - 1) * 3 + 1)
        return ordinal(unit, *parts)
    raise PeriodError(f"{text!r} is not a {unit}: write it as {UNIT_FORMATS[unit]}")
