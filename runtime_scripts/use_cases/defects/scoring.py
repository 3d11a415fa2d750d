"""Classification numbers from probabilities: accuracy, per-class precision/recall/F1, the
confusion matrix, log loss and calibration (expected calibration error over confidence bins)."""

from __future__ import annotations

import numpy as np

CALIBRATION_BINS = 10


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def confusion(y: np.ndarray, predicted: np.ndarray, n: int) -> np.ndarray:
    """matrix[true][predicted] counts."""
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (y, predicted), 1)
    return matrix


def calibration(y: np.ndarray, p: np.ndarray) -> tuple[float, list[dict]]:
    """ECE: the image-weighted gap between confidence (the top probability) and accuracy, over
    equal-width confidence bins; and the bins, for the reliability plot."""
    confidence, predicted = p.max(axis=1), p.argmax(axis=1)
    edges = np.linspace(0, 1, CALIBRATION_BINS + 1)
    bins, ece = [], 0.0
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence > low) & (confidence <= high)
        if not inside.any():
            continue
        accuracy = float((predicted[inside] == y[inside]).mean())
        mean_confidence = float(confidence[inside].mean())
        ece += inside.mean() * abs(accuracy - mean_confidence)
        bins.append({"low": float(low), "high": float(high), "count": int(inside.sum()),
                     "confidence": mean_confidence, "accuracy": accuracy})
    return float(ece), bins


def classification(y: np.ndarray, p: np.ndarray, classes: list[str]) -> dict:
    n = len(classes)
    predicted = p.argmax(axis=1)
    matrix = confusion(y, predicted, n)
    per_class = {}
    for i, name in enumerate(classes):
        tp = int(matrix[i, i])
        predicted_i, actual_i = int(matrix[:, i].sum()), int(matrix[i, :].sum())
        precision = tp / predicted_i if predicted_i else 0.0
        recall = tp / actual_i if actual_i else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1,
                           "support": actual_i}
    ece, bins = calibration(y, p)
    chosen = np.clip(p[np.arange(len(y)), y], 1e-12, 1.0)
    metrics = {
        "accuracy": float((predicted == y).mean()),
        "macro_f1": float(np.mean([c["f1"] for c in per_class.values()])),
        "macro_precision": float(np.mean([c["precision"] for c in per_class.values()])),
        "macro_recall": float(np.mean([c["recall"] for c in per_class.values()])),
        "log_loss": float(-np.log(chosen).mean()),
        "ece": ece,
    }
    return {"metrics": metrics, "per_class": per_class,
            "confusion_matrix": {"labels": classes, "matrix": matrix.tolist()},
            "calibration_bins": bins, "predicted": predicted}
