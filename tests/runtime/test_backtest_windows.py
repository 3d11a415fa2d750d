"""Rolling-origin windows (runtime_scripts/common/resampling/windows.py, periods.py) and the
dataset spec's `time` key: pure functions, no data."""

from __future__ import annotations

import itertools

import pytest

from runtime_scripts import contract
from runtime_scripts.common.resampling import periods
from runtime_scripts.common.resampling.windows import (
    MIN_TRAINING_PERIODS,
    WindowError,
    WindowRequest,
    plan,
)
from runtime_scripts.common.tabular.dataset import DatasetSpec, DatasetSpecError

# Monthly data from 2006-01 to 2010-07, as a house-sales table has it.
FIRST, LAST = periods.parse("month", "2006-01"), periods.parse("month", "2010-07")


def months(request: WindowRequest) -> list[dict[str, str]]:
    return [w.labels("month") for w in plan(request, FIRST, LAST)]


def test_windows_counted_back_from_the_end_evaluate_the_last_periods():
    got = months(WindowRequest("month", horizon=6, step=6, windows=4))
    assert [w["cutoff"] for w in got] == ["2008-08", "2009-02", "2009-08", "2010-02"]
    assert got[-1]["evaluate_last"] == "2010-07"
    assert all(w["train_first"] == "2006-01" for w in got)  # expanding
    assert [w["train_last"] for w in got] == ["2008-07", "2009-01", "2009-07", "2010-01"]


def test_from_a_first_cutoff_as_many_windows_as_fit():
    got = months(WindowRequest("month", horizon=3, step=12, first_cutoff=periods.parse(
        "month", "2007-01")))
    assert [w["cutoff"] for w in got] == ["2007-01", "2008-01", "2009-01", "2010-01"]


def test_sliding_windows_with_a_gap_never_train_on_what_follows_the_cutoff_less_the_gap():
    for horizon, step, gap, length in itertools.product((1, 3), (1, 4), (0, 2), (2, 12)):
        request = WindowRequest("month", horizon=horizon, step=step, windows=3,
                                training_window="sliding", training_periods=length, gap=gap)
        for w in plan(request, FIRST, LAST):
            assert w.train_last == w.cutoff - gap - 1
            assert w.train_last - w.train_first + 1 == length
            assert w.evaluate_last - w.cutoff + 1 == horizon
            assert w.train_first >= FIRST and w.evaluate_last <= LAST


@pytest.mark.parametrize(("request_", "key", "allowed"), [
    (WindowRequest("month", horizon=0, step=1, windows=2), "horizon", "1 .."),
    (WindowRequest("month", horizon=3, step=0, windows=2), "step", "1 .."),
    (WindowRequest("month", horizon=3, step=3, windows=2, gap=-1), "gap", "0 .."),
    (WindowRequest("month", horizon=3, step=3), "windows", "or a first_cutoff"),
    (WindowRequest("month", horizon=3, step=3, windows=contract.BACKTEST_MAX_WINDOWS + 1),
     "windows", f"{contract.BACKTEST_MIN_WINDOWS} .. {contract.BACKTEST_MAX_WINDOWS}"),
    (WindowRequest("month", horizon=3, step=3, windows=2, training_window="rolling"),
     "training_window", "expanding, sliding"),
    (WindowRequest("month", horizon=3, step=3, windows=2, training_window="sliding"),
     "training_periods", f"{MIN_TRAINING_PERIODS} .."),
    (WindowRequest("month", horizon=3, step=3, windows=2, training_periods=6),
     "training_periods", "null with training_window 'expanding'"),
])
def test_requests_wrong_whatever_the_data_name_the_key_and_the_allowed_values(
        request_, key, allowed):
    with pytest.raises(WindowError) as caught:
        plan(request_, FIRST, LAST)
    assert caught.value.key == key and allowed in caught.value.allowed
    assert f"backtest key '{key}'" in str(caught.value)


def test_too_many_windows_are_refused_with_the_most_that_fit():
    # 55 months; 2 to train on at least, so the earliest cutoff is 2006-03: 53 months left,
    # 8 whole windows of 6 months 6 apart (the last ends at 2010-07).
    assert len(plan(WindowRequest("month", horizon=6, step=6, windows=8), FIRST, LAST)) == 8
    with pytest.raises(WindowError) as caught:
        plan(WindowRequest("month", horizon=6, step=6, windows=9), FIRST, LAST)
    assert caught.value.key == "windows" and caught.value.allowed == "2 .. 8"
    assert "2006-01 .. 2010-07" in caught.value.problem


def test_a_first_cutoff_past_the_data_is_refused_with_the_cutoffs_that_fit():
    late = WindowRequest("month", horizon=6, step=1, first_cutoff=periods.parse("month",
                                                                               "2010-03"))
    with pytest.raises(WindowError) as caught:
        plan(late, FIRST, LAST)
    assert caught.value.key == "first_cutoff"
    assert caught.value.allowed == "2006-03 .. 2010-02"


def test_a_sliding_window_longer_than_the_data_before_the_first_cutoff_does_not_fit():
    request = WindowRequest("month", horizon=6, step=6, first_cutoff=periods.parse(
        "month", "2007-01"), training_window="sliding", training_periods=24)
    with pytest.raises(WindowError) as caught:
        plan(request, FIRST, LAST)
    assert caught.value.key == "first_cutoff" and caught.value.allowed == "2008-01 or later"


def test_with_row_counts_a_horizon_without_rows_is_refused():
    rows = {p: 10 for p in range(FIRST, LAST + 1) if p < periods.parse("month", "2010-01")}
    with pytest.raises(WindowError) as caught:
        plan(WindowRequest("month", horizon=3, step=3, windows=2), FIRST, LAST, rows)
    assert caught.value.key == "horizon" and "no rows to evaluate" in caught.value.problem


@pytest.mark.parametrize(("unit", "text", "shown"), [
    ("day", "2008-02-29", "2008-02-29"),
    ("week", "2008-01-17", "2008-01-14"),  # a Thursday: its ISO week starts Monday the 14th
    ("month", "2008-02", "2008-02"),
    ("month", "2008-02-17", "2008-02"),
    ("quarter", "2008Q3", "2008Q3"),
    ("quarter", "2008-08-01", "2008Q3"),
    ("year", "2008", "2008"),
])
def test_periods_read_their_own_form_or_a_date_and_consecutive_periods_differ_by_one(
        unit, text, shown):
    number = periods.parse(unit, text)
    assert periods.label(unit, number) == shown
    assert periods.parse(unit, periods.label(unit, number + 1)) == number + 1


def test_a_period_in_the_wrong_form_says_the_right_one():
    with pytest.raises(periods.PeriodError, match="write it as YYYY-MM"):
        periods.parse("month", "Jan 2008")


SPEC = {"target": "price", "features": {"rooms": "numeric", "sold_year": "numeric",
                                        "sold_month": "numeric"}}


def test_the_dataset_spec_names_its_time_as_year_and_month_columns_or_one_date_column():
    spec = DatasetSpec.from_dict({**SPEC, "time": {"year": "sold_year", "month": "sold_month"}})
    assert spec.time.unit == "month" and spec.time.columns == ("sold_year", "sold_month")
    dated = DatasetSpec.from_dict({**SPEC, "time": {"column": "sold_on", "unit": "week"}})
    assert dated.time.columns == ("sold_on",) and dated.time.unit == "week"
    assert DatasetSpec.from_dict(SPEC).time is None


@pytest.mark.parametrize(("time", "words"), [
    ({"year": "sold_year", "month": "sold_month", "unit": "day"},
     "'time.unit' 'day' is not allowed for these columns; allowed: month, quarter, year"),
    ({"column": "sold_on", "year": "sold_year"}, "either one date 'column' or 'year'"),
    ({"colum": "sold_on"}, "unknown keys ['colum']"),
    ({"column": "price"}, "'time' names the target 'price'"),
    ({"month": "sold_month"}, "must name a date 'column' or a 'year' column"),
])
def test_a_time_key_that_cannot_order_the_rows_is_refused_by_name(time, words):
    with pytest.raises(DatasetSpecError, match="spec.json: ") as caught:
        DatasetSpec.from_dict({**SPEC, "time": time}, "spec.json")
    assert words in str(caught.value)


def test_a_manifest_allowing_backtests_of_data_without_time_is_refused():
    import dataclasses

    from runtime_scripts.common.manifest import (
        BacktestSetup,
        ManifestError,
        Resampling,
        load_manifest,
    )

    snapshot = dataclasses.replace(load_manifest("churn"), backtest=Resampling())
    with pytest.raises(ManifestError, match="has no 'time' key"):
        snapshot.validate()
    dated = load_manifest("ames")
    wrong = dataclasses.replace(dated, backtest_setup=BacktestSetup(baseline="training_rate"))
    with pytest.raises(ManifestError, match="no baseline 'training_rate' for regression"):
        wrong.validate()
