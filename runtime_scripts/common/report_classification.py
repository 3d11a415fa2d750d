"""report.html's part for a binary classifier: the confusion matrix, and ROC, precision-recall,
confusion and calibration plots (report.py draws the rest of the page)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from runtime_scripts.common.report import ACCENT, GREY, ReportParts, axes, png, rows_word

if TYPE_CHECKING:
    from runtime_scripts.common.manifest import Wording
    from runtime_scripts.common.tabular.task import Scores


def roc_plot(y: np.ndarray, p: np.ndarray, auc: float) -> str:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    fig, ax = axes("ROC curve", "False positive rate", "True positive rate")
    ax.plot(fpr, tpr, color=ACCENT, lw=2, label=f"model (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], ls="--", color=GREY, label="random")
    ax.legend(loc="lower right")
    return png(fig)


def pr_plot(y: np.ndarray, p: np.ndarray, pr_auc: float) -> str:
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(y, p)
    fig, ax = axes("Precision-recall curve", "Recall", "Precision")
    ax.step(recall, precision, where="post", color=ACCENT, lw=2, label=f"model (AP {pr_auc:.3f})")
    ax.axhline(y.mean(), ls="--", color=GREY, label=f"base rate {y.mean():.3f}")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left")
    return png(fig)


def confusion_plot(cm: dict[str, int], names: tuple[str, str], threshold: float) -> str:
    grid = np.array([[cm["tn"], cm["fp"]], [cm["fn"], cm["tp"]]])
    fig, ax = axes(f"Confusion matrix at threshold {threshold:g}", "Predicted", "Actual")
    ax.grid(False)
    ax.imshow(grid, cmap="Blues")
    ax.set_xticks([0, 1], names)
    ax.set_yticks([0, 1], names)
    total = grid.sum()
    for (i, j), count in np.ndenumerate(grid):
        colour = "white" if count > grid.max() / 2 else "black"
        ax.text(j, i, f"{count}\n{count / total:.1%}", ha="center", va="center", color=colour)
    return png(fig)


def calibration_plot(y: np.ndarray, p: np.ndarray, metrics: dict[str, float],
                     wording: Wording) -> str:
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
    fig = Figure(figsize=(5.2, 4.6))
    ax, hist = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.set(title="Calibration (deciles of predicted probability)",
           ylabel=f"Observed share of {wording.positive_rows}")
    ax.plot([0, 1], [0, 1], ls="--", color=GREY, label="perfectly calibrated")
    ax.plot(predicted, observed, marker="o", color=ACCENT, lw=2,
            label=f"model (Brier {metrics['brier']:.4f}, ECE {metrics['ece']:.4f})")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    # Where the predictions fall: most rows sit near 0, which the curve alone does not show.
    hist.hist(p, bins=25, range=(0, 1), color=GREY)
    hist.set(xlabel="Predicted probability", ylabel="Rows", yscale="log")
    return png(fig)


def confusion_table(cm: dict[str, int], names: tuple[str, str]) -> str:
    neg, pos = (html.escape(n) for n in names)
    return (
        f"<h2>Confusion matrix</h2>"
        f"<table><tr><th></th><th>predicted {neg}</th><th>predicted {pos}</th></tr>"
        f'<tr><th>actual {neg}</th><td class="n">{cm["tn"]} (TN)</td>'
        f'<td class="n">{cm["fp"]} (FP)</td></tr>'
        f'<tr><th>actual {pos}</th><td class="n">{cm["fn"]} (FN)</td>'
        f'<td class="n">{cm["tp"]} (TP)</td></tr></table>'
    )


def report_parts(evaluation: dict[str, Any], scores: Scores, y: np.ndarray, p: np.ndarray,
                 wording: Wording) -> ReportParts:
    metrics, cm = scores.metrics, evaluation["confusion_matrix"]
    model, rows, threshold = evaluation["model"], evaluation["rows"], evaluation["threshold"]
    positive = str(model["positive_label"])
    names = (f"{model['target']} = {model['negative_label']}", f"{model['target']} = {positive}")
    return ReportParts(
        rows=(f"{rows['total']} {rows_word(evaluation)} rows ({rows['positive']} "
              f"{html.escape(positive)}, {rows['positive'] / rows['total']:.1%})"),
        settings=f"threshold {threshold:g}",
        tables=confusion_table(cm, names),
        plots=[
            (roc_plot(y, p, metrics["auc"]),
             f"How well the model ranks {wording.positive_rows} above the rest."),
            (pr_plot(y, p, metrics["pr_auc"]), "Precision against recall as the threshold moves."),
            (confusion_plot(cm, names, threshold), "Counts at the decision threshold."),
            (calibration_plot(y, p, metrics, wording),
             f"Do predicted probabilities match the observed shares of {wording.positive_rows}? "
             "An under-fit model bunches them near the base rate, below the diagonal at the top."),
        ],
    )
