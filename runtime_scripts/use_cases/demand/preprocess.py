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
"""

from __future__ import annotations

import json
import sys

import pandas as pd

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError, atomic_outputs, run_job
from runtime_scripts.use_cases.demand import jobs
from runtime_scripts.use_cases.demand.series import build_panel
from runtime_scripts.use_cases.demand.spec import ForecastSpec

OUTPUTS = (contract.PROCESSING_OUTPUT_TRAIN, contract.PROCESSING_OUTPUT_VALIDATION,
           contract.PROCESSING_OUTPUT_TEST, contract.PROCESSING_OUTPUT_BASELINE,
           contract.PROCESSING_OUTPUT_TRANSFORM)


def cut(frame: pd.DataFrame, spec: ForecastSpec, periods_back: int) -> pd.DataFrame:
    end = frame["timestamp"].max()
    last = pd.date_range(end=end, periods=periods_back + 1, freq=spec.frequency)[0]
    return frame[frame["timestamp"] <= last]


def preprocess(ml: contract.MlPaths) -> dict:
    with jobs.input_errors():
        spec = jobs.load_spec(ml)
        raw = jobs.read_raw(ml.processing_input(contract.PROCESSING_INPUT_RAW))
        panel = build_panel(raw, spec)
    frame = panel.frame
    periods = frame.groupby("series").size()
    if periods.max() < 3 * spec.horizon + spec.season:
        raise JobError(f"the longest series has {periods.max()} periods: training needs "
                       f"{3 * spec.horizon + spec.season} (three horizons of {spec.horizon} "
                       f"and a season of {spec.season}); give more history or a shorter horizon")
    targets = {name: ml.processing_output(name) for name in OUTPUTS}
    with atomic_outputs(targets) as staged:
        jobs.write_panel(cut(frame, spec, 2 * spec.horizon), staged["train"])
        jobs.write_panel(cut(frame, spec, spec.horizon), staged["validation"])
        jobs.write_panel(frame, staged["test"])
        jobs.write_panel(frame, staged["baseline"])
        jobs.write_panel(frame, staged["transform"])
        jobs.write_spec(spec, staged["transform"])
    return {"spec": spec.name, "rows_in": len(raw), "series": int(frame["series"].nunique()),
            "periods": int(periods.max()), "start": f"{frame['timestamp'].min():%Y-%m-%d}",
            "end": f"{frame['timestamp'].max():%Y-%m-%d}", "frequency": spec.frequency,
            "horizon": spec.horizon, "treatments": panel.notes, "left_out": panel.dropped}


def main() -> int:
    ml = contract.MlPaths.from_env()

    def job() -> None:
        print(json.dumps(preprocess(ml)), flush=True)

    return run_job(job, ml.exit_message, "preprocessing")


if __name__ == "__main__":
    sys.exit(main())
