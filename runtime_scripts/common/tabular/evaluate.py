"""Evaluation job: score the test split with the trained model; write evaluation.json + report.html.

Inputs (processing job layout, root redirectable with ML_ROOT):
    processing/input/model   model.tar.gz as SageMaker stages it, or the extracted model dir
    processing/input/test    the preprocess `test` output: raw.csv (raw rows + target, scored
                             through the packaged transform exactly as the server would) and/or
                             data.csv (encoded, label first). `--source auto` prefers raw.csv.
  or, to score what a batch transform predicted (`batch_labels`):
    processing/input/predictions  the transform job's output (*.out, with a header and ids)
    processing/input/labels       CSV files of the id columns and the target
Outputs (published together): processing/output/evaluation/{evaluation.json, report.html}.
`--gate auc>=0.85` (repeatable) judges quality gate conditions on the metrics (quality_gate.py).

evaluation.json, schema_version "1" (also in docs/evaluation-schema.md); a pipeline quality gate
reads `metrics.<name>`:
    schema_version    "1" (contract.EVALUATION_SCHEMA_VERSION)
    generated_at      ISO 8601 UTC timestamp
    threshold         probability at or above which a row is labelled positive
    metrics           {auc, pr_auc, accuracy, precision, recall, f1, log_loss, brier, ece}:
                      floats; pr_auc is average precision; the threshold-dependent ones use
                      `threshold`; brier and ece measure calibration (`calibration_error`)
    quality_gate      {passed, conditions: [{metric, comparison, threshold, value, passed}],
                      failed: one line naming every failed condition}
    confusion_matrix  {tp, fp, tn, fn}: integers at `threshold`
    rows              {total, positive, negative}: integers
    data              {source: "raw" | "encoded" | "predictions", files: [file names]}
    model             {file, num_boosted_rounds, best_iteration (int or null), eval_metric (str
                      or null), num_features, input_columns, target, positive_label}
    feature_importance  [{feature, gain}] top 20 encoded features by average gain, descending
    binary_classification_metrics  the same numbers in SageMaker's model-quality format
                      ({name: {value, standard_deviation}}, confusion_matrix {actual: {pred: n}})
                      so the model registry's ModelMetrics can point at this file directly
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from runtime_scripts import contract
from runtime_scripts.common import quality_gate
from runtime_scripts.common.batch_labels import load_labelled_predictions
from runtime_scripts.common.jobio import (
    JobError,
    atomic_outputs,
    find_data_files,
    read_table,
    run_job,
)
from runtime_scripts.common.model_bundle import ModelBundle, load_bundle, resolve_model_dir

log = logging.getLogger("churn.evaluate")


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
        labels = (frame[target].astype(str).str.strip() == positive).to_numpy(dtype=np.int8)
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
    if not np.isin(labels, (0.0, 1.0)).all():
        raise JobError(f"the first column of {test_dir}/*.csv must be the 0/1 label")
    return (frame.iloc[:, 1:].to_numpy(dtype=np.float32), labels.astype(np.int8),
            {"source": "encoded", "files": [str(f.relative_to(test_dir)) for f in files]})


def score(y: np.ndarray, p: np.ndarray, threshold: float) -> tuple[dict[str, float], dict]:
    from sklearn import metrics as m

    if len(np.unique(y)) < 2:
        raise JobError(f"the test split holds only one class ({int(y[0])}): AUC is undefined; "
                       "evaluate on a stratified split with both classes")
    pred = (p >= threshold).astype(np.int8)
    values = {
        "auc": m.roc_auc_score(y, p),
        "pr_auc": m.average_precision_score(y, p),
        "accuracy": m.accuracy_score(y, pred),
        "precision": m.precision_score(y, pred, zero_division=0),
        "recall": m.recall_score(y, pred, zero_division=0),
        "f1": m.f1_score(y, pred, zero_division=0),
        "log_loss": m.log_loss(y, p, labels=[0, 1]),
        "brier": m.brier_score_loss(y, p),
        "ece": calibration_error(y, p),
    }
    tn, fp, fn, tp = (int(v) for v in m.confusion_matrix(y, pred, labels=[0, 1]).ravel())
    return {k: float(values[k]) for k in contract.EVALUATION_METRICS}, {
        "tp": tp, "fp": fp, "tn": tn, "fn": fn}


CALIBRATION_BINS = 10


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: over equal-width probability bins, the row-weighted gap
    between the mean predicted probability and the observed positive rate (0 = calibrated)."""
    which = np.minimum((p * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins)
    gap = np.abs(np.bincount(which, weights=p, minlength=bins)
                 - np.bincount(which, weights=y, minlength=bins))
    return float(gap.sum() / max(count.sum(), 1))


def sagemaker_model_quality(metrics: dict[str, float], cm: dict[str, int]) -> dict[str, Any]:
    names = ("auc", "accuracy", "precision", "recall", "f1")
    block: dict[str, Any] = {k: {"value": metrics[k], "standard_deviation": "NaN"} for k in names}
    block["confusion_matrix"] = {"0": {"0": cm["tn"], "1": cm["fp"]},
                                 "1": {"0": cm["fn"], "1": cm["tp"]}}
    return block


def evaluate(paths: contract.MlPaths, source: str, threshold: float | None,
             gate: list[quality_gate.Condition] | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="model-") as scratch:
        model_input = paths.processing_input(contract.PROCESSING_INPUT_MODEL)
        bundle = load_bundle(resolve_model_dir(model_input, Path(scratch)))
    threshold = bundle.threshold if threshold is None else threshold
    if not 0.0 < threshold < 1.0:
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
    metrics, cm = score(y, p, threshold)
    gains = bundle.booster.get_score(importance_type="gain")
    importance = sorted(((bundle.feature_name(int(k[1:])), float(v)) for k, v in gains.items()),
                        key=lambda item: -item[1])
    best = bundle.booster.attr("best_iteration")
    document = {
        "schema_version": contract.EVALUATION_SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "threshold": threshold,
        "metrics": metrics,
        "quality_gate": quality_gate.judge(gate or [], metrics),
        "confusion_matrix": cm,
        "rows": {"total": len(y), "positive": int(y.sum()), "negative": int(len(y) - y.sum())},
        "data": data,
        "model": {
            "file": contract.MODEL_FILE,
            "num_boosted_rounds": bundle.booster.num_boosted_rounds(),
            "best_iteration": int(best) if best is not None else None,
            "eval_metric": bundle.booster.attr("eval_metric"),
            "num_features": bundle.booster.num_features(),
            "input_columns": bundle.transform.input_columns,
            "target": bundle.transform.target,
            "positive_label": bundle.transform.positive_label,
            "negative_label": bundle.schema["negative_label"],
        },
        "feature_importance": [{"feature": f, "gain": g} for f, g in importance[:20]],
        "binary_classification_metrics": sagemaker_model_quality(metrics, cm),
    }
    from runtime_scripts.common import report

    page = report.render(document, y, p, importance)
    target = paths.processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
    with atomic_outputs({"evaluation": target}) as out:
        (out["evaluation"] / contract.EVALUATION_FILE).write_text(json.dumps(document, indent=2))
        (out["evaluation"] / contract.REPORT_FILE).write_text(page)
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="process evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--source", choices=("auto", "raw", "encoded"), default="auto",
                        help="score raw.csv through the transform, or the encoded data.csv")
    parser.add_argument("--threshold", type=float,
                        help="decision threshold (default: the model's decision_threshold)")
    parser.add_argument("--gate", action="append", default=[], metavar="METRIC>=NUMBER",
                        help="a quality gate condition, e.g. auc>=0.85; repeat for each")
    args = parser.parse_args(argv)
    paths = contract.MlPaths.from_env()

    def job() -> None:
        gate = [quality_gate.Condition.parse(text) for text in args.gate]
        document = evaluate(paths, args.source, args.threshold, gate)
        print(json.dumps({"metrics": document["metrics"], "rows": document["rows"],
                          "quality_gate": document["quality_gate"]}), flush=True)

    return run_job(job, paths.exit_message, "evaluation")


if __name__ == "__main__":
    sys.exit(main())
