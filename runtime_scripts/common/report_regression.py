"""report.html's part for a regression: predicted against actual values, and the residuals
against the prediction and as a histogram (report.py draws the rest of the page)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from runtime_scripts.common.report import ACCENT, GREY, ReportParts, axes, number, png, rows_word

if TYPE_CHECKING:
    from runtime_scripts.common.manifest import Wording
    from runtime_scripts.common.tabular.task import Scores


def predicted_vs_actual_plot(y: np.ndarray, p: np.ndarray, target: str, r2: float) -> str:
    fig, ax = axes(f"Predicted against actual {target}", f"Actual {target}",
                   f"Predicted {target}")
    ax.scatter(y, p, s=8, alpha=0.5, color=ACCENT, label=f"test rows (R\u00b2 {r2:.3f})")
    low, high = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
    ax.plot([low, high], [low, high], ls="--", color=GREY, label="perfect prediction")
    ax.legend(loc="upper left")
    return png(fig)


def residual_plot(y: np.ndarray, p: np.ndarray, target: str) -> str:
    residual = y - p
    fig = Figure(figsize=(5.2, 4.6))
    ax, hist = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 2]})
    ax.set(title="Residuals (actual - predicted)", xlabel=f"Predicted {target}",
           ylabel="Residual")
    ax.scatter(p, residual, s=8, alpha=0.5, color=ACCENT)
    ax.axhline(0, ls="--", color=GREY)
    ax.grid(alpha=0.3)
    # The spread of the misses: a long tail on one side is a bias the mean errors hide.
    hist.hist(residual, bins=40, color=GREY)
    hist.set(xlabel="Residual", ylabel="Rows")
    hist.xaxis.set_major_locator(MaxNLocator(5))  # wide values: fewer ticks keep them apart
    fig.tight_layout()
    return png(fig)


def report_parts(evaluation: dict[str, Any], scores: Scores, y: np.ndarray, p: np.ndarray,
                 wording: Wording) -> ReportParts:
    target, rows = str(evaluation["model"]["target"]), evaluation["rows"]
    name = html.escape(target)
    return ReportParts(
        rows=(f"{rows['total']} {rows_word(evaluation)} rows (mean {name} "
              f"{number(rows['target_mean'])})"),
        settings="",
        tables="",
        plots=[
            (predicted_vs_actual_plot(y, p, target, scores.metrics["r2"]),
             f"Predicted against actual {target}: the closer to the diagonal, the better."),
            (residual_plot(y, p, target),
             "What the model misses by, over the predicted value: a funnel or a curve is "
             "structure the model has not learnt."),
        ],
    )
