"""Backtest aggregate job (`process window-aggregate`): every window's evaluation in one verdict.

Inputs (processing job layout, root redirectable with ML_ROOT):
    processing/input/plan          the window split's plan (plan.json, window-<k>.json)
    processing/input/evaluations   <k>/evaluation.json and <k>/predictions.csv of each window
                                   (`process evaluate --write-predictions` on its test rows);
                                   evaluation.json alone where the use case's evaluation scores
                                   its windows (backtest_setup.scored_by "evaluation": its
                                   `metrics`, and `baselines.<baseline>` the baseline's; then
                                   no pooled or by-age scores)
Outputs (published together): processing/output/backtest/{backtest.json, backtest_report.html}.
`--gate mae:mean<=20000 --gate r2:std<=0.05` (repeatable) judges conditions on the windows'
statistics, as cross-validation's aggregate does (statistics.py). A window whose iteration
failed (the distributed Map tolerated it) has no evaluation: it is listed in failed_windows and
the statistics are over the others, at least contract.BACKTEST_MIN_WINDOWS.

backtest.json, schema_version "1":
    metrics      {name: mean over the windows}
    summary      per metric: mean, std (sample), min, max, ci95_low, ci95_high and the
                 number of windows (statistics.summarise), `pooled` (every
                 evaluated row of every window scored at once), `trend` (least-squares change
                 per window, later windows against earlier ones), and with a baseline its mean
                 and the number of windows the model beat it in
    windows      per window: periods, rows, metrics, the baseline's metrics
    by_age       per number of periods since the cutoff (1 = the first period evaluated): rows
                 and metrics, every window's rows of that age pooled (does the model degrade
                 as it ages?); null metrics where too few rows to score
    baseline     {name, description} or null; quality_gate as in evaluation.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError, atomic_outputs, run_job
from runtime_scripts.common.manifest import UseCaseManifest, current_use_case
from runtime_scripts.common.resampling import periods
from runtime_scripts.common.resampling.statistics import SpreadCondition, judge, summarise
from runtime_scripts.common.tabular.evaluate import metrics_of
from runtime_scripts.common.tabular.task import task_for

log = logging.getLogger("resampling.window_aggregate")
SCHEMA_VERSION = "1"


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise JobError(f"{what} {path} does not exist: map the {what}s to this input") from None
    except json.JSONDecodeError as exc:
        raise JobError(f"{what} {path} is not valid JSON: {exc}") from None


def load_window(evaluations: Path, entry: dict[str, Any], unit: str,
                ) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray]:
    """(evaluation.json, targets, predictions, each row's age in periods) of one window."""
    folder = evaluations / str(entry["index"])
    document = _read_json(folder / contract.EVALUATION_FILE, "window evaluation")
    path = folder / contract.PREDICTIONS_FILE
    if not path.is_file():
        raise JobError(f"{path} does not exist: evaluate each window with --write-predictions")
    rows = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    cutoff = periods.parse(unit, entry["cutoff"])
    ages = np.concatenate([np.full(n, periods.parse(unit, label) - cutoff + 1)
                           for label, n in entry["evaluate_rows_per_period"].items()])
    if len(ages) != len(rows):
        raise JobError(f"window {entry['index']}: {len(rows)} predictions for "
                       f"{len(ages)} evaluated rows: the evaluation is not of this window")
    return document, rows[:, 0], rows[:, 1], ages


def _score(manifest: UseCaseManifest, y: np.ndarray, p: np.ndarray) -> dict[str, float] | None:
    """The use case's metrics of these rows, or None where they cannot be scored (one class,
    a constant target: too few rows of this age)."""
    task = task_for(manifest.problem_type)
    try:
        return metrics_of(manifest, task.score(y, p, task.decision_threshold({}, None)).metrics)
    except JobError:
        return None


def _own_baseline(document: dict[str, Any], name: str | None,
                  index: int) -> dict[str, float] | None:
    """The declared baseline's metrics the window's own evaluation wrote beside the model's."""
    if name is None:
        return None
    found = (document.get("baselines") or {}).get(name)
    if not isinstance(found, dict):
        raise JobError(f"window {index}: its evaluation.json has no baselines.{name}: the "
                       f"use case's evaluation must score its declared baseline {name!r} on "
                       "each window (backtest_setup.scored_by='evaluation')")
    return found


def _trend(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    return float(np.polyfit(np.arange(len(values)), values, 1)[0])


def aggregate(paths: contract.MlPaths, gate: list[SpreadCondition],
              manifest: UseCaseManifest) -> dict[str, Any]:
    plan = _read_json(paths.processing_input(contract.PROCESSING_INPUT_WINDOW_PLAN)
                      / contract.WINDOW_PLAN_FILE, "window plan")
    unit, evaluations = plan["unit"], paths.processing_input(contract.PROCESSING_INPUT_EVALUATIONS)
    by_evaluation = manifest.backtest_setup.scored_by == "evaluation"
    windows, ys, ps, ages, failed = [], [], [], [], []
    for entry in plan["windows"]:
        if not (evaluations / str(entry["index"]) / contract.EVALUATION_FILE).is_file():
            failed.append(entry["index"])
            continue
        if by_evaluation:
            document = _read_json(evaluations / str(entry["index"]) / contract.EVALUATION_FILE,
                                  "window evaluation")
            baseline = _own_baseline(document, plan.get("baseline"), entry["index"])
        else:
            document, y, p, age = load_window(evaluations, entry, unit)
            ys.append(y), ps.append(p), ages.append(age)
            baseline = (entry.get("baseline") or {}).get("metrics")
        windows.append({key: entry[key] for key in ("index", "train_first", "train_last",
                                                    "cutoff", "evaluate_last", "rows")}
                       | {"metrics": document["metrics"], "baseline": baseline})
    if len(windows) < contract.BACKTEST_MIN_WINDOWS:
        raise JobError(f"{len(windows)} of {len(plan['windows'])} windows were evaluated "
                       f"(failed: {failed}): a metric over time needs at least "
                       f"{contract.BACKTEST_MIN_WINDOWS}")
    if by_evaluation:  # the rows were scored by the use case's own evaluation, per window
        pooled, by_age = {}, []
    else:
        y, p, age = np.concatenate(ys), np.concatenate(ps), np.concatenate(ages)
        pooled = _score(manifest, y, p) or {}
        by_age = [{"age": int(a), "rows": int((age == a).sum()),
                   "metrics": _score(manifest, y[age == a], p[age == a])}
                  for a in np.unique(age)]
    summary = {}
    # Every metric each window's evaluation reports (one a batch run alone writes is absent).
    for metric in (m for m in manifest.metrics if all(m.name in w["metrics"] for w in windows)):
        values = [w["metrics"][metric.name] for w in windows]
        item = {**{k: v for k, v in summarise(values).items() if k != "folds"},
                "windows": len(values), "pooled": pooled.get(metric.name),
                "trend": _trend(values)}
        if plan.get("baseline"):
            base = [w["baseline"][metric.name] for w in windows]
            better = [(v > b) if metric.higher_is_better else (v < b)
                      for v, b in zip(values, base, strict=True)]
            item |= {"baseline_mean": float(np.mean(base)), "windows_beating_baseline":
                     int(sum(better))}
        summary[metric.name] = item
    means = {name: item["mean"] for name, item in summary.items()}
    baseline = None
    if plan.get("baseline") and by_evaluation:
        baseline = {"name": plan["baseline"], "description": f"{plan['baseline']}, scored by "
                    "the use case's evaluation on each window's horizon beside the model"}
    elif plan.get("baseline"):
        first = plan["windows"][0]["baseline"]
        baseline = {"name": first["name"], "description": first["description"]}
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "use_case": manifest.name, "dataset": plan["dataset"], "unit": unit,
        "data": plan["data"], "request": plan["request"],
        "metrics": means,
        "quality_gate": judge(gate, summary),
        "summary": summary, "windows": windows, "failed_windows": failed, "by_age": by_age,
        "baseline": baseline,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="process window-aggregate",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--gate", action="append", default=[], metavar="METRIC:STATISTIC>=N",
                        help="a condition on a statistic of a metric over the windows, e.g. "
                             "mae:mean<=20000; repeat for each")
    args = parser.parse_args(argv)
    paths = contract.MlPaths.from_env()

    def job() -> None:
        from runtime_scripts.common.resampling.window_report import render

        manifest = current_use_case()
        gate = [SpreadCondition.parse(text, manifest) for text in args.gate]
        document = aggregate(paths, gate, manifest)
        target = paths.processing_output(contract.PROCESSING_OUTPUT_BACKTEST)
        with atomic_outputs({"backtest": target}) as out:
            (out["backtest"] / contract.BACKTEST_FILE).write_text(json.dumps(document, indent=2))
            (out["backtest"] / contract.BACKTEST_REPORT_FILE).write_text(
                render(document, manifest))
        print(json.dumps({"metrics": document["metrics"],
                          "quality_gate": document["quality_gate"]}), flush=True)

    return run_job(job, paths.exit_message, "backtest aggregate")


if __name__ == "__main__":
    sys.exit(main())
