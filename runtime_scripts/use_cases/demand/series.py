"""Long-format sales rows -> one regular series per id, as the dataset spec describes them.

The result, a *panel*, is one row per series and period: `series` (the id columns joined by
SERIES_SEPARATOR), `timestamp` (the period's label), `y` (the target, NaN where unknown), the
covariates and the static attributes. Every series runs from its own first period to the data's
last one (ragged starts stay ragged; all series share the forecast origin).

Bad input is an error that names the rows (1-based data rows, the header not counted) and the
fix, or a documented treatment, never a traceback:
  * missing columns, unreadable timestamps or targets: error;
  * negative targets: error, or `negative_target: clip` counts them as 0;
  * with `aggregation: none`, duplicate (series, period) rows and timestamps off the frequency's
    grid: error (`aggregation: sum` bins them instead);
  * data coarser than the frequency (most periods without any row): error naming the data's
    spacing;
  * periods without rows: 0 sales (`missing_periods: zero`) or unknown (`missing`); unknown
    targets are skipped by training and the metrics, filled for the local baselines;
  * a static attribute that varies within a series: error;
  * series shorter than one season: dropped and listed (`short_series: drop`) or an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from runtime_scripts.use_cases.demand.spec import ForecastSpec

SERIES_SEPARATOR = "|"
SHOWN_ROWS = 5
# Under this share of the grid's periods holding any row, the data is coarser than its spec.
MIN_GRID_SHARE = 0.5


class SeriesDataError(ValueError):
    """The data does not fit its spec; the message names the rows and the fix."""


@dataclass
class Panel:
    frame: pd.DataFrame  # series, timestamp, y, covariates..., static...
    spec: ForecastSpec
    dropped: list[str] = field(default_factory=list)  # short series left out
    notes: list[str] = field(default_factory=list)  # treatments applied, for the summary

    @property
    def series(self) -> list[str]:
        return sorted(self.frame["series"].unique())

    @property
    def end(self) -> pd.Timestamp:
        return self.frame["timestamp"].max()


def rows(mask: pd.Series | np.ndarray) -> str:
    """`rows 3, 17, 40 (and 12 more)`: the first data rows where `mask` holds, 1-based."""
    index = np.flatnonzero(np.asarray(mask)) + 1
    shown = ", ".join(str(i) for i in index[:SHOWN_ROWS])
    more = f" (and {len(index) - SHOWN_ROWS} more)" if len(index) > SHOWN_ROWS else ""
    return f"row{'s' if len(index) > 1 else ''} {shown}{more}"


def period_labels(stamps: pd.Series, frequency: str) -> pd.Series:
    """The label of the period holding each timestamp: the day, the month's first day, or the
    week's first day (W-MON: weeks start on Monday)."""
    days = stamps.dt.normalize()
    if frequency == "D":
        return days
    if frequency == "MS":
        return days - pd.to_timedelta(days.dt.day - 1, unit="D")
    anchor = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN").index(frequency[2:])
    return days - pd.to_timedelta((days.dt.day_of_week - anchor) % 7, unit="D")


def grid(start: pd.Timestamp, end: pd.Timestamp, frequency: str) -> pd.DatetimeIndex:
    return pd.date_range(start, end, freq=frequency)


def _timestamps(raw: pd.DataFrame, spec: ForecastSpec) -> pd.Series:
    if isinstance(spec.timestamp, str):
        stamps = pd.to_datetime(raw[spec.timestamp], errors="coerce", format="mixed")
        bad = stamps.isna()
        what = f"column {spec.timestamp!r}"
    else:
        parts = {p: pd.to_numeric(raw[c], errors="coerce") for p, c in spec.timestamp.items()}
        parts.setdefault("day", pd.Series(1, index=raw.index))
        stamps = pd.to_datetime(pd.DataFrame(parts)[["year", "month", "day"]], errors="coerce")
        bad = stamps.isna()
        what = f"columns {spec.timestamp_columns}"
    if bad.any():
        raise SeriesDataError(f"{rows(bad)}: {what} holds no date (e.g. "
                              f"{raw.loc[bad].iloc[0][spec.timestamp_columns].tolist()}): fix "
                              "or remove them")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    return stamps


def _target(raw: pd.DataFrame, spec: ForecastSpec, notes: list[str]) -> pd.Series:
    if spec.aggregation == "count":
        return pd.Series(1.0, index=raw.index)
    text = raw[spec.target]
    values = pd.to_numeric(text, errors="coerce")
    unreadable = values.isna() & text.notna()
    if unreadable.any():
        raise SeriesDataError(f"{rows(unreadable)}: target {spec.target!r} is no number (e.g. "
                              f"{text[unreadable].iloc[0]!r}): fix them, or leave the cell "
                              "empty for an unknown value")
    negative = values < 0
    if negative.any():
        if spec.negative_target == "error":
            raise SeriesDataError(f"{rows(negative)}: target {spec.target!r} is negative (e.g. "
                                  f"{values[negative].iloc[0]:g}): sales cannot be; correct the "
                                  "rows, or set negative_target: clip to count them as 0")
        notes.append(f"{int(negative.sum())} negative targets clipped to 0")
        values = values.clip(lower=0)
    return values


def _aggregate(data: pd.DataFrame, spec: ForecastSpec) -> pd.DataFrame:
    keys = ["series", "timestamp"]
    if spec.aggregation == "none":
        return data
    how = {"y": "sum" if spec.aggregation == "count" else spec.aggregation}
    how.update({c: a for c, a in spec.covariates.items()})
    how.update({c: "first" for c in spec.static})
    grouped = data.groupby(keys, sort=True)
    out = grouped.agg(how)
    if spec.aggregation == "sum":  # an all-unknown period stays unknown, not 0
        out["y"] = grouped["y"].sum(min_count=1)
    return out.reset_index()


def _check_grid(data: pd.DataFrame, spec: ForecastSpec) -> None:
    labels = pd.DatetimeIndex(np.sort(data["timestamp"].unique()))
    periods = grid(labels[0], labels[-1], spec.frequency)
    share = len(labels) / len(periods)
    if len(labels) > 1 and share < MIN_GRID_SHARE:
        gap = labels.to_series().diff().dt.days.median()
        raise SeriesDataError(
            f"the data has rows in only {share:.0%} of the {spec.frequency} periods from "
            f"{labels[0]:%Y-%m-%d} to {labels[-1]:%Y-%m-%d} (its dates are a median "
            f"{gap:g} days apart): it is coarser than frequency {spec.frequency}; set "
            f"frequency to the data's own ({', '.join(FREQUENCY_HINTS)})")


FREQUENCY_HINTS = ("D daily", "W-MON .. W-SUN weekly", "MS monthly")


def _check_one_row_per_period(data: pd.DataFrame, stamps: pd.Series, labels: pd.Series,
                              spec: ForecastSpec) -> None:
    """aggregation none: every row is one series' one period, on the frequency's grid."""
    off_grid = (stamps != labels).to_numpy()
    if off_grid.any():
        raise SeriesDataError(
            f"{rows(off_grid)}: timestamps off the {spec.frequency} grid (e.g. "
            f"{stamps[off_grid].iloc[0]} where the period starts "
            f"{labels[off_grid].iloc[0]:%Y-%m-%d}): irregular for aggregation none; fix "
            "the dates, or set aggregation "
            "sum (or mean) to bin rows into their period")
    duplicate = data.duplicated(["series", "timestamp"], keep=False).to_numpy()
    if duplicate.any():
        first = data.loc[duplicate].iloc[0]
        raise SeriesDataError(
            f"{rows(duplicate)}: duplicate (series, timestamp) rows (e.g. series "
            f"{first['series']!r} at {first['timestamp']:%Y-%m-%d}): remove the copies, or "
            "set aggregation sum (or mean) if several rows per period are expected")


def build_panel(raw: pd.DataFrame, spec: ForecastSpec) -> Panel:
    """The regular series `raw` holds, by `spec`; SeriesDataError names what does not fit."""
    missing = [c for c in spec.input_columns if c not in raw.columns]
    if missing:
        raise SeriesDataError(f"the data lacks columns {missing} that dataset spec "
                              f"{spec.name!r} names (it has {list(raw.columns)}): rename them "
                              "or pass a spec that fits")
    if raw.empty:
        raise SeriesDataError("the data has no rows")
    raw = raw.reset_index(drop=True)
    notes: list[str] = []
    stamps = _timestamps(raw, spec)
    labels = period_labels(stamps, spec.frequency)
    ids = raw[list(spec.series_id)].astype(str)
    unknown_id = raw[list(spec.series_id)].isna().any(axis=1)
    if unknown_id.any():
        raise SeriesDataError(f"{rows(unknown_id)}: empty series id ({list(spec.series_id)})"
                              ": fill or remove them")
    key = ids.iloc[:, 0]
    for column in ids.columns[1:]:
        key = key + SERIES_SEPARATOR + ids[column]
    data = pd.DataFrame({"series": key,
                         "timestamp": labels, "y": _target(raw, spec, notes)})
    for column in spec.covariates:
        values = pd.to_numeric(raw[column], errors="coerce")
        bad = values.isna() & raw[column].notna()
        if bad.any():
            raise SeriesDataError(f"{rows(bad)}: covariate {column!r} is no number: fix them")
        data[column] = values
    for column in spec.static:
        data[column] = raw[column].astype(str)
    if spec.aggregation == "none":
        _check_one_row_per_period(data, stamps, labels, spec)
    data = _aggregate(data, spec)
    _check_grid(data, spec)
    for column in spec.static:
        varying = data.groupby("series")[column].nunique()
        if (varying > 1).any():
            raise SeriesDataError(f"static attribute {column!r} varies within series "
                                  f"{list(varying[varying > 1].index[:SHOWN_ROWS])}: make it a "
                                  "series_id column, or drop it from static")
    frame, dropped = _regularise(data, spec, notes)
    if frame.empty:
        raise SeriesDataError(f"no series has a season ({spec.season} periods) of history: "
                              "give more data, or a shorter season_length")
    return Panel(frame, spec, dropped, notes)


def _regularise(data: pd.DataFrame, spec: ForecastSpec,
                notes: list[str]) -> tuple[pd.DataFrame, list[str]]:
    end = data["timestamp"].max()
    parts, short = [], []
    filled = 0
    for series, group in data.groupby("series", sort=True):
        index = grid(group["timestamp"].min(), end, spec.frequency)
        if len(index) < spec.season:
            short.append(series)
            continue
        part = group.set_index("timestamp").reindex(index)
        absent = part["series"].isna()
        filled += int(absent.sum())
        if spec.missing_periods == "zero":
            part.loc[absent, "y"] = 0.0
        part["series"] = series
        for column in [*spec.covariates, *spec.static]:
            part[column] = part[column].ffill().bfill()
        parts.append(part.rename_axis("timestamp").reset_index())
    if short and spec.short_series == "error":
        raise SeriesDataError(f"series {short[:SHOWN_ROWS]} have fewer periods than one season "
                              f"({spec.season}): give them more history, or set short_series: "
                              "drop to leave them out")
    if short:
        notes.append(f"{len(short)} series shorter than one season ({spec.season} periods) "
                     f"left out: {', '.join(short[:SHOWN_ROWS])}")
    if filled:
        notes.append(f"{filled} periods without rows filled as "
                     f"{'0' if spec.missing_periods == 'zero' else 'unknown'}")
    columns = ["series", "timestamp", "y", *spec.covariates, *spec.static]
    frame = pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(
        columns=columns)
    return frame, short
