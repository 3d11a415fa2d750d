"""The global model's features: one row per (series, forecast origin, lead time h).

The model is *direct*: every row describes the data known at an origin t and asks for y at t+h,
with h itself a feature. One model covers the whole horizon, its quantiles are learnt for each
lead time (a recursive model fed its own medians would understate the spread of later steps),
and no error compounds step after step.

Scale: a global model sees pizzas that sell 1 a day beside ones that sell 7, so every level
feature and the target are divided by the series' mean over the last `scale_window` periods at
the origin; forecasts are multiplied back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from runtime_scripts.use_cases.demand.spec import ForecastSpec

# Calendar features of the target period; the yearly ones only where the data spans two years
# (with one year, "December" is one month of data: the trees would learn its noise).
CALENDAR = {"D": ("dayofweek",), "MS": ()}
YEARLY = {"D": ("month", "dayofyear"), "MS": ("month",)}
WEEKLY_CALENDAR, WEEKLY_YEARLY = (), ("weekofyear", "month")
PERIODS_PER_YEAR = {"D": 365, "MS": 12}
# Smoothing weights of the recency-weighted features (as simple exponential smoothing's alpha):
# a slow and a fast level, and the same period of past seasons.
LEVEL_ALPHAS = (0.05, 0.2)
MIN_CLOSURE_SERIES = 5
SEASONAL_ALPHA = 0.2


@dataclass(frozen=True)
class FeatureConfig:
    lags: tuple[int, ...]  # 0 = the origin's own value
    windows: tuple[int, ...]  # rolling means over these many periods up to the origin
    horizon: int
    season: int
    frequency: str
    covariates: tuple[str, ...]
    static: tuple[str, ...]
    holidays: str | None
    yearly: bool = False
    scale_window: int = 28
    profile_seasons: int = 0  # > 0: seasonal profiles over this many seasons (series, total)
    aggregate: bool = False  # the panel's total: its recent trend and profile
    smoothed: bool = False  # exponentially smoothed level and seasonal values (recency-weighted)
    closures: bool = False  # periods in which no series sells are unknown, not demand (below)

    @classmethod
    def of(cls, spec: ForecastSpec, lags: tuple[int, ...], windows: tuple[int, ...],
           periods: int = 0, profile_seasons: int = 0, aggregate: bool = False,
           smoothed: bool = False, closures: bool = False):
        yearly = periods >= 2 * PERIODS_PER_YEAR.get(spec.frequency, 52)
        return cls(lags, windows, spec.horizon, spec.season, spec.frequency,
                   tuple(spec.covariates), spec.static, spec.holidays, yearly,
                   max(spec.season * 4, 4), profile_seasons, aggregate, smoothed, closures)

    @property
    def calendar(self) -> tuple[str, ...]:
        daily = CALENDAR.get(self.frequency, WEEKLY_CALENDAR)
        return daily + (YEARLY.get(self.frequency, WEEKLY_YEARLY) if self.yearly else ())

    def names(self, categories: dict[str, list[str]]) -> list[str]:
        calendar = self.calendar
        return [*(f"lag_{lag}" for lag in self.lags), *(f"mean_{w}" for w in self.windows),
                "std_scale", "same_season_last", "same_season_mean",
                *(["season_profile"] if self.profile_seasons else []),
                *(["total_trend", "total_last", "total_profile"] if self.aggregate else []),
                *([*(f"level_{a}" for a in LEVEL_ALPHAS), "seasonal_smoothed"]
                  if self.smoothed else []),
                "log_scale", "h",
                *calendar, *(["holiday", "holiday_near"] if self.holidays else []),
                *self.covariates, *(f"{c}_ratio" for c in self.covariates),
                "series_code", *(f"{c}_code" for c in self.static)]


@dataclass
class Wide:
    """The panel as matrices on one shared grid: rows are series, columns periods."""

    series: list[str]
    index: pd.DatetimeIndex
    y: np.ndarray  # [series, periods], NaN before a series' start or where unknown
    covariates: dict[str, np.ndarray]
    static: dict[str, np.ndarray]  # per series, the attribute's text

    @classmethod
    def of(cls, frame: pd.DataFrame, spec: ForecastSpec, extend: int = 0) -> Wide:
        """`frame` (a panel) on its grid, extended by `extend` periods for the future."""
        index = pd.date_range(frame["timestamp"].min(), frame["timestamp"].max(),
                              freq=spec.frequency)
        if extend:
            index = index.append(pd.date_range(index[-1], periods=extend + 1,
                                               freq=spec.frequency)[1:])
        series = sorted(frame["series"].unique())

        def matrix(column: str) -> np.ndarray:
            wide = frame.pivot(index="series", columns="timestamp", values=column)
            return wide.reindex(index=series, columns=index).to_numpy(dtype=float)

        static = {c: frame.groupby("series")[c].first().reindex(series).to_numpy(dtype=str)
                  for c in spec.static}
        return cls(series, index, matrix("y"), {c: matrix(c) for c in spec.covariates}, static)


def _rolling_mean(y: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` known values up to and including each column (NaN-aware)."""
    known = ~np.isnan(y)
    sums = np.cumsum(np.where(known, y, 0.0), axis=1)
    counts = np.cumsum(known, axis=1)
    pad = np.zeros((y.shape[0], window))
    sums = np.concatenate([pad, sums], axis=1)
    counts = np.concatenate([pad, counts], axis=1)
    total = sums[:, window:] - sums[:, :-window]
    n = counts[:, window:] - counts[:, :-window]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _shift(matrix: np.ndarray, columns: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """matrix[rows, columns], NaN where a column falls before the grid."""
    valid = columns >= 0
    out = np.full(columns.shape, np.nan)
    out[valid] = matrix[rows[valid], columns[valid]]
    return out


def holiday_dates(country: str | None, index: pd.DatetimeIndex) -> set:
    if not country:
        return set()
    import holidays

    years = range(index.min().year - 1, index.max().year + 2)
    return set(holidays.country_holidays(country, years=years))


def calendar_features(dates: pd.DatetimeIndex, config: FeatureConfig) -> dict[str, np.ndarray]:
    out = {}
    for name in config.calendar:
        attribute = "day_of_week" if name == "dayofweek" else name
        out[name] = (dates.isocalendar().week.to_numpy(dtype=float) if name == "weekofyear"
                     else getattr(dates, attribute).to_numpy(dtype=float))
    if config.holidays:
        days = holiday_dates(config.holidays, dates)
        span = {"D": 1, "MS": 31}.get(config.frequency, 7)

        def count(offsets) -> np.ndarray:
            return np.array([sum((d + pd.Timedelta(days=o)).date() in days for o in offsets)
                             for d in dates], dtype=float)

        out["holiday"] = count(range(span))
        out["holiday_near"] = count([-1, span])
    return out


def build_rows(wide: Wide, config: FeatureConfig, origins: np.ndarray,
               categories: dict[str, list[str]], with_target: bool = True,
               horizon: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                     np.ndarray]:
    """Features for every series at each origin column in `origins` and each h in 1..horizon
    whose target column lies on the grid; returns (X, y/scale or NaN, scale, rows as
    [series, origin, h])."""
    horizon = horizon or config.horizon
    n_series, n_periods = wide.y.shape
    s, o, h = np.meshgrid(np.arange(n_series), origins, np.arange(1, horizon + 1),
                          indexing="ij")
    s, o, h = s.ravel(), o.ravel(), h.ravel()
    target_col = o + h
    keep = target_col < n_periods
    s, o, h, target_col = s[keep], o[keep], h[keep], target_col[keep]
    y = open_periods(wide.y) if config.closures else wide.y
    scale = _rolling_mean(y, config.scale_window)[s, o]
    scale = np.where(np.isnan(scale) | (scale < 1e-3), 1.0, scale)
    columns = [_shift(y, o - lag, s) / scale for lag in config.lags]
    columns += [_rolling_mean(y, w)[s, o] / scale for w in config.windows]
    std = pd.DataFrame(y.T).rolling(config.scale_window, min_periods=2).std().to_numpy().T
    columns.append(std[s, o] / scale)
    m = config.season
    back = m * np.ceil(h / m).astype(int)
    columns.append(_shift(y, target_col - back, s) / scale)
    same = np.stack([_shift(y, target_col - back - m * j, s) for j in range(4)])
    counts = (~np.isnan(same)).sum(axis=0)
    sums = np.nansum(same, axis=0)
    columns.append(np.where(counts > 0, sums / np.maximum(counts, 1), np.nan) / scale)
    if config.profile_seasons:
        columns.append(_profile(y, target_col, back, o, s, m, config.profile_seasons))
    if config.aggregate:
        columns += _aggregate(y, config, target_col, back, o)
    if config.smoothed:
        columns += [_smoothed(y, alpha)[s, o] / scale for alpha in LEVEL_ALPHAS]
        columns.append(_shift(_seasonal_smoothed(y, m), target_col - back, s) / scale)
    columns += [np.log1p(scale), h.astype(float)]
    calendar = calendar_features(wide.index, config)
    columns += [values[target_col] for values in calendar.values()]
    for name in config.covariates:
        future = wide.covariates[name][s, target_col]
        recent = _rolling_mean(wide.covariates[name], config.scale_window)[s, o]
        columns.append(future)
        with np.errstate(invalid="ignore", divide="ignore"):
            columns.append(np.where(np.abs(recent) > 0, future / recent, np.nan))
    columns.append(np.array([_code(categories["series"], name) for name in wide.series],
                            dtype=float)[s])
    for name in config.static:
        codes = np.array([_code(categories[name], v) for v in wide.static[name]], dtype=float)
        columns.append(codes[s])
    X = np.column_stack(columns).astype(np.float32)
    target = y[s, target_col] / scale if with_target else np.full(len(s), np.nan)
    return X, target, scale, np.column_stack([s, o, h])


def open_periods(y: np.ndarray) -> np.ndarray:
    """`y` with closures unknown: a period in which every series of a panel of at least
    MIN_CLOSURE_SERIES is 0 says the shop was shut (pizzaplace: Christmas, some Mondays in
    October), not that nobody wanted anything; as 0s those days would drag the levels and the
    weekday profiles down and teach the trees closures they cannot foresee."""
    if y.shape[0] < MIN_CLOSURE_SERIES:
        return y
    shut = np.nansum(y, axis=0) == 0
    return np.where(shut[None, :], np.nan, y)


def _smoothed(y: np.ndarray, alpha: float) -> np.ndarray:
    """Exponentially weighted mean of each row up to each column (unknown values skipped)."""
    return pd.DataFrame(y.T).ewm(alpha=alpha, ignore_na=True).mean().to_numpy().T


def _seasonal_smoothed(y: np.ndarray, m: int) -> np.ndarray:
    """Each column's exponentially weighted mean over the same period of its past seasons
    (columns c, c - m, c - 2m, ...)."""
    out = np.full(y.shape, np.nan)
    for position in range(min(m, y.shape[1])):
        out[:, position::m] = _smoothed(y[:, position::m], SEASONAL_ALPHA)
    return out


def _profile(y: np.ndarray, target_col: np.ndarray, back: np.ndarray, o: np.ndarray,
             s: np.ndarray, m: int, seasons: int) -> np.ndarray:
    """The target period's seasonal index: the mean of its position in the last `seasons`
    seasons over the mean of those seasons (1 = an average period; NaN-aware)."""
    same = np.stack([_shift(y, target_col - back - m * j, s) for j in range(seasons)])
    counts = (~np.isnan(same)).sum(axis=0)
    position = np.where(counts > 0, np.nansum(same, axis=0) / np.maximum(counts, 1), np.nan)
    level = _rolling_mean(y, m * seasons)[s, o]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(level > 0, position / level, np.nan)


def _aggregate(y: np.ndarray, config: FeatureConfig, target_col: np.ndarray,
               back: np.ndarray, o: np.ndarray) -> list[np.ndarray]:
    """The panel's total (the sum over series, far less noisy than one series): its last week
    over its last `scale_window` periods, its latest period over the same, and the target
    period's seasonal index in it."""
    known = ~np.isnan(y).all(axis=0)
    total = np.where(known, np.nansum(y, axis=0), np.nan)[None, :]
    zero = np.zeros_like(o)
    recent = _rolling_mean(total, config.scale_window)[0, o]
    with np.errstate(invalid="ignore", divide="ignore"):
        trend = _rolling_mean(total, config.season)[0, o] / recent
        last = total[0, o] / recent
    seasons = config.profile_seasons or 4
    return [trend, last, _profile(total, target_col, back, o, zero, config.season, seasons)]


def _code(known: list[str], value: str) -> float:
    """A category's index among those seen in training; unseen: NaN (the trees' missing)."""
    try:
        return float(known.index(value))
    except ValueError:
        return np.nan
