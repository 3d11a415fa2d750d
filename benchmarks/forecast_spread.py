"""How much of a backtest's WAPE spread over its windows is the sales' own noise? The WAPE std
over the windows of an oracle that knows each series' true daily mean (it forecasts the Poisson
median of it), on series selling at the bundled sample's rates: what a spread bound on `wape`
(the backtest gate's `wape:std`) must leave room for before it says anything about a model.

Run: python -m benchmarks.forecast_spread [--series NAME ...] [--days 14] [--windows 3]
         [--since 2015-10-01] [--draws 4000] [--models seasonal_naive ets] [--use-case demand]
Prints the mean WAPE, the expected std over the windows, its 90th percentile and how often it is
over 0.1. Every series of the sample by default; its rates are the mean sales per day since
`--since`. A few seconds: no model is fitted. `--models` adds those models' WAPE per window of
the use case's own backtest (backtest.py: windows back from the data's end) and its std, on the
same series (all the sample's history): the spread the real calendar adds (about 20 s per
model and window on every series; the global model is not offered, the benchmark
`benchmarks.forecasting` scores it).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

SPREAD_BOUND = 0.1  # the demand manifest's backtest bound on the wape std, for the last column


def rates(sales: pd.DataFrame, series: list[str] | None, since: str) -> np.ndarray:
    """Mean pizzas per day of each series (one row per pizza sold; days without one count 0)."""
    counts = sales[sales["date"] >= since].groupby(["name", "date"]).size().unstack(fill_value=0)
    if series:
        counts = counts.loc[series]
    return counts.mean(axis=1).to_numpy()


def oracle_spread(daily: np.ndarray, days: int, windows: int, draws: int,
                  seed: int = 0) -> dict[str, float]:
    from scipy.stats import poisson

    rng = np.random.default_rng(seed)
    forecast = poisson.median(daily)[:, None, None]
    sold = rng.poisson(daily[:, None, None, None], (len(daily), draws, windows, days))
    sold = sold.transpose(1, 0, 2, 3)  # draw, series, window, day
    wape = np.abs(sold - forecast).sum(axis=(1, 3)) / np.maximum(sold.sum(axis=(1, 3)), 1)
    spread = wape.std(axis=1, ddof=1)
    return {"wape": float(wape.mean()), "std": float(spread.mean()),
            "std_p90": float(np.quantile(spread, 0.9)),
            "over_bound": float((spread > SPREAD_BOUND).mean())}


def model_spread(sales: pd.DataFrame, manifest, series: list[str] | None, days: int,
                 windows: int, models: list[str]) -> dict[str, list[float]]:
    """Each model's WAPE per window of the use case's backtest, the latest window first."""
    import json

    from runtime_scripts.use_cases.demand import backtest
    from runtime_scripts.use_cases.demand.metrics import score
    from runtime_scripts.use_cases.demand.series import build_panel
    from runtime_scripts.use_cases.demand.spec import ForecastSpec

    spec = ForecastSpec.from_json({**json.loads(manifest.path(manifest.dataset_spec)
                                                .read_text()), "horizon": days})
    chosen = sales if not series else sales[sales["name"].isin(series)]
    result = backtest.run(build_panel(chosen, spec).frame, spec, models[0], windows,
                          baselines=tuple(models[1:]))
    return {name: [score(w)["wape"] for _, w in group.groupby("window")]
            for name, group in result.rows.groupby("model", sort=False)}


def main(argv: list[str] | None = None) -> int:
    from runtime_scripts.common.manifest import load_manifest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", nargs="*", help="series names (default: all of them)")
    parser.add_argument("--days", type=int, default=14, help="periods per window")
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--since", default="2015-10-01")
    parser.add_argument("--draws", type=int, default=4000)
    parser.add_argument("--models", nargs="*", default=[],
                        choices=["seasonal_naive", "ets", "prophet"])
    parser.add_argument("--use-case", default="demand")
    args = parser.parse_args(argv)
    manifest = load_manifest(args.use_case)
    sales = pd.read_csv(manifest.path(manifest.sample_data))
    daily = rates(sales, args.series, args.since)
    found = oracle_spread(daily, args.days, args.windows, args.draws)
    print(f"{len(daily)} series ({daily.min():.1f} to {daily.max():.1f} a day), {args.windows} "
          f"windows of {args.days} days, {args.draws} draws: oracle WAPE {found['wape']:.3f}, "
          f"WAPE std over the windows {found['std']:.3f} (p90 {found['std_p90']:.3f}), over "
          f"{SPREAD_BOUND} in {found['over_bound']:.1%} of draws")
    if args.models:
        for name, wape in model_spread(sales, manifest, args.series, args.days, args.windows,
                                       args.models).items():
            print(f"{name}: WAPE per window (latest first) "
                  f"{', '.join(f'{v:.3f}' for v in wape)}, std {np.std(wape, ddof=1):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
