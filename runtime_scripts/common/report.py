"""report.html: one self-contained page (inline CSS, base64 PNG plots) from an evaluation.

The page is the same for every problem type: a card per metric, the quality gate, the type's own
tables and plots (`ReportParts`: report_classification.py, report_regression.py) and the feature
importance. Plots are drawn on bare `matplotlib.figure.Figure` objects (Agg rendering, no pyplot
global state) so nothing needs a display or a GUI backend.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from matplotlib.figure import Figure

from runtime_scripts.common.manifest import Wording

ACCENT, GREY = "#1f6feb", "#8b949e"
# Per metric: title, and what it says ({rows}, {positive_rows}: the manifest's `wording`).
METRIC_HELP = {
    "auc": ("ROC AUC", "chance that one of the {positive_rows} is ranked above one of the other "
                       "{rows} (0.5 = random)"),
    "pr_auc": ("PR AUC", "average precision over all thresholds; compare with the share of "
                         "{positive_rows}"),
    "accuracy": ("Accuracy", "share of all {rows} labelled correctly at the threshold"),
    "precision": ("Precision", "of the {rows} flagged, the share that are {positive_rows}"),
    "recall": ("Recall", "of the {positive_rows}, the share flagged"),
    "f1": ("F1", "harmonic mean of precision and recall"),
    "log_loss": ("Log loss", "quality of the probabilities themselves; lower is better"),
    "brier": ("Brier score", "mean squared gap between probability and outcome; lower is better"),
    "ece": ("Calibration error", "row-weighted gap between predicted and observed shares of "
                                 "{positive_rows} over 10 probability bins (ECE); lower is better"),
    "rmse": ("RMSE", "root mean squared error, in the target's unit; large misses weigh most"),
    "mae": ("MAE", "mean absolute error, in the target's unit: the typical miss"),
    "r2": ("R\u00b2", "share of the target's variance the model explains (1 = perfect, 0 = no "
                      "better than the mean)"),
}
ROWS_WORD = {"raw": "test", "encoded": "test", "predictions": "scored batch",
             "candidate": "test"}
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


def png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Any]:
    fig = Figure(figsize=(5.2, 4.2))
    ax = fig.add_subplot()
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def importance_plot(importance: Sequence[tuple[str, float]]) -> str:
    top = list(importance)[:20][::-1]
    fig = Figure(figsize=(5.2, max(2.5, 0.28 * len(top) + 1)))
    ax = fig.add_subplot()
    ax.barh([name for name, _ in top], [gain for _, gain in top], color=ACCENT)
    ax.set(title="Feature importance (average gain)", xlabel="Gain")
    ax.tick_params(axis="y", labelsize=8)
    return png(fig)


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


def rules_table(rules: dict[str, Any] | None) -> str:
    """The training rules' statuses (evaluation.json's training_rules); empty without them."""
    if not rules:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(s['RuleConfigurationName'])}</td>"
        f"<td>{html.escape(s['RuleEvaluationStatus'])}</td>"
        f"<td>{html.escape(s.get('StatusDetails', ''))}</td>"
        f"<td>{html.escape(s.get('source', ''))}</td></tr>"
        for s in [*rules["statuses"], *rules.get("profiler", [])])
    return (f"<h2>Training rules</h2><p>{html.escape(rules['summary'])}</p><table><tr>"
            f"<th>rule</th><th>status</th><th>details</th><th>judged by</th></tr>{rows}</table>")


@dataclass(frozen=True)
class ReportParts:
    """What one problem type adds to the page."""

    rows: str  # the test rows, said in the subtitle: "750 test rows (106 yes, 14.1%)"
    settings: str  # the subtitle's model settings beyond trees and features ("threshold 0.5")
    tables: str  # HTML sections after the quality gate
    plots: list[tuple[str, str]]  # (base64 PNG, caption), before the feature importance


def number(value: float) -> str:
    """A metric as a card shows it: three decimals, or whole units where those are large."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3f}"


def rows_word(evaluation: dict[str, Any]) -> str:
    return ROWS_WORD.get(evaluation["data"]["source"], "test")


def render(evaluation: dict[str, Any], importance: Sequence[tuple[str, float]],
           parts: ReportParts, wording: Wording) -> str:
    """The HTML page for one evaluation (the document written to evaluation.json)."""
    metrics, model = evaluation["metrics"], evaluation["model"]
    # An AutoML candidate is no booster of ours: no gains to plot, no trees to count.
    plots = [*parts.plots,
             *([(importance_plot(importance), "Encoded features that the trees gain most from.")]
               if importance else [])]
    cards = ""
    for key, value in metrics.items():
        title, text = METRIC_HELP.get(key, (key, ""))
        cards += (f'<div class="card"><small>{html.escape(title)}</small><b>{number(value)}</b>'
                  f"<small>{html.escape(text.format_map(asdict(wording)))}</small></div>")
    figures = "".join(
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        for data, caption in plots
    )
    subtitle = " &middot; ".join(filter(None, (
        parts.rows,
        (f"AutoML candidate {html.escape(str(model['candidate']))}" if model.get("candidate")
         else f"a linear model of {model['num_features']} encoded features"
         if model.get("booster") == "gblinear"
         else f"{model['num_boosted_rounds']} trees, {model['num_features']} encoded features"),
        parts.settings, html.escape(evaluation["generated_at"]))))
    target = html.escape(model["target"])
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Evaluation: {target} model</title><style>{CSS}</style>"
        f"</head><body><h1>Evaluation of the {target} model</h1>"
        f'<p class="sub">{subtitle}</p><div class="cards">{cards}</div>'
        f"{gate_table(evaluation['quality_gate'])}"
        f"{rules_table(evaluation.get('training_rules'))}"
        f"{parts.tables}<h2>Plots</h2><div class=\"plots\">{figures}</div>"
        f'<p class="sub">evaluation.json schema version {evaluation["schema_version"]}</p>'
        "</body></html>\n"
    )
