"""cv_report.html: the cross-validated metrics on one self-contained page, with the report
helpers of the evaluation page (common/report.py): a card per metric (mean ± std), the gate,
the statistics, the per-fold table and a per-fold plot of each metric."""

from __future__ import annotations

import html
from dataclasses import asdict

from runtime_scripts.common import report
from runtime_scripts.common.manifest import UseCaseManifest


def fold_plot(name: str, document: dict) -> str:
    stats = document["metrics"][name]
    folds = [e["fold"] for e in document["per_fold"]]
    values = [e["metrics"][name] for e in document["per_fold"]]
    fig, ax = report.axes(f"{report.METRIC_HELP.get(name, (name,))[0]} per fold", "fold", name)
    ax.axhspan(stats["ci95_low"], stats["ci95_high"], color=report.ACCENT, alpha=0.12,
               label="95% interval of the mean")
    ax.axhline(stats["mean"], color=report.ACCENT, label=f"mean {report.number(stats['mean'])}")
    ax.plot(folds, values, "o", color="#1f2328", label="fold")
    ax.set_xticks(folds)
    ax.legend(loc="best", fontsize=8)
    return report.png(fig)


def render(document: dict, manifest: UseCaseManifest) -> str:
    wording = asdict(manifest.wording)
    cards, rows = "", ""
    for name, s in document["metrics"].items():
        title, text = report.METRIC_HELP.get(name, (name, ""))
        cards += (f'<div class="card"><small>{html.escape(title)}</small>'
                  f"<b>{report.number(s['mean'])}</b><small>± {report.number(s['std'])} over "
                  f"{s['folds']} folds; {html.escape(text.format_map(wording))}</small></div>")
        rows += (f"<tr><td>{html.escape(name)}</td>" + "".join(
            f'<td class="n">{report.number(s[k])}</td>'
            for k in ("mean", "std", "min", "max", "ci95_low", "ci95_high")) + "</tr>")
    names = list(document["metrics"])
    fold_rows = "".join(
        f"<tr><td>{e['fold']}</td><td class=\"n\">{e['holdout_rows']}</td>" + "".join(
            f'<td class="n">{report.number(e["metrics"][n])}</td>' for n in names) + "</tr>"
        for e in document["per_fold"])
    failed = document["failed_folds"]
    figures = "".join(
        f'<figure><img alt="{html.escape(name)} per fold" src="data:image/png;base64,'
        f'{fold_plot(name, document)}"><figcaption>{html.escape(name)} of each fold, its mean '
        "and the 95% interval of the mean</figcaption></figure>" for name in names)
    subtitle = (f"{document['folds_evaluated']} of {document['folds_requested']} folds evaluated"
                + (f" (failed: {', '.join(map(str, failed))})" if failed else "")
                + f" &middot; {html.escape(document['generated_at'])}")
    head = "".join(f"<th>{h}</th>" for h in ("metric", "mean", "std", "min", "max",
                                             "95% low", "95% high"))
    fold_head = "<th>fold</th><th>held-out rows</th>" + "".join(
        f"<th>{html.escape(n)}</th>" for n in names)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Cross-validation: {html.escape(manifest.name)}</title>"
        f"<style>{report.CSS}</style></head><body>"
        f"<h1>Cross-validation of {html.escape(manifest.name)}</h1>"
        f'<p class="sub">{subtitle}</p><div class="cards">{cards}</div>'
        f"{report.gate_table(document['quality_gate'])}"
        f"<h2>Statistics over the folds</h2><table><tr>{head}</tr>{rows}</table>"
        f"<h2>Per fold</h2><table><tr>{fold_head}</tr>{fold_rows}</table>"
        f'<h2>Plots</h2><div class="plots">{figures}</div></body></html>\n'
    )
