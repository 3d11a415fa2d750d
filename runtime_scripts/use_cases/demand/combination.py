"""The default model's p50: the global GBM's forecast combined with per-series models' (AutoETS,
Prophet), weighted: (1 - w_ets - w_prophet) gbm + w_ets ets + w_prophet prophet.

Why: a pizza's daily count is mostly noise around a level and a weekly profile. The global
trees (a median, from features of the whole panel) and a per-series model (a mean, from the
series' own history) err differently, and a combination of forecasts that err differently is
on average more accurate than either (the forecast-combination result the M competitions
confirmed); equal weights are hard to beat without far more data than one year to fit them on.

AutoETS sees the history as the GBM's features do (closures unknown, interpolated: baselines.ets);
Prophet as its baseline does (the panel's values as given, unknown targets left out), so the
Prophet part of the combination is the Prophet baseline's own forecast.
"""

from __future__ import annotations

import numpy as np

from runtime_scripts.use_cases.demand import baselines
from runtime_scripts.use_cases.demand.features import FeatureConfig, Wide, open_periods

LOCAL_MODELS = ("ets", "prophet")


def known_history(wide: Wide, config: FeatureConfig, origin: int) -> np.ndarray:
    """The targets up to the origin as the features see them (closures unknown)."""
    y = wide.y[:, :origin + 1]
    return open_periods(y) if config.closures else y


def local_p50(model: str, wide: Wide, config: FeatureConfig, origin: int,
              horizon: int) -> np.ndarray:
    """[series, horizon]: a per-series model's p50 for the `horizon` periods after column
    `origin` of `wide` (whose index must reach them), from the data up to the origin."""
    out = np.zeros((len(wide.series), horizon))
    if model == "ets":
        for i, y in enumerate(known_history(wide, config, origin)):
            known = np.flatnonzero(~np.isnan(y))
            if len(known):  # from the series' first known period (ragged starts)
                out[i] = baselines.ets(y[known[0]:], horizon, config.season)[:, 1]
        return out
    if model != "prophet":
        raise ValueError(f"unknown local model {model!r}: one of {', '.join(LOCAL_MODELS)}")
    dates = wide.index[:origin + 1]
    future = wide.index[origin + 1:origin + 1 + horizon]
    for i, y in enumerate(wide.y[:, :origin + 1]):
        if (~np.isnan(y)).any():
            out[i] = baselines.prophet(y, dates, horizon, config.frequency, config.holidays,
                                       future)[:, 1]
    return out


def combined_p50(gbm_p50: np.ndarray, rows: np.ndarray,
                 local: list[tuple[float, np.ndarray]]) -> np.ndarray:
    """The GBM's p50 for rows [series, origin, h] of one origin, combined with the local
    models' [series, horizon] p50s, each with its weight (the GBM gets the rest)."""
    out = (1.0 - sum(weight for weight, _ in local)) * gbm_p50
    for weight, p50 in local:
        out = out + weight * p50[rows[:, 0], rows[:, 2] - 1]
    return out


def combine(gbm_p50: np.ndarray, wide: Wide, config: FeatureConfig, origin: int,
            rows: np.ndarray, weights: dict[str, float]) -> np.ndarray:
    """combined_p50 with the local models of `weights` ({"ets": w, "prophet": w}) fitted on
    the data up to `origin`; the models with weight 0 are not fitted."""
    horizon = int(rows[:, 2].max())
    local = [(weight, local_p50(model, wide, config, origin, horizon))
             for model, weight in weights.items() if weight > 0]
    return combined_p50(gbm_p50, rows, local) if local else gbm_p50
