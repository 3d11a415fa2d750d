"""Rolling-origin backtest: every model forecasts the same windows from the same histories.

Window k (k = 1..windows) has its origin `k * step` periods before the data's end and scores
the `horizon` periods after it; each model sees only the data up to the origin (the global
model is refit on it, except for a window whose origin is the trained model's own, where the
trained model itself is scored). The default: windows of the horizon, back to back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from runtime_scripts.use_cases.demand import gbm as gbm_model
from runtime_scripts.use_cases.demand.forecasters import BASELINES, forecast
from runtime_scripts.use_cases.demand.metrics import naive_scale
from runtime_scripts.use_cases.demand.spec import ForecastSpec


@dataclass
class Backtest:
    rows: pd.DataFrame  # model, window, origin, series, timestamp, y, p10, p50, p90, scale
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per model (fits too)

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.rows["model"]))


def origins(frame: pd.DataFrame, spec: ForecastSpec, windows: int,
            step: int | None = None) -> list[pd.Timestamp]:
    """The windows' origins, the latest first."""
    index = pd.date_range(frame["timestamp"].min(), frame["timestamp"].max(),
                          freq=spec.frequency)
    step = step or spec.horizon
    out = []
    for k in range(1, windows + 1):
        position = len(index) - 1 - spec.horizon - (k - 1) * step
        if position < 2 * spec.horizon + spec.season:
            break
        out.append(index[position])
    if not out:
        raise ValueError(f"the data ({len(index)} periods) is too short for one backtest window"
                         f" of {spec.horizon} periods after {2 * spec.horizon + spec.season} of "
                         "history")
    return out


def run(frame: pd.DataFrame, spec: ForecastSpec, model: str, windows: int,
        params: gbm_model.GbmParams | None = None, trained: gbm_model.GbmModel | None = None,
        trained_origin: pd.Timestamp | None = None, baselines=BASELINES,
        step: int | None = None) -> Backtest:
    """`model` (and every baseline) over the windows; `trained` is scored where its origin is
    a window's, the global model is refit elsewhere with `params`."""
    parts, seconds = [], {}
    names = [model, *[b for b in baselines if b != model]]
    for window, origin in enumerate(origins(frame, spec, windows, step), start=1):
        history = frame[frame["timestamp"] <= origin]
        actual = frame[(frame["timestamp"] > origin)]
        actual = actual[actual["timestamp"] <= origin + (pd.date_range(
            origin, periods=spec.horizon + 1, freq=spec.frequency)[-1] - origin)]
        scales = {s: naive_scale(g.sort_values("timestamp")["y"].to_numpy(), spec.season)
                  for s, g in history.groupby("series")}
        future = actual.drop(columns=["y"])
        for name in names:
            started = time.perf_counter()
            fitted = None
            if name == "gbm":
                fitted = (trained if trained is not None and origin == trained_origin else
                          gbm_model.fit(history, spec, params or gbm_model.GbmParams(),
                                        log=lambda *_: None))
            result = forecast(name, history, spec, spec.horizon, future, gbm=fitted)
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
            result = result.merge(actual[["series", "timestamp", "y"]],
                                  on=["series", "timestamp"], how="left")
            result["scale"] = result["series"].map(scales)
            parts.append(result.assign(model=name, window=window, origin=origin))
    rows = pd.concat(parts, ignore_index=True)
    rows["scale"] = rows["scale"].astype(float).replace(0, np.nan)
    return Backtest(rows, seconds)
