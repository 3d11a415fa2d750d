"""The default global model's choices, on small synthetic panels: p50 is a median, the panel's
total and the recency-weighted features say what they claim, closures are not demand, the
combination with AutoETS, and the hyperparameters (the lag set among them) the tuning searches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from runtime_scripts.use_cases.demand import baselines, gbm
from runtime_scripts.use_cases.demand.combination import combine
from runtime_scripts.use_cases.demand.features import FeatureConfig, Wide, build_rows
from runtime_scripts.use_cases.demand.manifest import MANIFEST
from runtime_scripts.use_cases.demand.spec import ForecastSpec

SPEC = ForecastSpec.from_json({"name": "synthetic", "series_id": ["sku"], "target": "units",
                               "timestamp": "day", "horizon": 7})
DEFAULT = gbm.GbmParams.of(MANIFEST.hyperparameters)


def panel(values: np.ndarray) -> pd.DataFrame:
    """[series, days] -> a panel from 2024-01-01."""
    days = pd.date_range("2024-01-01", periods=values.shape[1])
    return pd.concat([pd.DataFrame({"series": f"s{i}", "timestamp": days, "y": row})
                      for i, row in enumerate(values.astype(float))], ignore_index=True)


def features(values: np.ndarray, params: gbm.GbmParams, origin: int) -> pd.DataFrame:
    wide = Wide.of(panel(values), SPEC)
    config = FeatureConfig.of(SPEC, params.lags, params.windows, values.shape[1],
                              params.profile_seasons, bool(params.aggregate),
                              bool(params.smoothed), bool(params.closures))
    categories = {"series": wide.series}
    X, _, _, rows = build_rows(wide, config, np.array([origin]), categories)
    frame = pd.DataFrame(X, columns=config.names(categories))
    return frame.assign(series=rows[:, 0], h=rows[:, 2])


def test_the_default_p50_is_a_median_not_a_mean() -> None:
    # Skewed counts: 1 on four days of five, 11 on the fifth: median 1, mean 3. WAPE and MASE
    # reward the median; squared error (the old objective) forecast the mean.
    rng = np.random.default_rng(3)
    values = np.where(rng.random((8, 100)) < 0.8, 1.0, 11.0)
    params = gbm.GbmParams.of({**MANIFEST.hyperparameters, "ets_weight": "0",
                               "prophet_weight": "0", "nthread": "1", "num_round": "30",
                               "max_origins": "60"})
    fitted = gbm.fit(panel(values), SPEC, params, log=lambda *_: None)
    wide = Wide.of(panel(values), SPEC, extend=SPEC.horizon)
    p50 = fitted.predict(wide, SPEC.horizon)["p50"]
    assert p50.median() < 1.6, p50.describe()


def test_aggregate_profile_and_smoothed_features_follow_the_data() -> None:
    # Six series with a weekly profile (Mondays 8, other days 4: a mean of 32/7) over 12 weeks
    # from a Monday, and one day (40, a Saturday) on which every series is 0: a closure.
    values = np.tile(np.tile([8.0, 4, 4, 4, 4, 4, 4], 12), (6, 1))
    values[:, 40] = 0.0
    frame = features(values, DEFAULT, values.shape[1] - 1)
    monday, saturday = frame[frame["h"] == 1], frame[frame["h"] == 6]
    assert np.allclose(monday["season_profile"], 8 / (32 / 7))
    assert np.allclose(monday["total_profile"], 8 / (32 / 7))
    # The closure is no Saturday dip: as a 0 it would pull Saturday's profile to 0.81.
    assert np.allclose(saturday["season_profile"], 4 / (32 / 7))
    # The whole panel up 50% in its last week: the total's trend, and the fast level moved
    # further towards it than the slow one.
    values[:, -7:] *= 1.5
    frame = features(values, DEFAULT, values.shape[1] - 1)
    assert np.allclose(frame["total_trend"], 1.5 / ((1.5 * 7 + 21) / 28))
    assert (frame["level_0.2"] > frame["level_0.05"]).all()


def test_the_combination_is_the_weighted_mean_of_the_gbm_autoets_and_prophet(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The local models stand in by their input's last known value plus the lead time (their
    # fits are the baselines' own, tested there): which history each sees, and the weights.
    seen = {}

    def stand_in(name, history, horizon, **arguments):
        seen.setdefault(name, []).append(arguments)
        last = np.asarray(history)[~np.isnan(history)][-1]
        return np.repeat((last + np.arange(1, horizon + 1))[:, None], 3, axis=1)

    monkeypatch.setattr(baselines, "ets", lambda history, horizon, season: stand_in(
        "ets", history, horizon, season=season))
    monkeypatch.setattr(baselines, "prophet", lambda history, dates, horizon, *rest: stand_in(
        "prophet", history, horizon, dates=dates, future=rest[-1]))
    values = np.tile([3.0, 5.0], (6, 14))  # six series, 28 days, none starts shut
    values[:, 27] = 0.0  # the origin: every series 0, a closure
    origin, horizon = 27, 3
    wide = Wide.of(panel(values), SPEC, extend=horizon)
    config = FeatureConfig.of(SPEC, DEFAULT.lags, DEFAULT.windows, 28, closures=True)
    rows = np.array([[s, origin, h] for s in range(6) for h in range(1, horizon + 1)])
    gbm_p50 = np.full(len(rows), 10.0)
    combined = combine(gbm_p50, wide, config, origin, rows, {"ets": 0.2, "prophet": 0.5})
    h = rows[:, 2]
    # AutoETS sees the closure as unknown (last known 3); Prophet the data as given (0).
    assert np.allclose(combined, 0.3 * 10 + 0.2 * (3 + h) + 0.5 * (0 + h))
    prophet = seen["prophet"][0]
    assert len(prophet["dates"]) == 28 and list(prophet["future"]) == list(wide.index[28:31])
    seen.clear()
    alone = combine(gbm_p50, wide, config, origin, rows, {"ets": 0.0, "prophet": 0.0})
    assert np.array_equal(alone, gbm_p50) and not seen  # weight 0: no model is fitted


def test_the_default_p50_combines_the_trees_and_prophet_equally() -> None:
    # The default chosen on the backtest windows before the benchmark's (README).
    assert DEFAULT.weights == {"ets": 0.0, "prophet": 0.5}


def test_the_tuning_searches_the_hyperparameters_and_the_lag_set() -> None:
    ranges = MANIFEST.tuning.ranges
    searched = {r["name"] for kind in ranges.values() for r in kind}
    assert {"lags", "eta", "max_depth", "min_child_weight", "ets_weight",
            "prophet_weight"} <= searched
    # No sampled pair of weights leaves the GBM a negative weight.
    weights = [r for r in ranges["continuous"] if r["name"] in ("ets_weight", "prophet_weight")]
    assert sum(r["max"] for r in weights) <= 1.0
    for lags in next(r for r in ranges["categorical"] if r["name"] == "lags")["values"]:
        assert gbm.GbmParams.of({"lags": lags}).lags  # each value parses as a lag set
    assert MANIFEST.tuning.objective_metric == "validation:wape"


@pytest.mark.parametrize(("hyperparameters", "message"), [
    ({"objective": "reg:gamma"}, "objective 'reg:gamma' is not one of reg:absoluteerror"),
    ({"ets_weight": "1.5"}, "ets_weight 1.5 must lie in 0..1"),
    ({"ets_weight": "0.6", "prophet_weight": "0.6"}, "sum to more than 1"),
])
def test_bad_model_hyperparameters_are_named(hyperparameters, message) -> None:
    with pytest.raises(ValueError, match=message):
        gbm.GbmParams.of(hyperparameters)


def test_holiday_features_come_from_the_holidays_package_for_the_specs_country() -> None:
    """The target period's holidays and the days next to it (the `holidays` package's calendar of
    the spec's country): a weekly period counts the holidays in its seven days."""
    from runtime_scripts.use_cases.demand.features import calendar_features

    def holiday_features(frequency: str, dates: pd.DatetimeIndex, country: str | None = "US"):
        spec = ForecastSpec.from_json({"name": "h", "series_id": ["sku"], "target": "units",
                                       "timestamp": "day", "frequency": frequency,
                                       "holidays": country})
        config = FeatureConfig.of(spec, (0,), (7,), len(dates), 0, False, False, False)
        return calendar_features(dates, config)

    days = pd.DatetimeIndex(["2015-07-03", "2015-07-04", "2015-07-05", "2015-12-25",
                             "2015-12-27"])
    daily = holiday_features("D", days)
    # 4 July 2015, a Saturday, and 3 July, the day observed, are both the package's holidays.
    assert daily["holiday"].tolist() == [1, 1, 0, 1, 0]
    assert daily["holiday_near"].tolist() == [1, 1, 1, 0, 0]
    weeks = pd.DatetimeIndex(["2015-11-23", "2015-11-30"])  # weeks of Mondays
    assert holiday_features("W-MON", weeks)["holiday"].tolist() == [1, 0]  # Thanksgiving
    assert "holiday" not in holiday_features("D", days, country=None)
