"""`train` for demand (SageMaker training job, script mode): fit the configured model.

Channels: train (series up to end - 2H), validation (up to end - H), transform (spec.json and
the full history). Hyperparameters (hyperparameters.json, all strings): `model` (gbm | ets |
prophet | seasonal_naive, default gbm) and the global model's (gbm.GbmParams: lags "0-6",
windows "7,28", profile_seasons, aggregate, smoothed, closures (0/1), objective, ets_weight
and prophet_weight (0..1 each, their sum at most 1: the combination's), num_round, eta,
max_depth, min_child_weight, subsample, colsample_bytree, num_parallel_tree,
early_stopping_rounds, max_origins, nthread, seed). Keys SageMaker adds
(`_tuning_*`, `sagemaker_*`) are ignored; any other unknown key fails the job, naming it.

Logs `#metrics` lines: train:rmse and validation:rmse while boosting (scaled target), and at the
end validation:wape and validation:coverage of the model's forecast of the validation window
from the train channel's end (every model, so a tuning objective compares them all).
"""

from __future__ import annotations

import json
import sys
from dataclasses import fields

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError, run_job
from runtime_scripts.use_cases.demand import gbm as gbm_model
from runtime_scripts.use_cases.demand import jobs
from runtime_scripts.use_cases.demand.bundle import Forecaster
from runtime_scripts.use_cases.demand.forecasters import MODELS
from runtime_scripts.use_cases.demand.metrics import naive_scale, score

IGNORED_PREFIXES = ("_", "sagemaker_")


def hyperparameters(ml: contract.MlPaths) -> tuple[str, gbm_model.GbmParams, dict]:
    raw = json.loads(ml.hyperparameters.read_text()) if ml.hyperparameters.is_file() else {}
    raw = {k: str(v) for k, v in raw.items() if not k.startswith(IGNORED_PREFIXES)}
    known = {"model", *(f.name for f in fields(gbm_model.GbmParams))}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise JobError(f"unknown hyperparameters {unknown}: known are {sorted(known)}")
    model = raw.get("model", "gbm")
    if model not in MODELS:
        raise JobError(f"hyperparameter model {model!r} is not one of {', '.join(MODELS)}")
    try:
        params = gbm_model.GbmParams.of(raw)
    except ValueError as exc:
        raise JobError(f"bad hyperparameter: {exc}") from None
    return model, params, raw


def held_out_metrics(model: str, spec, fitting, validation) -> dict:
    """A local model's forecast of the validation window from the train channel's end. (The
    global model measures its own before its refit, gbm.fit: after it, it has seen them.)"""
    origin = fitting["timestamp"].max()
    held_out = validation[validation["timestamp"] > origin]
    predicted = Forecaster(model, spec, fitting, {}).forecast(future=held_out.drop(columns="y"))
    rows = predicted.merge(held_out[["series", "timestamp", "y"]], on=["series", "timestamp"])
    scales = {s: naive_scale(g["y"].to_numpy(), spec.season)
              for s, g in fitting.groupby("series")}
    return score(rows.assign(window=1, scale=rows["series"].map(scales)))


def train(ml: contract.MlPaths) -> dict:
    spec = jobs.read_spec(ml.channel(contract.CHANNEL_TRANSFORM))
    model, params, raw = hyperparameters(ml)
    fitting = jobs.read_panel(ml.channel(contract.CHANNEL_TRAIN), spec)
    validation = jobs.read_panel(ml.channel(contract.CHANNEL_VALIDATION), spec)
    history = jobs.read_panel(ml.channel(contract.CHANNEL_TRANSFORM), spec)
    fitted = None
    with jobs.input_errors():
        if model == "gbm":
            def log(round_: int, train_rmse: float, validation_rmse: float) -> None:
                print(contract.format_metric_line(
                    {"train:rmse": train_rmse, "validation:rmse": validation_rmse},
                    round=round_), flush=True)

            fitted = gbm_model.fit(validation, spec, params, log=log)
        metrics = (fitted.validation if fitted is not None else
                   held_out_metrics(model, spec, fitting, validation))
    final = {"validation:wape": metrics["wape"],
             "validation:coverage": metrics["coverage_p10_p90"]}
    if fitted is not None:
        final["validation:rmse"] = fitted.validation["rmse"]
    print(contract.format_metric_line(final, final=1), flush=True)
    info = {"hyperparameters": raw, "horizon": spec.horizon,
            "trained_end": f"{validation['timestamp'].max():%Y-%m-%d}",
            "series": sorted(history["series"].unique()), "validation": metrics,
            "rounds": fitted.rounds if fitted else None}
    Forecaster(model, spec, history, info, fitted).save(ml.model)
    return {"model": model, **final}


def main() -> int:
    ml = contract.MlPaths.from_env()

    def job() -> None:
        print(json.dumps(train(ml)), flush=True)

    return run_job(job, ml.failure, "training")


if __name__ == "__main__":
    sys.exit(main())
