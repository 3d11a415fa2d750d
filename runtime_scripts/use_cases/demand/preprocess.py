"""`process preprocess` for demand: long-format rows (raw CSV, or the Glue ETL's Parquet) ->
regular series (series.py) -> the files the training pipeline maps on.

Inputs: processing/input/raw (CSV/Parquet files), optionally processing/input/config (a
dataset spec replacing the bundled dataset.json). Outputs (published together), with H the
spec's horizon and `end` the data's last period:
    train/series.csv       the series up to end - 2H (what the model is fitted on first)
    validation/series.csv  up to end - H: its last H periods early-stop and calibrate the model
    test/series.csv        all of it: evaluation backtests on it, its last window the model's
    baseline/series.csv    the series, for Model Monitor's data quality baseline
    transform/             spec.json (the resolved spec) and series.csv: the model's history,
                           which serving and batch forecast from
Prints one JSON summary line: series, periods, treatments applied, short series left out.

With processing/input/holdout (a backtest window of the platform's backtest pipeline: raw holds
the rows before the window's cutoff, holdout those of its horizon), every raw row is training
data and the horizon is the test: train/ up to end - H, validation/ up to `end` (the model is
trained to the cutoff), and test/ those series followed by the H periods after `end`, their
actuals from the holdout rows (unknown in a gap before its first period and after its last), so
that `process evaluate --windows 1` scores the trained model's forecast of that horizon.
"""

from __future__ import annotations

import json
import sys

import pandas as pd

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError, atomic_outputs, run_job
from runtime_scripts.use_cases.demand import jobs
from runtime_scripts.use_cases.demand.series import _timestamps as series_timestamps
from runtime_scripts.use_cases.demand.series import build_panel, period_labels
from runtime_scripts.use_cases.demand.spec import ForecastSpec

OUTPUTS = (contract.PROCESSING_OUTPUT_TRAIN, contract.PROCESSING_OUTPUT_VALIDATION,
           contract.PROCESSING_OUTPUT_TEST, contract.PROCESSING_OUTPUT_BASELINE,
           contract.PROCESSING_OUTPUT_TRANSFORM)


def cut(frame: pd.DataFrame, spec: ForecastSpec, periods_back: int) -> pd.DataFrame:
    end = frame["timestamp"].max()
    last = pd.date_range(end=end, periods=periods_back + 1, freq=spec.frequency)[0]
    return frame[frame["timestamp"] <= last]


def with_horizon(frame: pd.DataFrame, raw: pd.DataFrame, later: pd.DataFrame,
                 spec: ForecastSpec) -> pd.DataFrame:
    """`frame`'s series followed by the H periods after its end, with the actuals `later`
    (the horizon's raw rows) holds; every other period's target unknown."""
    end = frame["timestamp"].max()
    future = pd.date_range(end, periods=spec.horizon + 1, freq=spec.frequency)[1:]
    held = period_labels(series_timestamps(later, spec), spec.frequency)
    if held.max() > future[-1]:
        raise JobError(f"the holdout runs to {held.max():%Y-%m-%d}, past the {spec.horizon} "
                       f"periods a forecast from {end:%Y-%m-%d} covers (the dataset spec's "
                       "horizon): ask the backtest for a horizon (plus gap) of at most "
                       f"{spec.horizon}")
    full = build_panel(pd.concat([raw, later], ignore_index=True), spec).frame
    actual = full[(full["timestamp"] > end) & (full["timestamp"] >= held.min())]
    last = frame.sort_values("timestamp").groupby("series").tail(1).set_index("series")
    periods = pd.MultiIndex.from_product([last.index, future], names=["series", "timestamp"])
    horizon = pd.DataFrame(index=periods).reset_index().merge(
        actual, on=["series", "timestamp"], how="left")
    for column in [*spec.covariates, *spec.static]:  # a series' last known where none given
        horizon[column] = horizon[column].fillna(horizon["series"].map(last[column]))
    return pd.concat([frame, horizon[frame.columns]], ignore_index=True)


def preprocess(ml: contract.MlPaths) -> dict:
    holdout = ml.processing_input(contract.PROCESSING_INPUT_HOLDOUT)
    with jobs.input_errors():
        spec = jobs.load_spec(ml)
        raw = jobs.read_raw(ml.processing_input(contract.PROCESSING_INPUT_RAW))
        panel = build_panel(raw, spec)
        frame = panel.frame
        test = (with_horizon(frame, raw, jobs.read_raw(holdout), spec)
                if holdout.is_dir() else frame)
    held_out = 0 if holdout.is_dir() else spec.horizon  # the test's periods in the data
    periods = frame.groupby("series").size()
    if periods.max() < 3 * spec.horizon + spec.season:
        raise JobError(f"the longest series has {periods.max()} periods: training needs "
                       f"{3 * spec.horizon + spec.season} (three horizons of {spec.horizon} "
                       f"and a season of {spec.season}); give more history or a shorter horizon")
    targets = {name: ml.processing_output(name) for name in OUTPUTS}
    with atomic_outputs(targets) as staged:
        jobs.write_panel(cut(frame, spec, spec.horizon + held_out), staged["train"])
        jobs.write_panel(cut(frame, spec, held_out), staged["validation"])
        jobs.write_panel(test, staged["test"])
        jobs.write_panel(frame, staged["baseline"])
        jobs.write_panel(frame, staged["transform"])
        jobs.write_spec(spec, staged["transform"])
    return {"spec": spec.name, "rows_in": len(raw), "series": int(frame["series"].nunique()),
            "periods": int(periods.max()), "start": f"{frame['timestamp'].min():%Y-%m-%d}",
            "end": f"{frame['timestamp'].max():%Y-%m-%d}", "frequency": spec.frequency,
            "horizon": spec.horizon, "treatments": panel.notes, "left_out": panel.dropped,
            "test_end": f"{test['timestamp'].max():%Y-%m-%d}"}


def main() -> int:
    ml = contract.MlPaths.from_env()

    def job() -> None:
        print(json.dumps(preprocess(ml)), flush=True)

    return run_job(job, ml.exit_message, "preprocessing")


if __name__ == "__main__":
    sys.exit(main())
