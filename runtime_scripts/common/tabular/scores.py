"""The metrics an evaluation computes, per problem type, and SageMaker's model-quality blocks.

Each block has SageMaker Model Monitor's model-quality layout (`{name: {value,
standard_deviation}}`, named `binary_classification_metrics` or `regression_metrics` as Model
Monitor names them), so the model registry's ModelMetrics can point at evaluation.json itself.
Model Monitor gives a standard deviation only from 200 rows on, by resampling; here it is "NaN".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.tabular.task import Scores

CALIBRATION_BINS = 10


def _quality(metrics: dict[str, float], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: {"value": metrics[k], "standard_deviation": "NaN"} for k in names}


def score_binary(y: np.ndarray, p: np.ndarray, threshold: float) -> Scores:
    """Labels 0/1 against probabilities: ranking, threshold and calibration metrics."""
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
    metrics = {k: float(v) for k, v in values.items()}
    tn, fp, fn, tp = (int(v) for v in m.confusion_matrix(y, pred, labels=[0, 1]).ravel())
    quality = _quality(metrics, ("auc", "accuracy", "precision", "recall", "f1"))
    quality["confusion_matrix"] = {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    return Scores(metrics, {
        "threshold": threshold,
        "confusion_matrix": {"tp": tp, "fp": fp, "tn": tn, "fn": fn},
        "rows": {"total": len(y), "positive": int(y.sum()), "negative": int(len(y) - y.sum())},
        "binary_classification_metrics": quality,
    })


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: over equal-width probability bins, the row-weighted gap
    between the mean predicted probability and the observed positive rate (0 = calibrated)."""
    which = np.minimum((p * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins)
    gap = np.abs(np.bincount(which, weights=p, minlength=bins)
                 - np.bincount(which, weights=y, minlength=bins))
    return float(gap.sum() / max(count.sum(), 1))


def score_regression(y: np.ndarray, p: np.ndarray) -> Scores:
    """Values against predictions: errors in the target's unit, and R^2 (1 - SSE / SST)."""
    from sklearn import metrics as m

    if len(np.unique(y)) < 2:
        raise JobError(f"the target of the {len(y)} test rows takes fewer than two values: R^2 "
                       "is undefined; evaluate on rows whose target varies")
    mse = float(m.mean_squared_error(y, p))
    metrics = {"rmse": float(np.sqrt(mse)), "mae": float(m.mean_absolute_error(y, p)),
               "r2": float(m.r2_score(y, p)), "mse": mse}
    return Scores(metrics, {
        "rows": {"total": len(y), "target_mean": float(y.mean()),
                 "target_std": float(y.std())},
        "regression_metrics": _quality(metrics, ("mae", "mse", "rmse", "r2")),
    })
