"""report.html of a demand evaluation: metric cards, the quality gate, the table against every
baseline, the metric per backtest window, and forecast-against-actual plots of the largest
series (the shared report helpers: inline CSS, base64 PNGs)."""

from __future__ import annotations

import html

import pandas as pd
from matplotlib.figure import Figure

from runtime_scripts.common.report import ACCENT, CSS, GREY, gate_table, number, png
from runtime_scripts.use_cases.demand.metrics import METRICS, RELATIVE
from runtime_scripts.use_cases.demand.spec import ForecastSpec

LARGEST = 4
HELP = {"mase": "MAE over the in-sample seasonal naive's; < 1 beats it",
        "smape": "symmetric MAPE of p50 (0..2)", "wape": "absolute error per unit sold",
        "rmse": "root mean squared error, in units", "wql": "mean weighted quantile loss "
        "over p10/p50/p90", "coverage_p10_p90": "share of actuals inside p10..p90 (aim: 0.8)",
        "relative_mase": "MASE over the seasonal naive's", "relative_wape": "WAPE over the "
        "seasonal naive's"}
COLOURS = {"gbm": ACCENT, "ets": "#2da44e", "prophet": "#bf8700", "seasonal_naive": GREY}


def _table(models: dict[str, dict[str, float]], names=(*METRICS, *RELATIVE)) -> str:
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join(
        f"<tr><td>{html.escape(model)}</td>" + "".join(
            f'<td class="n">{values.get(n, float("nan")):.3f}</td>' for n in names) + "</tr>"
        for model, values in models.items())
    return f"<table><tr><th>model</th>{head}</tr>{body}</table>"


def _series_plot(rows: pd.DataFrame, history: pd.DataFrame, series: str, model: str) -> str:
    fig = Figure(figsize=(10, 3.2))
    ax = fig.add_subplot()
    recent = history[history["series"] == series].sort_values("timestamp").tail(120)
    ax.plot(recent["timestamp"], recent["y"], color="#1f2328", lw=1, label="actual")
    mine = rows[(rows["series"] == series) & (rows["model"] == model)].sort_values("timestamp")
    for _, window in mine.groupby("window"):
        ax.fill_between(window["timestamp"], window["p10"], window["p90"], color=ACCENT,
                        alpha=0.2, lw=0)
        ax.plot(window["timestamp"], window["p50"], color=ACCENT, lw=1.5)
    naive = rows[(rows["series"] == series) & (rows["model"] == "seasonal_naive")]
    for _, window in naive.groupby("window"):
        ax.plot(window["timestamp"], window["p50"], color=GREY, lw=1, ls="--")
    ax.set(title=f"{series}: {model} p50 and p10-p90 (blue), seasonal naive (dashed)")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return png(fig)


def _window_plot(document: dict) -> str:
    fig = Figure(figsize=(6, 3.6))
    ax = fig.add_subplot()
    windows = document["windows"]
    for model in windows[0]["models"]:
        ax.plot(pd.to_datetime([w["origin"] for w in windows][::-1]),
                [w["models"][model]["wape"] for w in windows][::-1], marker="o",
                color=COLOURS.get(model, ACCENT), label=model)
    ax.set(title="WAPE per backtest window (by origin)", ylabel="WAPE")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.autofmt_xdate()
    return png(fig)


def render(document: dict, rows: pd.DataFrame, spec: ForecastSpec) -> str:
    model = document["model"]["kind"]
    metrics = document["metrics"]
    cards = "".join(f'<div class="card"><small>{html.escape(name)}</small><b>{number(value)}'
                    f"</b><small>{html.escape(HELP.get(name, ''))}</small></div>"
                    for name, value in metrics.items())
    table = _table({model: metrics, **document["baselines"]})
    per_window = "".join(f"<h3>Window {w['window']}: origin {w['origin']}</h3>"
                         f"{_table(w['models'])}" for w in document["windows"])
    history = rows[rows["model"] == model][["series", "timestamp", "y"]]
    sizes = rows[rows["model"] == model].groupby("series")["y"].sum().nlargest(LARGEST)
    plots = [(_window_plot(document), "WAPE of every model per backtest window")]
    plots += [(_series_plot(rows, history, s, model), f"{s}: forecast against actual")
              for s in sizes.index]
    figures = "".join(f'<figure><img alt="{html.escape(c)}" src="data:image/png;base64,{d}">'
                      f"<figcaption>{html.escape(c)}</figcaption></figure>" for d, c in plots)
    seconds = ", ".join(f"{k} {v:.1f} s" for k, v in document["seconds"].items())
    subtitle = (f"{document['model']['series']} series &middot; {spec.frequency} &middot; "
                f"horizon {spec.horizon} &middot; {len(document['windows'])} backtest windows "
                f"&middot; wall time {html.escape(seconds)} &middot; {document['generated_at']}")
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>Forecast evaluation: {html.escape(spec.name)}</title><style>{CSS}</style>"
            f"</head><body><h1>Forecast evaluation of the {html.escape(model)} model on "
            f"{html.escape(spec.name)}</h1><p class=\"sub\">{subtitle}</p>"
            f'<div class="cards">{cards}</div>{gate_table(document["quality_gate"])}'
            f"<h2>Against every baseline (all windows)</h2>{table}"
            f"<h2>Per backtest window</h2>{per_window}"
            f'<h2>Plots</h2><div class="plots">{figures}</div></body></html>\n')
