"""Every model behind one call: `forecast(model, history, ...)` -> p10/p50/p90 per series and
future period. `gbm` needs a fitted GbmModel; the baselines fit per series on the history."""

from __future__ import annotations

import numpy as np
import pandas as pd

from runtime_scripts.use_cases.demand import baselines
from runtime_scripts.use_cases.demand.features import Wide
from runtime_scripts.use_cases.demand.gbm import GbmModel
from runtime_scripts.use_cases.demand.spec import ForecastSpec

MODELS = ("gbm", "ets", "prophet", "seasonal_naive")
BASELINES = ("seasonal_naive", "ets", "prophet")
FORECAST_COLUMNS = ["series", "timestamp", "p10", "p50", "p90"]


class MissingCovariates(ValueError):
    """Future periods lack a known-future covariate the model needs."""


def future_index(end: pd.Timestamp, horizon: int, frequency: str) -> pd.DatetimeIndex:
    return pd.date_range(end, periods=horizon + 1, freq=frequency)[1:]


def forecast(model: str, history: pd.DataFrame, spec: ForecastSpec, horizon: int,
             future: pd.DataFrame | None = None, gbm: GbmModel | None = None) -> pd.DataFrame:
    """Forecasts for each series of `history` (a panel up to its last period) for the next
    `horizon` periods; `future` holds the covariates of those periods (series, timestamp,
    covariates), which `gbm` needs when the spec has covariates."""
    if model == "gbm":
        if gbm is None:
            raise ValueError("model gbm needs a fitted model")
        return _gbm(gbm, history, spec, horizon, future)
    end = history["timestamp"].max()
    dates = future_index(end, horizon, spec.frequency)
    parts = []
    for series, group in history.groupby("series", sort=True):
        group = group.sort_values("timestamp")
        y = group["y"].to_numpy(dtype=float)
        if model == "seasonal_naive":
            q = baselines.seasonal_naive(y, horizon, spec.season)
        elif model == "ets":
            q = baselines.ets(y, horizon, spec.season)
        elif model == "prophet":
            q = baselines.prophet(y, pd.DatetimeIndex(group["timestamp"]), horizon,
                                  spec.frequency, spec.holidays, dates)
        else:
            raise ValueError(f"unknown model {model!r}: one of {', '.join(MODELS)}")
        parts.append(pd.DataFrame({"series": series, "timestamp": dates, "p10": q[:, 0],
                                   "p50": q[:, 1], "p90": q[:, 2]}))
    return pd.concat(parts, ignore_index=True)


def _gbm(model: GbmModel, history: pd.DataFrame, spec: ForecastSpec, horizon: int,
         future: pd.DataFrame | None) -> pd.DataFrame:
    wide = Wide.of(history, spec, extend=horizon)
    if spec.covariates:
        if future is None:
            raise MissingCovariates(f"the model needs the future covariates "
                                    f"{list(spec.covariates)} for the next {horizon} periods")
        dates = wide.index[-horizon:]
        for column in spec.covariates:
            if column not in future.columns:
                raise MissingCovariates(f"future covariate {column!r} is missing")
            table = future.pivot(index="series", columns="timestamp", values=column)
            values = table.reindex(index=wide.series, columns=dates).to_numpy(dtype=float)
            if np.isnan(values).any():
                rows, cols = np.nonzero(np.isnan(values))
                raise MissingCovariates(
                    f"future covariate {column!r} is missing for series "
                    f"{wide.series[rows[0]]!r} at {dates[cols[0]]:%Y-%m-%d} "
                    f"({len(rows)} periods in all)")
            wide.covariates[column][:, -horizon:] = values
    return model.predict(wide, horizon)[FORECAST_COLUMNS]
