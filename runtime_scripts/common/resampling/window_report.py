"""backtest_report.html: the backtest on one page, drawn with report.py's helpers.

Cards for each metric's mean over the windows (with the baseline's), the quality gate, a table
per window, each metric over the windows' cutoffs beside the baseline (does the model hold up
on later data?), and each metric by the periods since the cutoff (does it degrade as it ages?).
"""

from __future__ import annotations

import html
from typing import Any

from runtime_scripts.common.manifest import UseCaseManifest
from runtime_scripts.common.report import (
    ACCENT,
    CSS,
    GREY,
    METRIC_HELP,
    axes,
    gate_table,
    number,
    png,
)


def _title(metric: str) -> str:
    return METRIC_HELP.get(metric, (metric, ""))[0]


def over_time_plot(document: dict[str, Any], metric: str) -> str:
    windows = document["windows"]
    cutoffs = [w["cutoff"] for w in windows]
    fig, ax = axes(f"{_title(metric)} by window", "Cutoff (first evaluated period)",
                   _title(metric))
    ax.plot(cutoffs, [w["metrics"][metric] for w in windows], marker="o", color=ACCENT,
            label="model")
    if document["baseline"]:
        ax.plot(cutoffs, [w["baseline"][metric] for w in windows], marker="s", ls="--",
                color=GREY, label=f"baseline: {document['baseline']['name']}")
    ax.legend(loc="best")
    ax.tick_params(axis="x", labelrotation=45)
    return png(fig)


def by_age_plot(document: dict[str, Any], metric: str) -> str:
    scored = [a for a in document["by_age"] if a["metrics"] is not None]
    fig, ax = axes(f"{_title(metric)} by age of the model",
                   f"{document['unit'].capitalize()}s since the cutoff", _title(metric))
    ax.plot([a["age"] for a in scored], [a["metrics"][metric] for a in scored], marker="o",
            color=ACCENT, label="all windows' rows of that age")
    ax.legend(loc="best")
    return png(fig)


def _cards(document: dict[str, Any]) -> str:
    cards = ""
    for name, item in document["summary"].items():
        base = (f"baseline {number(item['baseline_mean'])}; beaten in "
                f"{item['windows_beating_baseline']} of {len(document['windows'])} windows"
                if "baseline_mean" in item else "no baseline declared")
        cards += (f'<div class="card"><small>{html.escape(_title(name))}, mean of '
                  f"{len(document['windows'])} windows</small><b>{number(item['mean'])}</b>"
                  f"<small>&plusmn; {number(item['std'])} (min {number(item['min'])}, max "
                  f"{number(item['max'])}); {html.escape(base)}</small></div>")
    return f'<div class="cards">{cards}</div>'


def _window_table(document: dict[str, Any], metrics: list[str]) -> str:
    head = "".join(f"<th>{html.escape(_title(m))}</th>" for m in metrics)
    with_base = document["baseline"] is not None
    base_head = "".join(f"<th>baseline {html.escape(_title(m))}</th>" for m in metrics) \
        if with_base else ""
    rows = ""
    for w in document["windows"]:
        cells = "".join(f'<td class="n">{number(w["metrics"][m])}</td>' for m in metrics)
        if with_base:
            cells += "".join(f'<td class="n">{number(w["baseline"][m])}</td>' for m in metrics)
        rows += (f"<tr><td>{w['index']}</td><td>{w['train_first']} .. {w['train_last']}</td>"
                 f"<td>{w['cutoff']} .. {w['evaluate_last']}</td>"
                 f'<td class="n">{w["rows"]["train"]}</td><td class="n">{w["rows"]["evaluate"]}'
                 f"</td>{cells}</tr>")
    return (f"<h2>Windows</h2><table><tr><th>window</th><th>trained on</th><th>evaluated on"
            f"</th><th>train rows</th><th>evaluated rows</th>{head}{base_head}</tr>{rows}"
            "</table>")


def render(document: dict[str, Any], manifest: UseCaseManifest) -> str:
    metrics = list(document["summary"])  # those every window's evaluation reported
    request, data = document["request"], document["data"]
    figures = [(over_time_plot(document, m), f"{_title(m)} of each window's model on the "
                "periods after its cutoff") for m in metrics]
    # By age only where the platform scored the rows (scored_by 'platform').
    figures += [(by_age_plot(document, m), f"{_title(m)} of every window's rows by how many "
                 f"{document['unit']}s after the cutoff they happened")
                for m in metrics if document["by_age"]]
    plots = "".join(
        f'<figure><img alt="{html.escape(c)}" src="data:image/png;base64,{d}">'
        f"<figcaption>{html.escape(c)}</figcaption></figure>" for d, c in figures)
    sliding = (f"sliding training window of {request['training_periods']} {document['unit']}s"
               if request["training_window"] == "sliding" else "expanding training window")
    subtitle = " &middot; ".join((
        f"{request['windows']} windows of {request['horizon']} {document['unit']}s, "
        f"{request['step']} apart, gap {request['gap']}, {sliding}",
        f"data {data['first']} .. {data['last']}, {data['rows']} rows",
        html.escape(document["generated_at"])))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Backtest: {html.escape(manifest.name)}</title><style>{CSS}</style></head>"
        f"<body><h1>Backtest of {html.escape(manifest.name)}</h1>"
        f'<p class="sub">{subtitle}</p>{_cards(document)}'
        f"{gate_table(document['quality_gate'])}{_window_table(document, metrics)}"
        f'<h2>Plots</h2><div class="plots">{plots}</div>'
        f'<p class="sub">backtest.json schema version {document["schema_version"]}</p>'
        "</body></html>\n")
