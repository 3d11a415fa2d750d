"""Training hyperparameters: one typed table with defaults and ranges, and a strict parser.

SageMaker hands hyperparameters over as strings (in /opt/ml/input/config/hyperparameters.json,
and JSON-quoted once more by the SDK in script mode), so every value is parsed here and checked
against its range. An unknown name or a malformed value fails with that name in the message:
a typo such as `max_dept` must never be silently ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime_scripts.common.tabular.task import DEFAULT_THRESHOLD, TASKS, Task

# SageMaker itself adds these to the hyperparameters of script-mode and tuning jobs.
RESERVED_PREFIXES = ("sagemaker_", "_")
# What SageMaker adds to the hyperparameters of every training job a tuning job launches.
TUNING_OBJECTIVE = "_tuning_objective_metric"
# XGBoost's eval metrics the tasks use (task.py), name -> higher is better.
EVAL_METRICS = {"auc": True, "aucpr": True, "logloss": False, "rmse": False, "mae": False}


class HyperparameterError(ValueError):
    """A hyperparameter is unknown or malformed; the message names it."""


def _hp(default: Any, low: float | None = None, high: float | None = None, *,
        low_open: bool = False, choices: tuple[str, ...] = (), doc: str = "") -> Any:
    meta = {"low": low, "high": high, "low_open": low_open, "choices": choices, "doc": doc}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Hyperparameters:
    num_round: int = _hp(300, 1, 10_000, doc="maximum boosting rounds")
    max_depth: int = _hp(5, 1, 16, doc="maximum tree depth")
    eta: float = _hp(0.1, 0, 1, low_open=True, doc="learning rate")
    min_child_weight: float = _hp(1.0, 0, 1e4, doc="minimum hessian sum in a leaf")
    subsample: float = _hp(0.8, 0, 1, low_open=True, doc="row sample ratio per tree")
    colsample_bytree: float = _hp(0.8, 0, 1, low_open=True, doc="column sample ratio per tree")
    gamma: float = _hp(0.0, 0, 1e4, doc="minimum loss reduction to split")
    alpha: float = _hp(0.0, 0, 1e4, doc="L1 regularisation")
    # `lambda` is a Python keyword; the hyperparameter keeps XGBoost's name (see `by_name`).
    lambda_: float = _hp(1.0, 0, 1e4, doc="L2 regularisation")
    scale_pos_weight: float = _hp(1.0, 0, 1e4, low_open=True, doc="weight of positive rows")
    max_bin: int = _hp(256, 2, 4096, doc="histogram bins per feature")
    early_stopping_rounds: int = _hp(20, 0, 10_000, doc="rounds without improvement; 0 = off")
    # The default is classification's; `parse` with a task gives the task's (task.py says why).
    eval_metric: str = _hp("logloss", choices=tuple(EVAL_METRICS), doc="early-stopping metric")
    checkpoint_frequency: int = _hp(10, 1, 10_000, doc="rounds between checkpoints")
    metrics_frequency: int = _hp(1, 1, 10_000, doc="rounds between metric log lines")
    decision_threshold: float = _hp(DEFAULT_THRESHOLD, 0, 1, low_open=True,
                                    doc="probability -> label 1")
    seed: int = _hp(42, 0, 2**31 - 1 - 10_000, doc="random seed")
    nthread: int = _hp(0, 0, 1024, doc="threads; 0 = all CPUs available to the container")

    @property
    def maximize(self) -> bool:
        return EVAL_METRICS[self.eval_metric]

    def as_dict(self) -> dict[str, Any]:
        return {_public(f.name): getattr(self, f.name) for f in dataclasses.fields(self)}


def _public(field_name: str) -> str:
    return field_name.rstrip("_")


FIELDS = {_public(f.name): f for f in dataclasses.fields(Hyperparameters)}


def _parse_one(name: str, raw: Any) -> Any:
    f = FIELDS[name]
    meta = f.metadata
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':  # SDK script mode JSON-quotes values
            text = text[1:-1].strip()
    elif isinstance(raw, bool) or raw is None or not isinstance(raw, (int, float, str)):
        raise HyperparameterError(f"hyperparameter {name!r} has an unusable value {raw!r}")
    else:
        text = repr(raw)
    if f.type == "str":
        if text not in meta["choices"]:
            raise HyperparameterError(
                f"hyperparameter {name!r} must be one of {list(meta['choices'])}, got {raw!r}")
        return text
    low, high = meta["low"], meta["high"]
    kind = "an integer" if f.type == "int" else "a number"
    expected = f"{kind} in {'(' if meta['low_open'] else '['}{low:g}, {high:g}]"
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    valid = (
        math.isfinite(number)
        and (f.type != "int" or number.is_integer())
        and (low < number if meta["low_open"] else low <= number)
        and number <= high
    )
    if not valid:
        raise HyperparameterError(f"hyperparameter {name!r} must be {expected}, got {raw!r}")
    return int(number) if f.type == "int" else number


def parse(raw: Mapping[str, Any], task: Task | None = None) -> Hyperparameters:
    """Validate raw name -> value pairs (strings or JSON scalars) into Hyperparameters. With a
    `task`, eval_metric defaults to the task's and must measure it, and a hyperparameter of
    another problem type (a regression's decision_threshold, say) is refused."""
    values: dict[str, Any] = {} if task is None else {"eval_metric": task.default_eval_metric}
    for name, value in raw.items():
        if name.startswith(RESERVED_PREFIXES):
            continue
        if name not in FIELDS:
            close = difflib.get_close_matches(name, FIELDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise HyperparameterError(
                f"unknown hyperparameter {name!r}{hint}; known: {', '.join(sorted(FIELDS))}")
        values[FIELDS[name].name] = _parse_one(name, value)
    if task is not None:
        _check_for(task, raw, values["eval_metric"])
    return Hyperparameters(**values)


def _check_for(task: Task, raw: Mapping[str, Any], eval_metric: str) -> None:
    if eval_metric not in task.eval_metrics:
        raise HyperparameterError(f"hyperparameter 'eval_metric' must be one of "
                                  f"{list(task.eval_metrics)} for {task.problem_type}, got "
                                  f"{eval_metric!r}")
    for other in TASKS.values():
        foreign = [n for n in other.own_hyperparameters if n in raw
                   and n not in task.own_hyperparameters]
        if foreign:
            raise HyperparameterError(
                f"hyperparameter {foreign[0]!r} is for {other.problem_type} only; this use case "
                f"is {task.problem_type}: leave it out")


def parse_cli(argv: list[str]) -> dict[str, str]:
    """`--name value` / `--name=value` pairs, as SageMaker script mode passes hyperparameters."""
    pairs: dict[str, str] = {}
    args = iter(argv)
    for arg in args:
        if not arg.startswith("--") or len(arg) == 2:
            raise HyperparameterError(f"unexpected argument {arg!r}: pass --name value pairs")
        name, sep, value = arg[2:].partition("=")
        if not sep:
            value = next(args, None)
            if value is None:
                raise HyperparameterError(f"hyperparameter {name!r} has no value")
        pairs[name.replace("-", "_")] = value
    return pairs


def load_json_object(text: str, source: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HyperparameterError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise HyperparameterError(f"{source} must hold a JSON object of name -> value")
    return data
