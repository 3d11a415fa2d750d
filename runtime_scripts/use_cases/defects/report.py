"""report.html of the image classifier: metric cards, the quality gate, the ONNX variants
(accuracy, size, CPU latency), per-class precision/recall/F1, the confusion matrix, a
reliability plot and a gallery of the worst misclassified test images (thumbnails inline)."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np

from runtime_scripts.common.report import CSS, METRIC_HELP, axes, gate_table, number, png

GALLERY = 12
THUMBNAIL = 96
EXTRA_HELP = {
    "macro_f1": ("Macro F1", "F1 averaged over the classes, each weighing the same"),
    "macro_precision": ("Macro precision", "precision averaged over the classes"),
    "macro_recall": ("Macro recall", "recall averaged over the classes"),
    "served_accuracy_drop": ("Served accuracy drop", "fp32 accuracy minus the served "
                             "variant's; lower is better"),
    "served_size_ratio": ("Served size ratio", "the served variant's file size over fp32's"),
}


def thumbnail(image: np.ndarray) -> str:
    from PIL import Image

    array = image[:, :, 0] if image.shape[2] == 1 else image
    picture = Image.fromarray(array).resize((THUMBNAIL, THUMBNAIL), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def worst_misclassified(p: np.ndarray, y: np.ndarray, keys: list[str]) -> list[int]:
    """Misclassified test images, the most confidently wrong first."""
    wrong = np.flatnonzero(p.argmax(axis=1) != y)
    return [int(i) for i in wrong[np.argsort(-p[wrong].max(axis=1), kind="stable")]][:GALLERY]


def reliability_plot(bins: list[dict]) -> str:
    fig, ax = axes("Reliability (top-class confidence)", "Confidence", "Accuracy")
    ax.plot([0, 1], [0, 1], color="#8b949e", linestyle="--")
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o")
    return png(fig)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="n">{c}</td>' if i else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render(evaluation: dict[str, Any], images: np.ndarray, y: np.ndarray, p: np.ndarray,
           keys: list[str]) -> str:
    classes = evaluation["confusion_matrix"]["labels"]
    titles = {**METRIC_HELP, **EXTRA_HELP}
    cards = "".join(
        f'<div class="card"><small>{html.escape(titles.get(name, (name, ""))[0])}'
        f"</small><b>{number(value)}</b></div>"
        for name, value in evaluation["metrics"].items())
    variants = _table(["variant", "accuracy", "size (KB)", "CPU ms, batch 1", "CPU ms, batch 32"],
                      [[html.escape(v) + (" (served)" if v == evaluation["served_variant"] else ""),
                        f"{d['accuracy']:.4f}", f"{d['size_bytes'] / 1024:.0f}",
                        f"{d['latency_ms_batch_1']:.2f}", f"{d['latency_ms_batch_32']:.2f}"]
                       for v, d in evaluation["variants"].items()])
    per_class = _table(["class", "precision", "recall", "F1", "images"],
                       [[html.escape(c), f"{d['precision']:.3f}", f"{d['recall']:.3f}",
                         f"{d['f1']:.3f}", str(d["support"])]
                        for c, d in evaluation["per_class"].items()])
    matrix = evaluation["confusion_matrix"]["matrix"]
    confusion = _table(["true \\ predicted", *classes],
                       [[html.escape(c), *map(str, row)] for c, row in zip(classes, matrix,
                                                                         strict=True)])
    gallery = "".join(
        f'<figure><img src="data:image/png;base64,{thumbnail(images[i])}" '
        f'style="width:{THUMBNAIL}px"><figcaption>{html.escape(keys[i])}<br>true '
        f"{html.escape(classes[y[i]])}, predicted {html.escape(classes[int(p[i].argmax())])} "
        f"({p[i].max():.0%})</figcaption></figure>"
        for i in worst_misclassified(p, y, keys)) or "<p>none: every test image is right</p>"
    total = evaluation["rows"]["total"]
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Evaluation</title>"
            f"<style>{CSS}</style></head><body><h1>Image classification evaluation</h1>"
            f"<p class='sub'>{total} test images, {len(classes)} classes; served variant "
            f"{html.escape(evaluation['served_variant'])}</p><div class='cards'>{cards}</div>"
            f"{gate_table(evaluation['quality_gate'])}<h2>ONNX variants</h2>{variants}"
            f"<h2>Per class</h2>{per_class}<h2>Confusion matrix</h2>{confusion}"
            f"<h2>Calibration</h2><figure><img src='data:image/png;base64,"
            f"{reliability_plot(evaluation['calibration_bins'])}' style='max-width:480px'>"
            f"<figcaption>ECE {evaluation['metrics']['ece']:.3f}</figcaption></figure>"
            f"<h2>Worst misclassified</h2><div class='cards'>{gallery}</div></body></html>")
