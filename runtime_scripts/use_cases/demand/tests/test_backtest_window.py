"""A window of the platform's backtest: preprocessing given the horizon's rows as its holdout
makes the test split the series followed by the horizon (preprocess.with_horizon): actuals where
the holdout has rows, unknown in a gap before them and after them, and refuses a holdout longer
than a forecast covers."""

from __future__ import annotations

import pandas as pd
import pytest

from runtime_scripts.common.jobio import JobError
from runtime_scripts.use_cases.demand.jobs import BUNDLED_SPEC
from runtime_scripts.use_cases.demand.preprocess import with_horizon
from runtime_scripts.use_cases.demand.series import build_panel
from runtime_scripts.use_cases.demand.spec import ForecastSpec

SPEC = ForecastSpec.load(BUNDLED_SPEC)  # daily, horizon 14, pizzas counted per day


def sales(days: pd.DatetimeIndex, name: str = "hawaiian", per_day: int = 2) -> pd.DataFrame:
    return pd.DataFrame([{"date": f"{d:%Y-%m-%d}", "name": name, "type": "classic"}
                         for d in days for _ in range(per_day)])


def test_the_horizon_holds_the_holdouts_actuals_and_unknowns_around_them():
    raw = sales(pd.date_range("2015-01-01", "2015-03-31"))
    frame = build_panel(raw, SPEC).frame
    # A gap of two days, then five days with sales (one without), then nothing known.
    later = sales(pd.date_range("2015-04-03", "2015-04-07").delete(2), per_day=3)
    test = with_horizon(frame, raw, later, SPEC)
    horizon = test[test["timestamp"] > "2015-03-31"].set_index("timestamp")["y"]
    assert list(horizon.index) == list(pd.date_range("2015-04-01", periods=14))
    assert horizon.iloc[:2].isna().all()  # the gap: not known to have sold nothing
    assert horizon.iloc[2:7].tolist() == [3, 3, 0, 3, 3]  # a day without sales sold none
    assert horizon.iloc[7:].isna().all()
    assert (test["type"] == "classic").all()


def test_a_holdout_past_the_specs_horizon_is_refused_with_the_fix():
    raw = sales(pd.date_range("2015-01-01", "2015-03-31"))
    later = sales(pd.date_range("2015-04-01", periods=15))
    with pytest.raises(JobError, match="ask the backtest for a horizon \\(plus gap\\) of at "
                                       "most 14"):
        with_horizon(build_panel(raw, SPEC).frame, raw, later, SPEC)
