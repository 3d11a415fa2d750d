"""The default model: one global gradient-boosted model over all series (XGBoost, the runtime's
pinned booster), direct multi-horizon (features.py), p50 from absolute error on the scaled
target (a median), combined with per-series models (Prophet by default, AutoETS by weight:
combination.py), p10/p90 by split-conformal intervals.

Fitting: the last `horizon` periods of the data are held out; trees are added until the error
(MAE for absolute error, else RMSE) of the held-out periods (forecast from every origin whose
lead time reaches them) stops improving; the held-out errors, scaled like the target, give each
lead time h its own 10% and 90% error quantiles, which p50 is widened by (conformal: no
distribution assumed, and the interval grows with h as the errors do); finally the model is
refit on all the data with the rounds found, so the latest periods count too.

Why the median: a pizza sells 1 to 7 a day, counts skewed to the right, and a mean forecast
overshoots what most days sell; WAPE and MASE (absolute errors) are minimised by the median.
Why the combination: see combination.py. The intervals are the GBM's conformal errors placed
around the combined p50 (its errors are no wider: the backtest's coverage checks it).

Why not quantile objectives: XGBoost's quantile loss refits every leaf per quantile, which made
one fit on the sample 9x slower (60 s against 7 s for 50 rounds on this machine) for intervals
that still needed calibrating.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from runtime_scripts.use_cases.demand.combination import combine
from runtime_scripts.use_cases.demand.features import FeatureConfig, Wide, build_rows
from runtime_scripts.use_cases.demand.spec import ForecastSpec

QUANTILES = (0.1, 0.5, 0.9)
# XGBoost objectives for the p50 on the scaled target: absolute error gives a median (what WAPE
# and MASE reward), squared error a mean, Poisson and Tweedie a mean under a log link.
OBJECTIVES = ("reg:absoluteerror", "reg:squarederror", "count:poisson", "reg:tweedie")
MODEL_FILE = "gbm.json"
STATE_FILE = "gbm_state.json"


@dataclass(frozen=True)
class GbmParams:
    lags: tuple[int, ...] = tuple(range(7))
    windows: tuple[int, ...] = (7, 28)
    profile_seasons: int = 12  # seasonal profiles over this many seasons; 0: none
    aggregate: int = 1  # 1: the panel's total as features (its trend and profile)
    smoothed: int = 1  # 1: exponentially smoothed levels and seasonal values as features
    closures: int = 1  # 1: periods in which no series sells are closures, not demand
    objective: str = "reg:absoluteerror"  # p50 a median: what WAPE and MASE reward
    num_round: int = 300
    eta: float = 0.05
    max_depth: int = 4
    min_child_weight: float = 50.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    num_parallel_tree: int = 1
    # > 0: p50 combined with AutoETS's / Prophet's per series (combination.py); the GBM gets
    # the rest of the weight
    ets_weight: float = 0.0
    prophet_weight: float = 0.0
    early_stopping_rounds: int = 30
    max_origins: int = 150  # the latest origins training uses (cost bound on long series)
    nthread: int = 0  # 0: all cores
    seed: int = 7

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective {self.objective!r} is not one of "
                             f"{', '.join(OBJECTIVES)}")
        for name, weight in self.weights.items():
            if not 0.0 <= weight <= 1.0:
                raise ValueError(f"{name}_weight {weight} must lie in 0..1 (0: the GBM alone)")
        if sum(self.weights.values()) > 1.0:
            raise ValueError(f"ets_weight {self.ets_weight} and prophet_weight "
                             f"{self.prophet_weight} sum to more than 1: the GBM's weight is "
                             "1 minus their sum; lower one of them")

    @property
    def weights(self) -> dict[str, float]:
        """The local models' weights in the combined p50 (combination.combine)."""
        return {"ets": self.ets_weight, "prophet": self.prophet_weight}

    @classmethod
    def of(cls, hyperparameters: dict[str, str]) -> GbmParams:
        """From SageMaker's string hyperparameters; unknown keys are ignored here (the job
        checks them)."""
        out: dict = {}
        for name, kind in cls.__annotations__.items():
            if name not in hyperparameters:
                continue
            text = str(hyperparameters[name])
            if name in ("lags", "windows"):
                out[name] = _int_list(text, name)
            elif kind == "str":
                out[name] = text
            else:
                out[name] = (int if kind == "int" else float)(float(text))
        return cls(**out)


def _int_list(text: str, name: str) -> tuple[int, ...]:
    """"0-13" or "0,1,7,14" (ranges and lists may mix)."""
    values: list[int] = []
    for part in filter(None, text.replace(" ", "").split(",")):
        if "-" in part:
            low, high = part.split("-", 1)
            values += range(int(low), int(high) + 1)
        else:
            values.append(int(part))
    if not values or min(values) < (0 if name == "lags" else 1):
        raise ValueError(f"{name} {text!r}: give whole numbers like '0-13' or '7,28'")
    return tuple(sorted(set(values)))


@dataclass
class GbmModel:
    booster: object
    config: FeatureConfig
    categories: dict[str, list[str]]
    residuals: list[list[float]]  # per lead time h: the 10% and 90% scaled error quantiles
    rounds: int
    validation: dict = field(default_factory=dict)  # held-out RMSE, WAPE and coverage
    weights: dict[str, float] = field(default_factory=dict)  # combination.combine's

    def predict(self, wide: Wide, horizon: int) -> pd.DataFrame:
        """Forecasts from column `-horizon-1` of `wide.y` (the origin): `wide` is extended by
        the horizon, with the future covariates filled in."""
        import xgboost

        origin = np.array([wide.y.shape[1] - horizon - 1])
        X, _, scale, rows = build_rows(wide, self.config, origin, self.categories,
                                       with_target=False, horizon=horizon)
        gbm_p50 = self.booster.predict(xgboost.DMatrix(X)) * scale
        p50 = combine(gbm_p50, wide, self.config, int(origin[0]), rows, self.weights)
        q = interval(p50, scale, rows[:, 2], np.asarray(self.residuals))
        return pd.DataFrame({
            "series": [wide.series[i] for i in rows[:, 0]],
            "timestamp": wide.index[rows[:, 1] + rows[:, 2]],
            "p10": q[:, 0], "p50": q[:, 1], "p90": q[:, 2]})

    def save(self, folder: Path) -> None:
        self.booster.save_model(folder / MODEL_FILE)
        state = {"config": {**self.config.__dict__}, "categories": self.categories,
                 "residuals": self.residuals, "rounds": self.rounds,
                 "validation": self.validation, "weights": self.weights}
        (folder / STATE_FILE).write_text(json.dumps(state, indent=1))

    @classmethod
    def load(cls, folder: Path) -> GbmModel:
        import xgboost

        state = json.loads((folder / STATE_FILE).read_text())
        booster = xgboost.Booster()
        booster.load_model(folder / MODEL_FILE)
        config = state["config"]
        for key in ("lags", "windows", "covariates", "static"):
            config[key] = tuple(config[key])
        return cls(booster, FeatureConfig(**config), state["categories"], state["residuals"],
                   state["rounds"], state["validation"],
                   state.get("weights", {"ets": state.get("ets_weight", 0.0)}))


def interval(p50: np.ndarray, scale: np.ndarray, h: np.ndarray,
             residuals: np.ndarray) -> np.ndarray:
    """[n, 3] p10/p50/p90: p50 (never below 0) widened by lead time h's error quantiles."""
    p50 = np.clip(p50, 0.0, None)
    low = p50 + residuals[h - 1, 0] * scale
    high = p50 + residuals[h - 1, 1] * scale
    return np.clip(np.column_stack([np.minimum(low, p50), p50, np.maximum(high, p50)]),
                   0.0, None)


def _rows(wide: Wide, config: FeatureConfig, categories, first_target: int,
          last_target: int, max_origins: int):
    """Rows whose target column lies in first_target..last_target, over the latest origins."""
    first = max(0, last_target - config.horizon - max_origins + 1)
    origins = np.arange(first, last_target)
    X, y, scale, rows = build_rows(wide, config, origins, categories)
    target = rows[:, 1] + rows[:, 2]
    keep = (target >= first_target) & (target <= last_target) & ~np.isnan(y)
    return X[keep], y[keep], scale[keep], rows[keep]


def _booster_params(params: GbmParams) -> dict:
    # Early stopping watches the last eval_metric (XGBoost's rule): the loss the objective
    # minimises; RMSE is computed too, for the job's logs.
    stopping = "mae" if params.objective == "reg:absoluteerror" else "rmse"
    return {"objective": params.objective, "eval_metric": list(dict.fromkeys(["rmse", stopping])),
            "tree_method": "hist",
            "eta": params.eta, "max_depth": params.max_depth,
            "min_child_weight": params.min_child_weight, "subsample": params.subsample,
            "colsample_bytree": params.colsample_bytree,
            "num_parallel_tree": params.num_parallel_tree, "nthread": params.nthread,
            "seed": params.seed}


def fit(frame: pd.DataFrame, spec: ForecastSpec, params: GbmParams, log=print) -> GbmModel:
    """Fit on a panel (its data up to its last period); `log(round, train, validation)` gets
    the RMSE every 25 rounds and at the best round."""
    import xgboost

    wide = Wide.of(frame, spec)
    config = FeatureConfig.of(spec, params.lags, params.windows, wide.y.shape[1],
                              params.profile_seasons, bool(params.aggregate),
                              bool(params.smoothed), bool(params.closures))
    categories = {"series": list(wide.series),
                  **{c: sorted(set(wide.static[c])) for c in spec.static}}
    end = wide.y.shape[1] - 1
    holdout = end - spec.horizon
    if holdout < spec.horizon + spec.season:
        raise ValueError(f"too little history to fit: {end + 1} periods, need more than "
                         f"{2 * spec.horizon + spec.season}")
    booster_params = _booster_params(params)
    X_fit, y_fit, _, _ = _rows(wide, config, categories, 0, holdout, params.max_origins)
    X_val, y_val, scale_val, rows_val = _rows(wide, config, categories, holdout + 1, end,
                                              spec.horizon)
    fit_set = xgboost.DMatrix(X_fit, label=y_fit)
    val_set = xgboost.DMatrix(X_val, label=y_val)
    history: dict = {}
    booster = xgboost.train(booster_params, fit_set, params.num_round,
                            evals=[(fit_set, "train"), (val_set, "validation")],
                            early_stopping_rounds=params.early_stopping_rounds,
                            evals_result=history, verbose_eval=False)
    rounds = booster.best_iteration + 1
    for i in [*range(0, rounds, 25), rounds - 1]:
        log(i + 1, history["train"]["rmse"][i], history["validation"]["rmse"][i])
    predicted = booster.predict(val_set, iteration_range=(0, rounds))
    errors = y_val - predicted  # in scaled units
    h = rows_val[:, 2]
    residuals = []
    for lead in range(1, spec.horizon + 1):
        mine = errors[h == lead]
        residuals.append([float(v) for v in np.quantile(mine, [0.1, 0.9])] if len(mine)
                         else [0.0, 0.0])
    # The forecast of the held-out window from its origin, as a backtest window scores it.
    at_origin = rows_val[:, 1] == holdout
    p50 = combine(predicted[at_origin] * scale_val[at_origin], wide, config, holdout,
                  rows_val[at_origin], params.weights)
    q = interval(p50, scale_val[at_origin], h[at_origin], np.asarray(residuals))
    actual = y_val[at_origin] * scale_val[at_origin]
    validation = {"rmse": float(history["validation"]["rmse"][rounds - 1]),
                  "wape": float(np.abs(q[:, 1] - actual).sum() / max(actual.sum(), 1e-9)),
                  "coverage_p10_p90": float(np.mean((actual >= q[:, 0]) & (actual <= q[:, 2])))}
    X_all, y_all, _, _ = _rows(wide, config, categories, 0, end, params.max_origins)
    booster = xgboost.train(booster_params, xgboost.DMatrix(X_all, label=y_all), rounds)
    return GbmModel(booster, config, categories, residuals, rounds, validation,
                    params.weights)
