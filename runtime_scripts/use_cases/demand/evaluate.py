"""`process evaluate` for demand: a rolling-origin backtest of the trained model against every
baseline (backtest.py), evaluation.json for the quality gate, and report.html.

Inputs: processing/input/model (model.tar.gz), processing/input/test (preprocessing's
test/series.csv: all the data). `--windows N` (default 3) back-to-back windows of the horizon;
the latest is the trained model's own (its training ended at that window's origin), the
earlier ones refit the global model on the data before them. `--baselines` (default all three:
seasonal_naive, ets, prophet). `--gate mase<=0.9` (repeatable): quality gate conditions.

evaluation.json (schema_version "1"): `metrics` (the model's, over every window and series:
the manifest's metrics), `baselines` {name: metrics}, `windows` [{window, origin, models:
{name: metrics}}], `per_series` {series: metrics} of the model, `seconds` (wall time per model,
fits included), `model` {kind, trained_end, horizon, series}, `rows` {total: forecasts scored},
`data` {source: "backtest", files}, `quality_gate`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from runtime_scripts import contract
from runtime_scripts.common import quality_gate
from runtime_scripts.common.jobio import JobError, atomic_outputs, run_job
from runtime_scripts.common.manifest import current_use_case
from runtime_scripts.use_cases.demand import backtest, jobs, monitoring, report
from runtime_scripts.use_cases.demand import bundle as model_bundle
from runtime_scripts.use_cases.demand import gbm as gbm_model
from runtime_scripts.use_cases.demand.forecasters import BASELINES
from runtime_scripts.use_cases.demand.metrics import per_series, score, with_relative

DEFAULT_WINDOWS = 3


def summarise(result: backtest.Backtest, model: str) -> dict:
    rows = result.rows
    naive = score(rows[rows["model"] == "seasonal_naive"])
    overall = {name: with_relative(score(group), naive)
               for name, group in rows.groupby("model", sort=False)}
    windows = []
    for (window, origin), group in rows.groupby(["window", "origin"], sort=True):
        naive_w = score(group[group["model"] == "seasonal_naive"])
        windows.append({"window": int(window), "origin": f"{origin:%Y-%m-%d}",
                        "models": {name: with_relative(score(g), naive_w)
                                   for name, g in group.groupby("model", sort=False)}})
    return {"metrics": overall[model],
            "baselines": {k: v for k, v in overall.items() if k != model},
            "windows": windows, "per_series": per_series(rows[rows["model"] == model]),
            "seconds": {k: round(v, 2) for k, v in result.seconds.items()}}


def evaluate(ml: contract.MlPaths, windows: int, baselines: tuple[str, ...],
             gate: list[quality_gate.Condition]) -> tuple[dict, str]:
    with tempfile.TemporaryDirectory() as scratch:
        folder = model_bundle.resolve(ml.processing_input(contract.PROCESSING_INPUT_MODEL),
                                      Path(scratch))
        forecaster = model_bundle.load(folder)
    spec = forecaster.spec
    test = jobs.read_panel(ml.processing_input(contract.PROCESSING_INPUT_TEST), spec)
    params = gbm_model.GbmParams.of(forecaster.info.get("hyperparameters", {}))
    with jobs.input_errors():
        result = backtest.run(test, spec, forecaster.model, windows, params=params,
                              trained=forecaster.gbm,
                              trained_origin=pd.Timestamp(forecaster.info["trained_end"]),
                              baselines=baselines)
    document = {"schema_version": contract.EVALUATION_SCHEMA_VERSION,
                "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                **summarise(result, forecaster.model),
                # The shared evaluation schema's row count and source (the local runner's
                # summary prints them): the model's scored (series, period) forecasts.
                "rows": {"total": int(result.rows["model"].eq(forecaster.model).sum())},
                "data": {"source": "backtest", "files": [jobs.PANEL_FILE]},
                "model": {"kind": forecaster.model, "trained_end": forecaster.info["trained_end"],
                          "horizon": spec.horizon, "series": int(test["series"].nunique()),
                          "hyperparameters": forecaster.info.get("hyperparameters", {})}}
    document["quality_gate"] = quality_gate.judge(gate, document["metrics"])
    return document, report.render(document, result.rows, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="process evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--windows", type=int, default=DEFAULT_WINDOWS)
    parser.add_argument("--baselines", default=",".join(BASELINES),
                        help="comma-separated, of " + ", ".join(BASELINES))
    parser.add_argument("--gate", action="append", default=[], metavar="METRIC<=NUMBER")
    args = parser.parse_args(argv)
    ml = contract.MlPaths.from_env()

    def job() -> None:
        manifest = current_use_case()
        gate = [quality_gate.Condition.parse(text, manifest) for text in args.gate]
        # The seasonal naive always runs: MASE and the relative metrics are against it.
        chosen = tuple(dict.fromkeys(("seasonal_naive", *filter(None,
                                                                args.baselines.split(",")))))
        unknown = [b for b in chosen if b not in BASELINES]
        if unknown or args.windows < 1:
            raise JobError(f"--baselines must name of {', '.join(BASELINES)} (got {unknown}) "
                           "and --windows be at least 1")
        # A batch run's forecasts against their actuals (monitoring.py), else the backtest.
        if ml.processing_input(contract.PROCESSING_INPUT_PREDICTIONS).is_dir():
            document, page = monitoring.evaluate_forecasts(ml), None
        else:
            document, page = evaluate(ml, args.windows, chosen, gate)
        target = ml.processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
        with atomic_outputs({"evaluation": target}) as staged:
            (staged["evaluation"] / contract.EVALUATION_FILE).write_text(
                json.dumps(document, indent=1))
            if page is not None:
                (staged["evaluation"] / contract.REPORT_FILE).write_text(page)
        print(json.dumps({"metrics": document["metrics"],
                          "quality_gate": document.get("quality_gate")}), flush=True)

    return run_job(job, ml.exit_message, "evaluation")


if __name__ == "__main__":
    sys.exit(main())
