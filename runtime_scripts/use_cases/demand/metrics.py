"""Forecast accuracy, per series and overall, on rows of (series, window, y, p10, p50, p90).

  mase      mean absolute error over the series' in-sample seasonal-naive MAE (the history
            before the window), averaged over series and windows; < 1 beats the seasonal naive
            of the history
  smape     symmetric MAPE of p50, 0..2 (a period where both are 0 counts as no error)
  wape      sum |y - p50| / sum y: the error per unit sold, volume-weighted
  rmse      root mean squared error of p50, in the target's unit
  wql       mean weighted quantile loss: the mean over p10, p50, p90 of 2 sum pinball / sum y
  coverage_p10_p90  share of actuals inside [p10, p90] (80% if calibrated)
  relative_mase, relative_wape  the model's over the seasonal naive's on the same windows
Periods with an unknown actual are left out of every metric.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

QUANTILE_COLUMNS = {0.1: "p10", 0.5: "p50", 0.9: "p90"}
METRICS = ("mase", "smape", "wape", "rmse", "wql", "coverage_p10_p90")
RELATIVE = ("relative_mase", "relative_wape")


def naive_scale(history: np.ndarray, season: int) -> float:
    """In-sample MAE of the seasonal naive on a history (NaN-aware); NaN when undefined."""
    y = np.asarray(history, dtype=float)
    m = season if len(y) > season else 1
    diffs = np.abs(y[m:] - y[:-m])
    diffs = diffs[~np.isnan(diffs)]
    return float(diffs.mean()) if len(diffs) and diffs.mean() > 0 else float("nan")


def score(rows: pd.DataFrame) -> dict[str, float]:
    """The metrics of `rows` (columns y, p10, p50, p90, scale; series and window for MASE)."""
    rows = rows[rows["y"].notna()]
    if rows.empty:
        return {name: float("nan") for name in METRICS}
    y, p50 = rows["y"].to_numpy(float), rows["p50"].to_numpy(float)
    error = np.abs(y - p50)
    total = max(float(np.abs(y).sum()), 1e-9)
    denominator = np.abs(y) + np.abs(p50)
    smape = np.where(denominator > 0, 2 * error / np.where(denominator > 0, denominator, 1), 0.0)
    losses = []
    for q, column in QUANTILE_COLUMNS.items():
        diff = y - rows[column].to_numpy(float)
        losses.append(2 * np.maximum(q * diff, (q - 1) * diff).sum() / total)
    mae = rows.assign(error=error).groupby(["series", "window"]).agg(
        mae=("error", "mean"), scale=("scale", "first"))
    mase = (mae["mae"] / mae["scale"]).replace([np.inf, -np.inf], np.nan).dropna()
    inside = (y >= rows["p10"].to_numpy(float)) & (y <= rows["p90"].to_numpy(float))
    return {"mase": float(mase.mean()) if len(mase) else float("nan"),
            "smape": float(smape.mean()), "wape": float(error.sum() / total),
            "rmse": float(np.sqrt(np.mean((y - p50) ** 2))), "wql": float(np.mean(losses)),
            "coverage_p10_p90": float(inside.mean())}


def with_relative(metrics: dict[str, float], naive: dict[str, float]) -> dict[str, float]:
    out = dict(metrics)
    for name in ("mase", "wape"):
        out[f"relative_{name}"] = (metrics[name] / naive[name] if naive[name] > 0
                                   else float("nan"))
    return out


def per_series(rows: pd.DataFrame) -> dict[str, dict[str, float]]:
    return {series: score(group) for series, group in rows.groupby("series", sort=True)}
