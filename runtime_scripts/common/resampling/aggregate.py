"""Aggregate job (`process aggregate`): the folds' evaluations into cross-validated metrics.

Inputs (processing job layout, root redirectable with ML_ROOT):
    processing/input/fold_list/folds.json            the split job's fold list
    processing/input/evaluations/<k>/evaluation.json each fold's evaluation (its own job's)
Outputs (published together): processing/output/aggregate/
    cv_evaluation.json  schema_version, generated_at, folds_requested, folds_evaluated,
                        failed_folds [k...], metrics {name: {mean, std, min, max, ci95_low,
                        ci95_high, folds}}, per_fold [{fold, holdout_rows, metrics {...}}],
                        quality_gate {passed, conditions, failed} (the `--gate` conditions),
                        `metrics_mean` {name: mean}, and `registry_metadata` {"cv.<name>":
                        "mean=... std=... ci95_low=... ..."} (what a model registered with
                        `final_model` records)
    cv_report.html      the statistics, the per-fold table and a per-fold plot per metric
`--gate auc:mean>=0.85 --gate auc:std<=0.03` (repeatable). A fold whose iteration failed (the
distributed Map tolerated it) has no evaluation: it is listed in failed_folds, and the
statistics are over the others, at least two.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError, atomic_outputs, run_job
from runtime_scripts.common.manifest import current_use_case
from runtime_scripts.common.resampling import cv_report
from runtime_scripts.common.resampling.statistics import (
    SpreadCondition,
    judge,
    registry_metadata,
    summarise,
)


def read_folds(paths: contract.MlPaths) -> tuple[list[dict], list[dict]]:
    """(the fold list, the evaluations found: [{fold, holdout_rows, metrics}])."""
    listing = paths.processing_input(contract.PROCESSING_INPUT_FOLD_LIST)
    found = sorted(listing.rglob(contract.FOLD_LIST_FILE)) if listing.is_dir() else []
    if not found:
        raise JobError(f"no {contract.FOLD_LIST_FILE} under {listing}: map the split job's "
                       "fold list to the fold_list input")
    folds = json.loads(found[0].read_text())
    root = paths.processing_input(contract.PROCESSING_INPUT_EVALUATIONS)
    evaluated = []
    for item in folds:
        path = root / str(item["fold"]) / contract.EVALUATION_FILE
        if path.is_file():
            document = json.loads(path.read_text())
            evaluated.append({"fold": item["fold"], "holdout_rows": item["holdout_rows"],
                              "metrics": document["metrics"]})
    return folds, evaluated


def aggregate(paths: contract.MlPaths, gate: list[SpreadCondition]) -> dict:
    manifest = current_use_case()
    folds, evaluated = read_folds(paths)
    if len(evaluated) < contract.CV_MIN_FOLDS:
        raise JobError(f"{len(evaluated)} of {len(folds)} folds were evaluated: statistics "
                       f"need at least {contract.CV_MIN_FOLDS}")
    names = [m for m in manifest.metric_names if all(m in e["metrics"] for e in evaluated)]
    summary = {name: summarise([e["metrics"][name] for e in evaluated]) for name in names}
    document = {
        "schema_version": contract.EVALUATION_SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "use_case": manifest.name,
        "folds_requested": len(folds),
        "folds_evaluated": len(evaluated),
        "failed_folds": sorted({f["fold"] for f in folds} - {e["fold"] for e in evaluated}),
        "metrics": summary,
        "metrics_mean": {name: stats["mean"] for name, stats in summary.items()},
        "registry_metadata": registry_metadata(summary),
        "per_fold": evaluated,
        "quality_gate": judge(gate, summary),
    }
    page = cv_report.render(document, manifest)
    target = paths.processing_output(contract.PROCESSING_OUTPUT_AGGREGATE)
    with atomic_outputs({"aggregate": target}) as out:
        (out["aggregate"] / contract.CV_EVALUATION_FILE).write_text(json.dumps(document,
                                                                               indent=2))
        (out["aggregate"] / contract.CV_REPORT_FILE).write_text(page)
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="process aggregate",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--gate", action="append", default=[], metavar="METRIC:STAT>=NUMBER",
                        help="a gate condition on a statistic, e.g. auc:mean>=0.85")
    args = parser.parse_args(argv)
    paths = contract.MlPaths.from_env()

    def job() -> None:
        manifest = current_use_case()
        gate = [SpreadCondition.parse(text, manifest) for text in args.gate]
        document = aggregate(paths, gate)
        print(json.dumps({"metrics": document["metrics"],
                          "quality_gate": document["quality_gate"]}), flush=True)

    return run_job(job, paths.exit_message, "aggregate")


if __name__ == "__main__":
    sys.exit(main())


