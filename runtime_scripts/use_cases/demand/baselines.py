"""The local baselines, each fitted per series on its history at forecast time: seasonal naive,
AutoETS (statsforecast) and Prophet. Each returns p10/p50/p90 for the next `horizon` periods.

Unknown targets inside a history are interpolated for ETS and the seasonal naive (they need a
complete series) and left out for Prophet (which takes gaps). A history shorter than two
seasons gets a non-seasonal ETS; one shorter than a season a naive (last value) forecast.
Forecasts are clipped at 0: sales are never negative.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

Z80 = 1.2815515655446004  # the standard normal's 90% quantile: p10/p90 of a normal forecast


def _complete(history: np.ndarray) -> np.ndarray:
    values = pd.Series(history, dtype=float).interpolate(limit_direction="both")
    return values.fillna(0.0).to_numpy()


def seasonal_naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """[horizon, 3]: the value one season back, p10/p90 from the history's own seasonal
    differences (their 10% and 90% quantiles, widened by sqrt(seasons ahead))."""
    y = _complete(history)
    m = season if len(y) >= season else 1
    steps = np.arange(1, horizon + 1)
    seasons_back = np.ceil(steps / m).astype(int)
    p50 = y[len(y) - m + (steps - 1) % m]  # the same period of the last season
    diffs = y[m:] - y[:-m] if len(y) > m else np.zeros(1)
    low, high = np.quantile(diffs[-8 * max(m, 1):], [0.1, 0.9])
    spread = np.sqrt(seasons_back)
    out = np.column_stack([p50 + low * spread, p50, p50 + high * spread])
    return np.clip(np.sort(out, axis=1), 0.0, None)


def ets(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    from statsforecast.models import AutoETS

    y = _complete(history)
    if len(y) < season:
        return seasonal_naive(history, horizon, season)
    m = season if len(y) >= 2 * season else 1
    try:
        result = AutoETS(season_length=m).forecast(y=y, h=horizon, level=[80])
    except Exception:  # noqa: BLE001 - a series ETS cannot fit (e.g. constant): naive it
        return seasonal_naive(history, horizon, season)
    out = np.column_stack([result["lo-80"], result["mean"], result["hi-80"]])
    return np.clip(out, 0.0, None)


def prophet(history: np.ndarray, dates: pd.DatetimeIndex, horizon: int, frequency: str,
            country: str | None, future: pd.DatetimeIndex) -> np.ndarray:
    for name in ("cmdstanpy", "prophet"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from prophet import Prophet

    known = ~np.isnan(history)
    if known.sum() < 2:
        return seasonal_naive(history, horizon, 1)
    model = Prophet(interval_width=0.8, uncertainty_samples=300,
                    weekly_seasonality=frequency == "D", daily_seasonality=False,
                    yearly_seasonality=len(history) >= 2 * {"D": 365, "MS": 12}.get(
                        frequency, 52))
    if country:
        model.add_country_holidays(country_name=country)
    model.fit(pd.DataFrame({"ds": dates[known], "y": history[known]}))
    forecast = model.predict(pd.DataFrame({"ds": future}))
    out = forecast[["yhat_lower", "yhat", "yhat_upper"]].to_numpy()
    return np.clip(np.sort(out, axis=1), 0.0, None)
