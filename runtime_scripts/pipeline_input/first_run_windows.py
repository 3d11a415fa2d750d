"""A backtest's first run on a data location: the validator profiles the data's time itself.

The backtest state machine reads the time profile the window split left for this location
(data_profile.py); when there is none (the first run) it asks the validator with this module's
CHECK, then checks the windows against what comes back, as against a stored profile
(backtest.check_data). What the validator can know cheaply, in the raw bucket it may read:

- CSV of at most contract.FIRST_RUN_PROFILE_MAX_BYTES in all: read whole with the csv module,
  every row's period by the time key as the window split reads it (row_periods.py: an ISO date
  or timestamp, its UTC day; or whole-number year/month/day cells), rows without a target left
  out: the profile the split job would write, with the rows per period.
- Parquet: each file's footer (parquet_footer.py). The time column's statistics (a DATE or
  TIMESTAMP column, or whole-number year/month/day columns) bound the data's periods: every
  row lies within them, so windows that do not fit between them cannot fit the data. No rows
  per period (the split job checks that every window has rows).
- Larger CSV: its headers only: a missing time or target column is refused; the windows are
  the split job's to check.

A missing time or target column is refused here in the split job's words. Anything else (a
time this reader does not parse as the job would, a date stored as text in Parquet, whose
statistics order text rather than time, another bucket, a dataset spec from S3) answers no
profile, and the split job checks the data as before. Nothing is written.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import re
from collections import Counter
from typing import Any

from ..common.resampling import periods
from ..common.tabular.time_spec import TimeSpec
from . import data_reads, footer_facts
from .errors import InvalidPipelineDefaults, InvalidPipelineInput, Problem
from .parquet_footer import Footer
from .schema import AnyValue, Nullable, Obj, S3Uri, Str
from .values import split_s3_uri

CHECK = "first-run-time-profile"  # the event's `check` (handler.py)
NO_PROFILE: dict[str, Any] = {"document": {}}  # backtest.check_data finds no profile
# What parquet statistics bound (the profile's `bounds`): the check says so in its refusal.
PARQUET_BOUNDS = "the Parquet files' column statistics"

_NAME = Str(max_len=255)
EVENT = Obj({
    "check": Str(max_len=64),
    "data_s3_uri": S3Uri(),
    "dataset_spec_s3_uri": Nullable(S3Uri()),
    "time": Nullable(AnyValue(object_only=True)),  # the input's backtest.time, validated
    # The use case's bundled dataset spec (pipeline_defaults.first_run_time_spec).
    "spec": Obj({"name": _NAME, "target": _NAME, "time": Nullable(AnyValue(object_only=True))}),
    "readable_bucket": Str(max_len=63),
})
# The ISO 8601 forms pandas' format="ISO8601" and datetime.fromisoformat read alike.
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?"
                  r"(Z|[+-]\d{2}:\d{2})?$")


def check(event: dict[str, Any], s3: Any = None) -> dict[str, Any]:
    problems: list[Problem] = []
    checked = EVENT.check(event, "", problems)
    if problems:
        raise InvalidPipelineDefaults(problems, "event")
    bucket, prefix = split_s3_uri(checked["data_s3_uri"]) or ("", "")
    spec = checked["spec"]
    source = checked["time"] or spec["time"]
    if checked["dataset_spec_s3_uri"] is not None or bucket != checked["readable_bucket"] \
            or source is None:
        return NO_PROFILE
    time = TimeSpec.from_dict(source)  # the first state accepted it
    s3 = data_reads.client(s3)
    files = data_reads.data_files(s3, bucket, prefix)
    if files is None:
        return NO_PROFILE
    needed = [*time.columns, spec["target"]]
    if files.small_csv:
        texts = data_reads.read_all(s3, bucket, list(files.csv))
        headers = {key: _header(text) for key, text in (texts or {}).items()}
        _refuse_missing(data_reads.missing_columns(headers, needed), time, spec)
        counts = csv_periods(texts, time, spec["target"]) if texts else None
        return _profile(files, time, counts) if counts else NO_PROFILE
    facts = data_reads.heads(s3, bucket, files)
    _refuse_missing(data_reads.missing_columns(facts, needed), time, spec)
    footers = [f for f in facts.values() if isinstance(f, Footer)]
    if files.csv or len(footers) != len(facts):
        return NO_PROFILE  # large CSV: its periods are the split job's to read
    span = parquet_span(footers, time)
    if span is None:
        return NO_PROFILE
    document = _profile(files, time, None)
    document["document"]["time"].update(first=periods.label(time.unit, span[0]),
                                        last=periods.label(time.unit, span[1]))
    document["document"]["bounds"] = PARQUET_BOUNDS
    return document


def csv_periods(texts: dict[str, str], time: TimeSpec, target: str) -> Counter[int] | None:
    """Rows with a target per period, as window_split.read_rows counts them; None when a row's
    time is not read here as the job would read it (the job then says which)."""
    counts: Counter[int] = Counter()
    for text in texts.values():
        reader = csv.reader(io.StringIO(text), skipinitialspace=True)
        header = next(reader, None)
        if header is None:
            return None  # an empty file: the job names it
        at = [header.index(c) for c in (*time.columns, target)]
        for row in reader:
            if not row:
                continue  # pandas skips blank lines
            cells = [row[i] if i < len(row) else "" for i in at]
            period = _period(time, cells[:-1])
            if period is None:
                return None
            if cells[-1] != "":  # read_table's only missing value
                counts[period] += 1
    return counts or None


def parquet_span(footers: list[Footer], time: TimeSpec) -> tuple[int, int] | None:
    """The first and last period every row of these files lies within, by their statistics."""
    if time.column:
        kinds = {f.kinds.get(time.column) for f in footers}
        if not kinds <= {"date", "timestamp-millis", "timestamp-micros", "timestamp-nanos"}:
            return None  # text dates: statistics order the text, not the time
        bounds = footer_facts.value_range(footers, time.column)
        if bounds is None:
            return None
        return (periods.ordinal(time.unit, *_ymd(bounds[0])),
                periods.ordinal(time.unit, *_ymd(bounds[1])))
    ranges = []
    for column in (time.year, time.month, time.day):
        if column is None:
            ranges.append((1, 1))
            continue
        if {f.kinds.get(column) for f in footers} != {"number"}:
            return None
        bounds = footer_facts.value_range(footers, column)
        if bounds is None or not all(float(b).is_integer() for b in bounds):
            return None
        ranges.append((int(bounds[0]), int(bounds[1])))
    (y0, y1), (m0, m1), (d0, d1) = ranges
    if not (periods.MIN_YEAR <= y0 <= y1 <= periods.MAX_YEAR and 1 <= m0 <= m1 <= 12
            and 1 <= d0 <= d1 <= 31):
        return None  # the job refuses such rows as unreadable
    # Every row's (year, month, day) lies between these, taken apart: a bound, not the span.
    first = (y0, m0, min(d0, calendar.monthrange(y0, m0)[1]))
    last = (y1, m1, min(d1, calendar.monthrange(y1, m1)[1]))
    return periods.ordinal(time.unit, *first), periods.ordinal(time.unit, *last)


def _period(time: TimeSpec, cells: list[str]) -> int | None:
    try:
        if time.column:
            text = cells[0]
            if not _ISO.match(text):
                return None
            stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if stamp.tzinfo is not None:  # pandas' utc=True: the instant's day in UTC
                stamp = stamp.astimezone(dt.UTC)
            return periods.ordinal(time.unit, stamp.year, stamp.month, stamp.day)
        parts = [_whole(cell) for cell in cells]
        if None in parts:
            return None
        ymd = (*parts, 1, 1)[:3]  # a month or day the spec does not name: the period's first
        return periods.ordinal(time.unit, *ymd)
    except (ValueError, periods.PeriodError):
        return None


def _whole(cell: str) -> int | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def _ymd(day: dt.date) -> tuple[int, int, int]:
    return day.year, day.month, day.day


def _header(text: str) -> list[str] | None:
    return next(csv.reader(io.StringIO(text), skipinitialspace=True), None)


def _profile(files: data_reads.DataFiles, time: TimeSpec,
             counts: Counter[int] | None) -> dict[str, Any]:
    """window_split.data_profile's form: the files, the periods and their rows."""
    unit = time.unit
    body: dict[str, Any] = {"spec": time.to_dict(), "unit": unit, "rows_per_period": None}
    if counts:
        body.update(first=periods.label(unit, min(counts)), last=periods.label(unit, max(counts)),
                    rows_per_period={periods.label(unit, p): n for p, n in sorted(counts.items())})
    return {"document": {"files": files.listed,
                         "rows": sum(counts.values()) if counts else None, "time": body}}


def _refuse_missing(problems: list[str], time: TimeSpec, spec: dict[str, Any]) -> None:
    if problems:
        raise InvalidPipelineInput([Problem(
            "data.raw_s3_uri", f"{'; '.join(problems)} (the dataset spec's time "
            f"{time.describe()} and target {spec['target']!r})")])
