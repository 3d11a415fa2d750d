"""A backtest's first run on a data location: the validator profiles the data's time itself.

The backtest state machine reads the time profile the window split left for this location
(data_profile.py); when there is none (the first run) it asks the validator with this module's
CHECK, then checks the windows against what comes back, as against a stored profile
(backtest.check_data). What the validator can know cheaply, in the raw bucket it may read:

- CSV within the read budget (data_reads.py: contract.FIRST_RUN_PROFILE_MAX_BYTES in all,
  FIRST_RUN_PROFILE_SECONDS): every row streamed through the csv module, its period by the time
  key as the window split reads it (row_periods.py: an ISO date or timestamp, its UTC day; or
  whole-number year/month/day cells), rows without a target left out: the profile the split job
  would write, with the rows per period, so windows that do not fit the data, or hold no rows,
  are refused before any job.
- Parquet: each file's footer (parquet_footer.py). The time column's statistics (a DATE or
  TIMESTAMP column, or whole-number year/month/day columns) bound the data's periods: every
  row lies within them, so windows that do not fit between them cannot fit the data. No rows
  per period (the split job checks that every window has rows).
- Larger CSV (or a read that ran out of time): its headers only: a missing time or target
  column is refused; the windows are the split job's to check.

A missing time or target column is refused here in the split job's words. Anything else (a
time this reader does not parse as the job would, a date stored as text in Parquet, whose
statistics order text rather than time, another bucket, a dataset spec from S3) answers no
profile, and the split job checks the data as before. Every answer's `extent` says which:
exact, or what was read and what the split job checks. Nothing is written.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from ..common.resampling import periods
from ..common.tabular.time_spec import TimeSpec
from . import data_reads, footer_facts
from .errors import InvalidPipelineDefaults, InvalidPipelineInput, Problem
from .parquet_footer import Footer
from .schema import AnyValue, Nullable, Obj

CHECK = "first-run-time-profile"  # the event's `check` (handler.py)
# What parquet statistics bound (the profile's `bounds`): the check says so in its refusal.
PARQUET_BOUNDS = "the Parquet files' column statistics"

_NAME = data_reads.NAME
EVENT = Obj({
    **data_reads.EVENT_FIELDS,
    "time": Nullable(AnyValue(object_only=True)),  # the input's backtest.time, validated
    # The use case's bundled dataset spec (pipeline_defaults.first_run_time_spec).
    # target null: a spec of the use case's own format, whose every row the split keeps.
    "spec": Obj({"name": _NAME, "target": Nullable(_NAME),
                 "time": Nullable(AnyValue(object_only=True))}),
})
# The ISO 8601 forms pandas' format="ISO8601" and datetime.fromisoformat read alike.
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?"
                  r"(Z|[+-]\d{2}:\d{2})?$")


def check(event: dict[str, Any], s3: Any = None) -> dict[str, Any]:
    """The handler's answer to CHECK: {"document": time profile or {}, "extent": how far the
    check went}; raises InvalidPipelineInput for a time or target column the data lacks."""
    problems: list[Problem] = []
    checked = EVENT.check(event, "", problems)
    if problems:
        raise InvalidPipelineDefaults(problems, "event")
    spec = checked["spec"]
    source = checked["time"] or spec["time"]
    left = "the windows against the data's periods"
    if source is None:
        return data_reads.no_profile(data_reads.bounded("nothing: the request names no time "
                                                        "key", left))
    time = TimeSpec.from_dict(source)  # the first state accepted it
    s3 = data_reads.client(s3)
    files, unread = data_reads.readable_files(s3, checked)
    if files is None:
        return data_reads.no_profile(data_reads.bounded(unread, left))
    needed = [*time.columns, *filter(None, [spec["target"]])]

    def periods_of(lines: dict[str, Iterator[str]]) -> Counter[int]:
        counts = csv_periods(lines, time, spec, needed)
        if counts is None:
            raise data_reads.NotEveryRow("a time this check does not read as the window split "
                                         "would, or an empty file")
        return counts

    counts, how = data_reads.every_row(s3, files, periods_of)
    if counts is not None:
        return {**_profile(files, time, counts), "extent": how}
    facts = data_reads.heads(s3, files.bucket, files)
    _refuse_missing(data_reads.missing_columns(facts, needed), time, spec)
    footers = [f for f in facts.values() if isinstance(f, Footer)]
    span = None if files.csv or len(footers) != len(facts) else parquet_span(footers, time)
    if span is None:
        return data_reads.no_profile(data_reads.bounded(data_reads.heads_read(files, how), left))
    document = _profile(files, time, None)
    document["document"]["time"].update(first=periods.label(time.unit, span[0]),
                                        last=periods.label(time.unit, span[1]))
    document["document"]["bounds"] = PARQUET_BOUNDS
    document["extent"] = data_reads.bounded(
        data_reads.heads_read(files, "their statistics bound the first and last period"),
        "that every window has rows")
    return document


def csv_periods(files: dict[str, str | Iterable[str]], time: TimeSpec, spec: dict[str, Any],
                needed: list[str]) -> Counter[int] | None:
    """Rows with a target (every row: the spec's target None) per period, as
    window_split.read_rows counts them, of these CSV files ({name: text, or its lines}); None
    when a row's time is not read here as the job would read it (the job then says which).
    A file without the `needed` columns is refused in the split job's words."""
    counts: Counter[int] = Counter()
    missing: list[str] = []
    target = spec["target"]
    for name, text in files.items():
        reader = csv.reader(io.StringIO(text) if isinstance(text, str) else text,
                            skipinitialspace=True)
        header = next(reader, None)
        if header is None:
            return None  # an empty file: the job names it
        missing += data_reads.missing_columns({name: header}, needed)
        if missing:
            continue  # the other files' headers still count
        at = [header.index(c) for c in (*time.columns, *filter(None, [target]))]
        for row in reader:
            if not row:
                continue  # pandas skips blank lines
            cells = [row[i] if i < len(row) else "" for i in at]
            period = _period(time, cells[:len(time.columns)])
            if period is None:
                return None
            if target is None or cells[-1] != "":  # read_table's only missing value
                counts[period] += 1
    _refuse_missing(missing, time, spec)
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
    target = f" and target {spec['target']!r}" if spec["target"] else ""
    if problems:
        raise InvalidPipelineInput([Problem(
            "data.raw_s3_uri", f"{'; '.join(problems)} (the dataset spec's time "
            f"{time.describe()}{target})")])
