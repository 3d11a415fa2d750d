"""report.html: one self-contained page (inline CSS, base64 PNG plots) from an evaluation.

Plots are drawn on bare `matplotlib.figure.Figure` objects (Agg rendering, no pyplot global state)
so nothing needs a display or a GUI backend.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

ACCENT, GREY = "#1f6feb", "#8b949e"
METRIC_HELP = {
    "auc": ("ROC AUC", "chance a churner is ranked above a non-churner (0.5 = random)"),
    "pr_auc": ("PR AUC", "average precision over all thresholds; compare with the churn rate"),
    "accuracy": ("Accuracy", "share of all customers labelled correctly at the threshold"),
    "precision": ("Precision", "of the customers flagged, the share that did churn"),
    "recall": ("Recall", "of the customers who churned, the share flagged"),
    "f1": ("F1", "harmonic mean of precision and recall"),
    "log_loss": ("Log loss", "quality of the probabilities themselves; lower is better"),
    "brier": ("Brier score", "mean squared gap between probability and outcome; lower is better"),
    "ece": ("Calibration error", "row-weighted gap between predicted and observed churn rates "
                                 "over 10 probability bins (ECE); lower is better"),
}
ROWS_WORD = {"raw": "test", "encoded": "test", "predictions": "scored batch"}
CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:24px;color:#1f2328}
h1{margin:0 0 4px}.sub{color:#57606a;margin:0 0 24px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px}
.card{border:1px solid #d0d7de;border-radius:8px;padding:12px}
.card b{display:block;font-size:26px}.card small{color:#57606a}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #d0d7de;padding:6px 12px}
th{background:#f6f8fa;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:16px}
figure{margin:0;border:1px solid #d0d7de;border-radius:8px;padding:8px}
figure img{width:100%}figcaption{color:#57606a;font-size:13px}
"""


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Any]:
    fig = Figure(figsize=(5.2, 4.2))
    ax = fig.add_subplot()
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def roc_plot(y: np.ndarray, p: np.ndarray, auc: float) -> str:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    fig, ax = _axes("ROC curve", "False positive rate", "True positive rate")
    ax.plot(fpr, tpr, color=ACCENT, lw=2, label=f"model (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], ls="--", color=GREY, label="random")
    ax.legend(loc="lower right")
    return _png(fig)


def pr_plot(y: np.ndarray, p: np.ndarray, pr_auc: float) -> str:
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(y, p)
    fig, ax = _axes("Precision-recall curve", "Recall", "Precision")
    ax.step(recall, precision, where="post", color=ACCENT, lw=2, label=f"model (AP {pr_auc:.3f})")
    ax.axhline(y.mean(), ls="--", color=GREY, label=f"churn rate {y.mean():.3f}")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left")
    return _png(fig)


def confusion_plot(cm: dict[str, int], names: tuple[str, str], threshold: float) -> str:
    grid = np.array([[cm["tn"], cm["fp"]], [cm["fn"], cm["tp"]]])
    fig, ax = _axes(f"Confusion matrix at threshold {threshold:g}", "Predicted", "Actual")
    ax.grid(False)
    ax.imshow(grid, cmap="Blues")
    ax.set_xticks([0, 1], names)
    ax.set_yticks([0, 1], names)
    total = grid.sum()
    for (i, j), count in np.ndenumerate(grid):
        colour = "white" if count > grid.max() / 2 else "black"
        ax.text(j, i, f"{count}\n{count / total:.1%}", ha="center", va="center", color=colour)
    return _png(fig)


def calibration_plot(y: np.ndarray, p: np.ndarray, metrics: dict[str, float]) -> str:
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
    fig = Figure(figsize=(5.2, 4.6))
    ax, hist = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.set(title="Calibration (deciles of predicted probability)", ylabel="Observed churn rate")
    ax.plot([0, 1], [0, 1], ls="--", color=GREY, label="perfectly calibrated")
    ax.plot(predicted, observed, marker="o", color=ACCENT, lw=2,
            label=f"model (Brier {metrics['brier']:.4f}, ECE {metrics['ece']:.4f})")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    # Where the predictions fall: most rows sit near 0, which the curve alone does not show.
    hist.hist(p, bins=25, range=(0, 1), color=GREY)
    hist.set(xlabel="Predicted probability", ylabel="Rows", yscale="log")
    return _png(fig)


def importance_plot(importance: Sequence[tuple[str, float]]) -> str:
    top = list(importance)[:20][::-1]
    fig = Figure(figsize=(5.2, max(2.5, 0.28 * len(top) + 1)))
    ax = fig.add_subplot()
    ax.barh([name for name, _ in top], [gain for _, gain in top], color=ACCENT)
    ax.set(title="Feature importance (average gain)", xlabel="Gain")
    ax.tick_params(axis="y", labelsize=8)
    return _png(fig)


def gate_table(gate: dict[str, Any]) -> str:
    """Every quality gate condition with the value it saw; empty when none was asked for."""
    if not gate["conditions"]:
        return ""
    verdict = "passed: the model may be registered" if gate["passed"] else \
        f"failed: {html.escape(gate['failed'])}"
    rows = "".join(
        f"<tr><td>{html.escape(c['metric'])} {html.escape(c['comparison'])} {c['threshold']:g}"
        f'</td><td class="n">{c["value"]:.4f}</td><td>{"pass" if c["passed"] else "FAIL"}'
        "</td></tr>" for c in gate["conditions"])
    return (f"<h2>Quality gate</h2><p>{verdict}</p><table><tr><th>condition</th><th>value</th>"
            f"<th></th></tr>{rows}</table>")


def render(evaluation: dict[str, Any], y: np.ndarray, p: np.ndarray,
           importance: Sequence[tuple[str, float]]) -> str:
    """The HTML page for one evaluation (the document written to evaluation.json)."""
    metrics, cm = evaluation["metrics"], evaluation["confusion_matrix"]
    model, rows = evaluation["model"], evaluation["rows"]
    threshold, positive = evaluation["threshold"], str(model["positive_label"])
    names = (f"{model['target']} = {model['negative_label']}", f"{model['target']} = {positive}")
    plots = [
        (roc_plot(y, p, metrics["auc"]), "How well the model ranks churners above the rest."),
        (pr_plot(y, p, metrics["pr_auc"]), "Precision against recall as the threshold moves."),
        (confusion_plot(cm, names, threshold), "Counts at the decision threshold."),
        (calibration_plot(y, p, metrics),
         "Do predicted probabilities match observed churn rates? An under-fit model bunches "
         "them near the base rate, below the diagonal at the top."),
        (importance_plot(importance), "Encoded features that the trees gain most from."),
    ]
    cards = "".join(
        f'<div class="card"><small>{html.escape(title)}</small><b>{metrics[key]:.3f}</b>'
        f"<small>{html.escape(text)}</small></div>"
        for key, (title, text) in METRIC_HELP.items()
    )
    figures = "".join(
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        for data, caption in plots
    )
    neg, pos = (html.escape(n) for n in names)
    cm_table = (
        f"<table><tr><th></th><th>predicted {neg}</th><th>predicted {pos}</th></tr>"
        f'<tr><th>actual {neg}</th><td class="n">{cm["tn"]} (TN)</td>'
        f'<td class="n">{cm["fp"]} (FP)</td></tr>'
        f'<tr><th>actual {pos}</th><td class="n">{cm["fn"]} (FN)</td>'
        f'<td class="n">{cm["tp"]} (TP)</td></tr></table>'
    )
    word = ROWS_WORD.get(evaluation["data"]["source"], "test")
    subtitle = (
        f"{rows['total']} {word} rows ({rows['positive']} {html.escape(positive)}, "
        f"{rows['positive'] / rows['total']:.1%}) &middot; {model['num_boosted_rounds']} trees, "
        f"{model['num_features']} encoded features &middot; threshold {threshold:g} &middot; "
        f"{html.escape(evaluation['generated_at'])}"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Evaluation: {html.escape(model['target'])} model</title><style>{CSS}</style>"
        f"</head><body><h1>Evaluation of the {html.escape(model['target'])} model</h1>"
        f'<p class="sub">{subtitle}</p><div class="cards">{cards}</div>'
        f"{gate_table(evaluation['quality_gate'])}"
        f"<h2>Confusion matrix</h2>{cm_table}<h2>Plots</h2><div class=\"plots\">{figures}</div>"
        f'<p class="sub">evaluation.json schema version {evaluation["schema_version"]}</p>'
        "</body></html>\n"
    )
