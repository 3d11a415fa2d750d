"""A batch run's forecasts against the actuals that arrived afterwards (monitoring.py): the
actuals aggregated as training data is, the forecast periods they cover scored, what did not
match counted, and actuals of other periods refused naming both ranges."""

from __future__ import annotations

import pandas as pd
import pytest

from runtime_scripts.common.jobio import JobError
from runtime_scripts.use_cases.demand import answer, bundle, monitoring


@pytest.fixture(scope="module")
def forecast(demand):
    forecaster = bundle.load(demand.ml.model)
    lines = answer.to_csv(answer.answer([{"id": answer.EVERY_SERIES}], forecaster)).decode()
    rows = [line.split(",") for line in lines.splitlines()]
    predictions = pd.DataFrame(rows, columns=monitoring.PREDICTION_COLUMNS)
    predictions["timestamp"] = pd.to_datetime(predictions["timestamp"])
    for column in ("p10", "p50", "p90"):
        predictions[column] = predictions[column].astype(float)
    return forecaster, predictions


def _sales(days: int, per_day: dict[str, int], start: str = "2016-01-01") -> pd.DataFrame:
    """Transactions as the sample holds them: one row per pizza sold."""
    rows = [{"date": f"{day:%Y-%m-%d}", "name": name, "type": "x"}
            for day in pd.date_range(start, periods=days) for name, count in per_day.items()
            for _ in range(count)]
    return pd.DataFrame(rows)


def test_the_covered_periods_are_scored_and_what_did_not_match_counted(forecast, tmp_path):
    forecaster, predictions = forecast
    _sales(7, {"the_greek": 3, "classic_dlx": 5, "calzone": 2}).to_csv(tmp_path / "a.csv",
                                                                        index=False)
    actual, _ = monitoring.actuals(tmp_path, forecaster.spec)
    document = monitoring.score_forecasts(predictions, actual, forecaster)
    assert document["window"] == {"start": "2016-01-01", "end": "2016-01-07"}
    assert document["rows"]["total"] == 3 * 7  # every forecast series, the 7 days covered
    quality = document["data_quality"]
    assert quality["series_without_forecast"] == ["calzone"]
    # brie_carre sold nothing those days: with missing_periods zero, 7 zeros, not unknowns
    assert quality["periods_without_actual"] == 7 and quality["periods_without_actual_as"] == \
        "zero"
    metrics = document["metrics"]
    assert metrics["wape_ratio"] == pytest.approx(
        metrics["wape"] / forecaster.info["validation"]["wape"])


def test_actuals_of_no_forecast_period_are_refused_naming_both_ranges(forecast, tmp_path):
    forecaster, predictions = forecast
    _sales(7, {"the_greek": 3}, start="2015-06-01").to_csv(tmp_path / "a.csv", index=False)
    actual, _ = monitoring.actuals(tmp_path, forecaster.spec)
    with pytest.raises(JobError, match=r"actuals' 2015-06-01..2015-06-07 \(forecasts cover "
                                       r"2016-01-01..2016-01-14\)"):
        monitoring.score_forecasts(predictions, actual, forecaster)
