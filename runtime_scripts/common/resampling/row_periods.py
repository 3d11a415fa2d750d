"""Each row's period (periods.py) by the dataset spec's `time` key (tabular/time_spec.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from runtime_scripts.common.resampling import periods
from runtime_scripts.common.tabular.time_spec import TimeSpec


def period_numbers(time: TimeSpec, frame: pd.DataFrame) -> np.ndarray:
    """Each row's period number as a float; NaN where the row's time cannot be read (missing,
    not a date, a month 13)."""
    if time.column:
        stamps = pd.to_datetime(frame[time.column], errors="coerce", utc=True, format="ISO8601")
        parts = [(d.year, d.month, d.day) if not pd.isna(d) else None for d in stamps]
    else:
        ones = [1] * len(frame)  # a month or day the spec does not name: the period's first
        columns = [_whole(frame[c]) if c else ones for c in (time.year, time.month, time.day)]
        parts = [None if None in row else row for row in zip(*columns, strict=True)]
    cache: dict[tuple[int, int, int], float] = {}
    out = np.full(len(frame), np.nan)
    for i, row in enumerate(parts):
        if row is None:
            continue
        if row not in cache:
            try:
                cache[row] = float(periods.ordinal(time.unit, *row))
            except periods.PeriodError:
                cache[row] = np.nan
        out[i] = cache[row]
    return out


def _whole(column: pd.Series) -> list[int | None]:
    """Cells as whole numbers ('2008', '2008.0'); None where a cell holds anything else."""
    values = pd.to_numeric(column, errors="coerce")
    return [int(v) if not pd.isna(v) and float(v).is_integer() else None for v in values]
