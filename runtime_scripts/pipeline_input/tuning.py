"""The `tuning` section of the training pipeline: schema, SageMaker's rules, and API shapes.

The rules are the ones CreateHyperParameterTuningJob enforces (or silently misbehaves on), so an
execution fails at its first state instead of after the preprocessing job has been paid for.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from .. import contract
from . import names
from .errors import Problem, render
from .origin import Origin
from .schema import Bool, Enum, Float, Int, ListOf, Nullable, Obj, Str, StringMap
from .values import METRIC_NAME, TUNING_JOB_NAME

STRATEGIES = contract.TUNING_STRATEGIES
MAX_RANGES = 30  # ParameterRanges: at most 30 hyperparameters across all three kinds
# Hyperband infers MaxResource from one of these static hyperparameters when it is not given.
HYPERBAND_EPOCH_KEYS = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")
_NAME = Str(max_len=256)
PARENT_HELP = (f"a tuning job name: 1-{names.TUNING_NAME_MAX} letters, digits and '-', not "
               "starting or ending with '-'")
_SCALING = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")

RANGES = Obj(
    {
        "continuous": ListOf(Obj({"name": _NAME, "min": Float(), "max": Float(),
                                  "scaling": Enum(_SCALING)}, optional={"scaling": "Auto"})),
        # ReverseLogarithmic is continuous-only in the SageMaker API.
        "integer": ListOf(Obj({"name": _NAME, "min": Int(), "max": Int(),
                               "scaling": Enum(_SCALING[:3])}, optional={"scaling": "Auto"})),
        "categorical": ListOf(Obj({"name": _NAME,
                                   "values": ListOf(Str(max_len=256), 1, 30)})),
    },
    optional={"continuous": [], "integer": [], "categorical": []},
    atomic=True,
)

TUNING = Obj({
    "enabled": Bool(),
    "strategy": Enum(STRATEGIES),
    "objective_metric": Str(max_len=255, pattern=METRIC_NAME,
                            pattern_help="a metric the training job logs, e.g. validation:auc"),
    "objective_type": Enum(("Maximize", "Minimize")),
    "max_jobs": Int(1, contract.TUNING_MAX_TRAINING_JOBS),
    "max_parallel_jobs": Int(1, contract.TUNING_MAX_PARALLEL_JOBS),
    # ResourceLimits.MaxRuntimeInSeconds: 120 .. 15768000 in the API reference.
    "max_runtime_seconds": Nullable(Int(120, 15_768_000)),
    "early_stopping": Enum(("Off", "Auto")),
    "static_hyperparameters": StringMap(),
    "ranges": RANGES,
    "warm_start": Nullable(Obj({
        "type": Enum(("IdenticalDataAndAlgorithm", "TransferLearning")),
        "parents": ListOf(Str(pattern=TUNING_JOB_NAME, pattern_help=PARENT_HELP), 1, 5),
    })),
    "hyperband": Nullable(Obj({"min_resource": Nullable(Int(1, 20_000)),
                               "max_resource": Nullable(Int(1, 20_000))},
                              optional={"min_resource": None, "max_resource": None})),
})


def effective_static(tuning: dict[str, Any], training_hps: dict[str, str]) -> dict[str, str]:
    """Static hyperparameters of the tuning job: the training hyperparameters, overridden by
    tuning.static_hyperparameters, minus every hyperparameter being tuned (SageMaker rejects a
    name that is both static and tuned)."""
    tuned = {r["name"] for kind in tuning["ranges"].values() for r in kind}
    merged = {**training_hps, **tuning["static_hyperparameters"]}
    return {k: v for k, v in merged.items() if k not in tuned}


def grid_size(ranges: dict[str, Any]) -> int:
    return math.prod(len(r["values"]) for r in ranges["categorical"])


# The metrics a tuning objective may name (the event's `platform.objective_metrics`): those the
# training job's MetricDefinitions define (the use case's manifest `training_metrics`), or the
# one its built-in algorithm emits. SageMaker requires the objective metric to be one of the
# training job's metric definitions for an algorithm of one's own.
PLATFORM_FIELDS = {"objective_metrics": ListOf(Str(max_len=255, pattern=METRIC_NAME), 1)}


def check(t: dict[str, Any], training_hps: dict[str, str], platform: dict[str, Any],
          origin: Origin, out: list[Problem], *, known_metrics: bool = True) -> None:
    """`known_metrics`: whether the training jobs' metrics are the use case's (not those of
    an algorithm resource the platform does not know)."""
    allowed = platform["objective_metrics"]
    if known_metrics and t["objective_metric"] not in allowed:
        out.append(Problem("tuning.objective_metric", f"{render(t['objective_metric'])} is not "
                           f"a metric the training jobs of use case "
                           f"{render(platform['use_case'])} report", ", ".join(allowed)))
    if t["max_parallel_jobs"] > t["max_jobs"]:
        out.append(Problem(origin.pick("tuning.max_parallel_jobs", "tuning.max_jobs"),
                           f"max_parallel_jobs ({t['max_parallel_jobs']}) must not exceed "
                           f"max_jobs ({t['max_jobs']})"))
    if t["early_stopping"] == "Auto" and t["strategy"] in ("Hyperband", "Grid"):
        why = ("Hyperband has its own internal early stopping, so SageMaker requires "
               "TrainingJobEarlyStoppingType Off" if t["strategy"] == "Hyperband" else
               "grid search evaluates every combination in full")
        out.append(Problem(origin.pick("tuning.early_stopping", "tuning.strategy"),
                           f"\"Auto\" is not allowed with strategy {t['strategy']}: {why}", "Off"))
    _check_ranges(t, origin, out)
    _check_parents(t["warm_start"], out)
    _check_strategy(t, training_hps, origin, out)
    if t["warm_start"] is not None:
        parents = t["warm_start"]["parents"]
        if len(set(parents)) != len(parents):
            out.append(Problem("tuning.warm_start.parents", f"{render(parents)} lists a parent "
                               "tuning job more than once"))


def _check_ranges(t: dict[str, Any], origin: Origin, out: list[Problem]) -> None:
    ranges, seen = t["ranges"], {}
    for kind in ("continuous", "integer", "categorical"):
        for i, r in enumerate(ranges[kind]):
            key = f"tuning.ranges.{kind}[{i}]"
            if r["name"] in seen:
                out.append(Problem(f"{key}.name", f"{render(r['name'])} is already tuned by "
                                   f"{seen[r['name']]}; each hyperparameter may have one range"))
            seen.setdefault(r["name"], key)
            if r["name"] in t["static_hyperparameters"]:
                # The static one may be a default the user never wrote: say how to drop it.
                out.append(Problem(f"{key}.name", f"{render(r['name'])} is also in "
                                   "tuning.static_hyperparameters; a hyperparameter is either "
                                   "static or tuned (remove the static one with "
                                   f"{{\"static_hyperparameters\": {{{render(r['name'])}: "
                                   "null}})"))
            if kind == "categorical":
                if len(set(r["values"])) != len(r["values"]):
                    out.append(Problem(f"{key}.values", "lists a value more than once"))
            else:
                _check_bounds(r, key, out)
    total = sum(len(v) for v in ranges.values())
    if total > MAX_RANGES:
        out.append(Problem(origin.pick("tuning.ranges"), f"has {total} ranges",
                           f"at most {MAX_RANGES} across continuous, integer and categorical"))
    if t["enabled"] and total == 0:
        out.append(Problem(origin.pick("tuning.ranges", "tuning.enabled"),
                           "needs at least one range when tuning.enabled is true"))


def _check_parents(warm_start: dict[str, Any] | None, out: list[Problem]) -> None:
    """TUNING_JOB_NAME counts letters and digits, not dashes: the length is checked here."""
    for index, name in enumerate((warm_start or {}).get("parents", [])):
        if len(name) > names.TUNING_NAME_MAX:
            out.append(Problem(f"tuning.warm_start.parents[{index}]",
                               f"{render(name)} has {len(name)} characters: SageMaker tuning job "
                               f"names have at most {names.TUNING_NAME_MAX}", PARENT_HELP))


def _check_bounds(r: dict[str, Any], key: str, out: list[Problem]) -> None:
    low, high, scaling = r["min"], r["max"], r["scaling"]
    if low >= high:
        out.append(Problem(f"{key}.min", f"min ({low}) must be less than max ({high})"))
    elif scaling == "Logarithmic" and low <= 0:
        out.append(Problem(f"{key}.min", f"{low} with scaling Logarithmic: logarithmic scaling "
                           "needs all values > 0", "min > 0"))
    elif scaling == "ReverseLogarithmic" and not (0 <= low and high < 1):
        out.append(Problem(f"{key}.min" if low < 0 else f"{key}.max",
                           f"[{low}, {high}] with scaling ReverseLogarithmic: reverse "
                           "logarithmic scaling needs the range within [0, 1)",
                           "0 <= min < max < 1"))


def _check_strategy(t: dict[str, Any], training_hps: dict[str, str], origin: Origin,
                    out: list[Problem]) -> None:
    strategy, ranges = t["strategy"], t["ranges"]
    if strategy == "Grid":
        for kind in ("continuous", "integer"):
            if ranges[kind]:
                out.append(Problem(f"tuning.ranges.{kind}", f"{len(ranges[kind])} {kind} "
                                   "range(s) with strategy Grid: grid search takes only "
                                   "categorical ranges", "categorical ranges only"))
        size = grid_size(ranges)
        if t["enabled"] and ranges["categorical"] and size > t["max_jobs"]:
            out.append(Problem(origin.pick("tuning.max_jobs", "tuning.ranges"),
                               f"grid search over {size} combinations needs {size} training "
                               f"jobs, more than tuning.max_jobs ({t['max_jobs']})",
                               f"tuning.max_jobs >= {size}, or fewer combinations"))
    hyperband = t["hyperband"]
    if hyperband is None:
        hyperband = {"min_resource": None, "max_resource": None}
    elif strategy != "Hyperband":
        out.append(Problem("tuning.hyperband", f"is only used with strategy Hyperband, not "
                           f"{strategy}", "null"))
    low, high = hyperband["min_resource"], hyperband["max_resource"]
    if low is not None and high is not None and low > high:
        out.append(Problem("tuning.hyperband.min_resource",
                           f"min_resource ({low}) must not exceed max_resource ({high})"))
    static = effective_static(t, training_hps)
    if (strategy == "Hyperband" and t["enabled"] and high is None
            and not any(k in static for k in HYPERBAND_EPOCH_KEYS)):
        out.append(Problem("tuning.hyperband.max_resource", "is required with strategy "
                           "Hyperband: SageMaker can only infer it from a static hyperparameter "
                           f"named {', '.join(HYPERBAND_EPOCH_KEYS)}", "1 .. 20000"))


def api_number(value: float | int) -> str:
    """A number as the string SageMaker's ranges want, never in exponent notation."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def derive(t: dict[str, Any], training_hps: dict[str, str]) -> dict[str, Any]:
    """API-shaped pieces the state machine passes straight into CreateHyperParameterTuningJob."""
    ranges = t["ranges"]
    max_jobs, parallel = t["max_jobs"], t["max_parallel_jobs"]
    if t["strategy"] == "Grid" and ranges["categorical"]:
        # SageMaker: with Grid, MaxNumberOfTrainingJobs must equal the number of combinations.
        max_jobs = grid_size(ranges)
        parallel = min(parallel, max_jobs)
    limits = {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": parallel}
    if t["max_runtime_seconds"] is not None:
        limits["MaxRuntimeInSeconds"] = t["max_runtime_seconds"]
    warm = t["warm_start"]
    hyperband = t["hyperband"] or {}
    strategy_config = None
    if t["strategy"] == "Hyperband":
        config = {"MinResource": hyperband.get("min_resource"),
                  "MaxResource": hyperband.get("max_resource")}
        strategy_config = {"HyperbandStrategyConfig":
                           {k: v for k, v in config.items() if v is not None}}
    return {
        "parameter_ranges": {
            "ContinuousParameterRanges": [
                {"Name": r["name"], "MinValue": api_number(r["min"]),
                 "MaxValue": api_number(r["max"]), "ScalingType": r["scaling"]}
                for r in ranges["continuous"]],
            "IntegerParameterRanges": [
                {"Name": r["name"], "MinValue": str(r["min"]), "MaxValue": str(r["max"]),
                 "ScalingType": r["scaling"]} for r in ranges["integer"]],
            "CategoricalParameterRanges": [
                {"Name": r["name"], "Values": list(r["values"])} for r in ranges["categorical"]],
        },
        "resource_limits": limits,
        "objective": {"MetricName": t["objective_metric"], "Type": t["objective_type"]},
        "warm_start_config": None if warm is None else {
            "ParentHyperParameterTuningJobs": [
                {"HyperParameterTuningJobName": name} for name in warm["parents"]],
            "WarmStartType": warm["type"],
        },
        "use_warm_start": warm is not None,
        "strategy_config": strategy_config,
        "has_strategy_config": strategy_config is not None,
        "effective_static_hyperparameters": effective_static(t, training_hps),
    }
