"""Evaluation job: score the test split with the trained model; write evaluation.json + report.html.

Inputs (processing job layout, root redirectable with ML_ROOT):
    processing/input/model   model.tar.gz as SageMaker stages it, or the extracted model dir
    processing/input/test    the preprocess `test` output: raw.csv (raw rows + target, scored
                             through the packaged transform exactly as the server would) and/or
                             data.csv (encoded, label first). `--source auto` prefers raw.csv.
  or, with `--candidate`, an AutoML candidate's test predictions (candidate_predictions):
    processing/input/model        preprocessing's `transform` output (feature_schema.json)
    processing/input/predictions  its batch transform of automl/test, joined with the input
  or, to score what a batch transform predicted (`batch_labels`):
    processing/input/predictions  the transform job's output (*.out, with a header and ids)
    processing/input/labels       CSV files of the id columns and the target
Outputs (published together): processing/output/evaluation/{evaluation.json, report.html}, and
with `--write-predictions` predictions.csv (`actual,predicted` per scored row, in input order).
`--gate auc>=0.85` (repeatable) judges quality gate conditions on the metrics (quality_gate.py).

The metrics are the use case's (its manifest's `metrics`), computed as its problem type does
(scores.py); the model must be of that type. evaluation.json, schema_version "1" (also in
docs/evaluation-schema.md); a pipeline quality gate reads `metrics.<name>`:
    schema_version    "1" (contract.EVALUATION_SCHEMA_VERSION)
    generated_at      ISO 8601 UTC timestamp
    metrics           {name: float} for each metric of the manifest, in its order; for a binary
                      {auc, pr_auc, accuracy, precision, recall, f1, log_loss, brier, ece}
                      (pr_auc is average precision; the threshold-dependent ones use
                      `threshold`; brier and ece measure calibration, `calibration_error`), for
                      a regression {rmse, mae, r2}
    quality_gate      {passed, conditions: [{metric, comparison, threshold, value, passed}],
                      failed: one line naming every failed condition}
    rows              classification {total, positive, negative}; regression {total,
                      target_mean, target_std}
    data              {source: "raw" | "encoded" | "predictions", files: [file names]}
    model             {file, booster ("gbtree", or "gblinear": a repacked Linear Learner model),
                      num_boosted_rounds, best_iteration (int or null), eval_metric (str or
                      null), num_features, input_columns, target}, and a classifier's
                      positive_label and negative_label
    feature_importance  [{feature, gain}] top 20 encoded features by average gain, descending
                      (none for a linear model: it has coefficients, no gain)
  binary classification also:
    threshold         probability at or above which a row is labelled positive
    confusion_matrix  {tp, fp, tn, fn}: integers at `threshold`
    binary_classification_metrics  the same numbers in SageMaker's model-quality format
                      ({name: {value, standard_deviation}}, confusion_matrix {actual: {pred: n}})
                      so the model registry's ModelMetrics can point at this file directly
  regression also:
    regression_metrics  {mae, mse, rmse, r2} in SageMaker's model-quality format
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from runtime_scripts import contract
from runtime_scripts.common import quality_gate, tracking
from runtime_scripts.common.batch_labels import load_labelled_predictions
from runtime_scripts.common.jobio import (
    JobError,
    atomic_outputs,
    find_data_files,
    read_table,
    run_job,
)
from runtime_scripts.common.manifest import UseCaseManifest, current_use_case
from runtime_scripts.common.model_bundle import (
    ModelBundle,
    is_linear,
    load_bundle,
    resolve_model_dir,
)
from runtime_scripts.common.tabular.candidate_predictions import load_candidate_predictions
from runtime_scripts.common.tabular.scores import calibration_error
from runtime_scripts.common.tabular.task import task_for

__all__ = ["calibration_error", "evaluate", "load_test", "main"]
log = logging.getLogger("tabular.evaluate")


def load_test(test_dir: Path, bundle: ModelBundle, source: str,
              ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(features, labels, data info) from raw.csv (through the transform) or data.csv."""
    import pandas as pd

    raw_file = test_dir / contract.RAW_TEST_FILE
    if source == "raw" or (source == "auto" and raw_file.is_file()):
        frame = read_table(raw_file)
        target, positive = bundle.transform.target, bundle.transform.positive_label
        if target not in frame.columns:
            raise JobError(f"{raw_file} has no target column {target!r}: it needs the labels")
        if frame[target].isna().any():
            raise JobError(f"{raw_file}: {int(frame[target].isna().sum())} rows have no "
                           f"{target!r} value; drop them before evaluating")
        labels = bundle.task.encode_target(frame[target].tolist(), positive,
                                           f"{raw_file} column {target!r}")
        return (bundle.transform.transform_frame(frame), labels,
                {"source": "raw", "files": [raw_file.name]})
    files = [f for f in find_data_files(test_dir, (".csv",)) if f.name != contract.RAW_TEST_FILE]
    if not files:
        raise JobError(f"no encoded test split (*.csv besides {contract.RAW_TEST_FILE}) under "
                       f"{test_dir}: map the preprocess test output to it")
    frame = pd.concat([read_table(f, header=False, dtype=np.float32) for f in files])
    if frame.shape[1] != bundle.transform.width + 1:
        raise JobError(f"the encoded test split has {frame.shape[1] - 1} features, the model "
                       f"{bundle.transform.width}: they come from different preprocessing runs")
    labels = frame.iloc[:, 0].to_numpy()
    if not bundle.task.labels_valid(labels):
        raise JobError(f"the first column of {test_dir}/*.csv must be {bundle.task.label_rule}")
    return (frame.iloc[:, 1:].to_numpy(dtype=np.float32), labels.astype(bundle.task.label_dtype),
            {"source": "encoded", "files": [str(f.relative_to(test_dir)) for f in files]})


def metrics_of(manifest: UseCaseManifest, computed: dict[str, float]) -> dict[str, float]:
    """The manifest's metrics, in its order, from those its problem type computes."""
    unknown = [name for name in manifest.metric_names if name not in computed]
    if unknown:
        raise JobError(f"use case {manifest.name!r} lists the metrics {', '.join(unknown)}, which "
                       f"{manifest.problem_type} evaluation does not compute (it computes "
                       f"{', '.join(computed)}): fix its manifest.py")
    return {name: computed[name] for name in manifest.metric_names}


def training_rules_of(paths: contract.MlPaths) -> dict[str, Any]:
    """{"training_rules": the rule job's rules.json} when the pipeline passed it, else {}."""
    path = (paths.processing_input(contract.PROCESSING_INPUT_TRAINING_RULES)
            / contract.TRAINING_RULES_FILE)
    return {"training_rules": json.loads(path.read_text())} if path.is_file() else {}


def evaluate(paths: contract.MlPaths, source: str, threshold: float | None,
             gate: list[quality_gate.Condition] | None = None,
             write_predictions: bool = False, candidate: str | None = None) -> dict[str, Any]:
    manifest = current_use_case()
    task = task_for(manifest.problem_type)
    if candidate is not None:
        return _evaluate_candidate(paths, manifest, candidate, threshold, gate or [])
    with tempfile.TemporaryDirectory(prefix="model-") as scratch:
        model_input = paths.processing_input(contract.PROCESSING_INPUT_MODEL)
        bundle = load_bundle(resolve_model_dir(model_input, Path(scratch)), manifest)
    threshold = task.decision_threshold(bundle.schema, threshold)
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise JobError(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    predictions = paths.processing_input(contract.PROCESSING_INPUT_PREDICTIONS)
    if predictions.is_dir():  # what a batch transform predicted, against labels known for it
        y, p, data = load_labelled_predictions(
            predictions, paths.processing_input(contract.PROCESSING_INPUT_LABELS), bundle)
    else:
        test_dir = paths.processing_input(contract.PROCESSING_INPUT_TEST)
        x, y, data = load_test(test_dir, bundle, source)
        import xgboost  # imported late, like the plotting below: bad input fails in a blink

        p = bundle.booster.predict(xgboost.DMatrix(x)).astype(np.float64)
    scores = task.score(y, p, threshold)
    metrics = metrics_of(manifest, scores.metrics)
    linear = is_linear(bundle.booster)
    # A linear model has coefficients, not gain (its weights are in the encoded units).
    gains = {} if linear else bundle.booster.get_score(importance_type="gain")
    importance = sorted(((bundle.feature_name(int(k[1:])), float(v)) for k, v in gains.items()),
                        key=lambda item: -item[1])
    best = bundle.booster.attr("best_iteration")
    document = {
        "schema_version": contract.EVALUATION_SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "metrics": metrics,
        "quality_gate": quality_gate.judge(gate or [], metrics),
        "data": data,
        "model": {
            "file": contract.MODEL_FILE,
            "booster": "gblinear" if linear else "gbtree",
            "num_boosted_rounds": bundle.booster.num_boosted_rounds(),
            "best_iteration": int(best) if best is not None else None,
            "eval_metric": bundle.booster.attr("eval_metric"),
            "num_features": bundle.booster.num_features(),
            "input_columns": bundle.transform.input_columns,
            "target": bundle.transform.target,
            **{key: bundle.schema[key] for key in task.schema_keys},
        },
        "feature_importance": [{"feature": f, "gain": g} for f, g in importance[:20]],
        **scores.sections,
        **training_rules_of(paths),
    }
    _write(paths, manifest, document, importance, scores, y, p, write_predictions)
    return document


def _evaluate_candidate(paths: contract.MlPaths, manifest: UseCaseManifest, candidate: str,
                        threshold: float | None,
                        gate: list[quality_gate.Condition]) -> dict[str, Any]:
    """An AutoML candidate's predictions of the test split, scored as any model's: the same
    metrics, gate and report, without what only a booster of ours has (trees, gains)."""
    from runtime_scripts.common.model_bundle import load_feature_schema

    task = task_for(manifest.problem_type)
    schema = load_feature_schema(paths.processing_input(contract.PROCESSING_INPUT_MODEL)
                                 / contract.FEATURE_SCHEMA_FILE, task)
    threshold = task.decision_threshold(schema, threshold)
    y, p, data = load_candidate_predictions(
        paths.processing_input(contract.PROCESSING_INPUT_PREDICTIONS), schema, task)
    scores = task.score(y, p, threshold)
    metrics = metrics_of(manifest, scores.metrics)
    document = {
        "schema_version": contract.EVALUATION_SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "metrics": metrics,
        "quality_gate": quality_gate.judge(gate, metrics),
        "data": data,
        "model": {"file": None, "candidate": candidate,
                  "input_columns": schema["input_columns"], "target": schema["target"],
                  **{key: schema[key] for key in task.schema_keys}},
        "feature_importance": [],
        **scores.sections,
    }
    _write(paths, manifest, document, [], scores, y, p, False)
    return document


def _write(paths: contract.MlPaths, manifest: UseCaseManifest, document: dict[str, Any],
           importance: list, scores, y: np.ndarray, p: np.ndarray,
           write_predictions: bool) -> None:
    from runtime_scripts.common import report

    parts = task_for(manifest.problem_type).report_parts(document, scores, y, p,
                                                         manifest.wording)
    page = report.render(document, importance, parts, manifest.wording)
    target = paths.processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
    with atomic_outputs({"evaluation": target}) as out:
        (out["evaluation"] / contract.EVALUATION_FILE).write_text(json.dumps(document, indent=2))
        (out["evaluation"] / contract.REPORT_FILE).write_text(page)
        if write_predictions:  # for a backtest's aggregate: metrics by the rows' age
            np.savetxt(out["evaluation"] / contract.PREDICTIONS_FILE, np.column_stack([y, p]),
                       delimiter=",", header="actual,predicted", comments="", fmt="%.10g")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="process evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--source", choices=("auto", "raw", "encoded"), default="auto",
                        help="score raw.csv through the transform, or the encoded data.csv")
    parser.add_argument("--threshold", type=float,
                        help="classification: the decision threshold (default: the model's "
                             "decision_threshold)")
    parser.add_argument("--gate", action="append", default=[], metavar="METRIC>=NUMBER",
                        help="a quality gate condition, e.g. auc>=0.85; repeat for each")
    parser.add_argument("--write-predictions", action="store_true",
                        help=f"also write {contract.PREDICTIONS_FILE}: each row's target and "
                             "prediction, in input order")
    parser.add_argument("--candidate", action="store_true",
                        help="score an AutoML candidate's batch predictions of the test split "
                             "(the predictions input) instead of a model of ours; its name "
                             f"from {contract.AUTOML_CANDIDATE_ENV}")
    args = parser.parse_args(argv)
    paths = contract.MlPaths.from_env()

    def job() -> None:
        manifest = current_use_case()
        gate = [quality_gate.Condition.parse(text, manifest) for text in args.gate]
        with tracking.job_run("evaluation", tracking.processing_job_name(paths)) as run:
            run.log_params({"source": args.source, "threshold": args.threshold,
                            "gate": " and ".join(args.gate) or None})
            document = evaluate(paths, args.source, args.threshold, gate,
                                args.write_predictions,
                                (os.environ.get(contract.AUTOML_CANDIDATE_ENV) or "unnamed")
                                if args.candidate else None)
            run.log_metrics(document["metrics"])
            run.log_artifacts(paths.processing_output(contract.PROCESSING_OUTPUT_EVALUATION),
                              "evaluation")
        print(json.dumps({"metrics": document["metrics"], "rows": document["rows"],
                          "quality_gate": document["quality_gate"]}), flush=True)

    return run_job(job, paths.exit_message, "evaluation")


if __name__ == "__main__":
    sys.exit(main())
