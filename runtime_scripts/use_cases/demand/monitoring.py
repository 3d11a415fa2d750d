"""`process evaluate` of a batch run's forecasts once the actuals arrive (the batch pipeline's
"Evaluate predictions": inputs model, predictions, labels). evaluate.py hands over to it when a
predictions input is mapped.

    processing/input/predictions/*.out   the batch answers: `id,timestamp,p10,p50,p90` lines
    processing/input/labels/**.csv       the actuals, as the sales data comes (the dataset
                                         spec's raw format: transactions, say)

The actuals go through the same aggregation as training data (series.py: its errors name the
rows). The forecast periods the actuals cover are scored: with `missing_periods: zero` a period
without any sale of a forecast series is a 0, else it is left out. `metrics` are metrics.py's
over that window, plus `wape_ratio`: its WAPE over the WAPE the model measured on its held-out
window when it was trained (the latest backtest window is the model's own), the number the
manifest's accuracy monitor publishes and alarms on. `data_quality` counts what did not match:
actual series the model never forecast, forecast periods without actuals, and the aggregation's
treatments.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError, find_data_files
from runtime_scripts.use_cases.demand import bundle as model_bundle
from runtime_scripts.use_cases.demand import jobs
from runtime_scripts.use_cases.demand.metrics import naive_scale, score
from runtime_scripts.use_cases.demand.series import build_panel

PREDICTION_COLUMNS = ["series", "timestamp", "p10", "p50", "p90"]
WAPE_RATIO = "wape_ratio"  # the metric the manifest's accuracy monitor names
SHOWN = 5


def read_predictions(folder: Path) -> pd.DataFrame:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise JobError(f"{folder} holds no predictions: map the batch transform's output to it")
    frames = [pd.read_csv(path, header=None, names=PREDICTION_COLUMNS, dtype={"series": str},
                          parse_dates=["timestamp"]) for path in files]
    return pd.concat(frames, ignore_index=True)


def actuals(folder: Path, spec) -> tuple[pd.DataFrame, list[str]]:
    """The actuals as (series, timestamp, y); a window of actuals is shorter than a season, so
    no series is dropped as short here."""
    with jobs.input_errors():
        panel = build_panel(jobs.read_raw(folder),
                            dataclasses.replace(spec, season_length=1, short_series="drop"))
    return panel.frame[["series", "timestamp", "y"]], panel.notes


def score_forecasts(predictions: pd.DataFrame, actual: pd.DataFrame, forecaster) -> dict:
    spec = forecaster.spec
    start, end = actual["timestamp"].min(), actual["timestamp"].max()
    window = predictions[predictions["timestamp"].between(start, end)]
    if window.empty:
        raise JobError(f"no forecast period lies in the actuals' {start:%Y-%m-%d}..{end:%Y-%m-%d}"
                       f" (forecasts cover {predictions['timestamp'].min():%Y-%m-%d}.."
                       f"{predictions['timestamp'].max():%Y-%m-%d}): give the actuals of the "
                       "forecast periods")
    rows = window.merge(actual, on=["series", "timestamp"], how="left")
    unmatched = sorted(set(actual["series"]) - set(predictions["series"]))
    missing = int(rows["y"].isna().sum())
    if spec.missing_periods == "zero":
        rows["y"] = rows["y"].fillna(0.0)
    history = forecaster.history
    scales = {s: naive_scale(g["y"].to_numpy(), spec.season)
              for s, g in history.groupby("series")}
    metrics = score(rows.assign(window=1, scale=rows["series"].map(scales)))
    reference = (forecaster.info.get("validation") or {}).get("wape")
    if not (isinstance(reference, float | int) and reference > 0):
        raise JobError("the model records no held-out WAPE (forecaster.json validation.wape): "
                       "retrain it with this use case's training")
    metrics[WAPE_RATIO] = metrics["wape"] / reference
    unknown = [k for k, v in metrics.items() if not math.isfinite(v)]
    if unknown:
        raise JobError(f"metrics {unknown} are undefined on these actuals (all unknown or "
                       "zero): give actuals with sales in the forecast periods")
    return {"metrics": metrics, "reference": {"wape": reference, "source": "validation"},
            "window": {"start": f"{start:%Y-%m-%d}", "end": f"{end:%Y-%m-%d}"},
            "rows": {"total": int(len(rows))},
            "data_quality": {"actual_rows": int(len(actual)),
                             "series_without_forecast": unmatched[:SHOWN],
                             "series_without_forecast_count": len(unmatched),
                             "periods_without_actual": missing,
                             "periods_without_actual_as": ("zero" if spec.missing_periods
                                                           == "zero" else "left out")}}


def evaluate_forecasts(ml: contract.MlPaths) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        folder = model_bundle.resolve(ml.processing_input(contract.PROCESSING_INPUT_MODEL),
                                      Path(scratch))
        forecaster = model_bundle.load(folder)
    predictions = read_predictions(ml.processing_input(contract.PROCESSING_INPUT_PREDICTIONS))
    labels = ml.processing_input(contract.PROCESSING_INPUT_LABELS)
    actual, notes = actuals(labels, forecaster.spec)
    document = score_forecasts(predictions, actual, forecaster)
    document["data_quality"]["treatments"] = notes
    return {"schema_version": contract.EVALUATION_SCHEMA_VERSION,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"), **document,
            "data": {"source": "predictions",
                     "files": [p.name for p in find_data_files(labels)]},
            "model": {"kind": forecaster.model, "trained_end": forecaster.info["trained_end"]}}
