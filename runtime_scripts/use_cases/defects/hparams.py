"""The training job's hyperparameters: typed, ranged, each problem named with the fix."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any

from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.tabular.hyperparameters import TUNING_OBJECTIVE

PRECISIONS = ("fp32", "bf16", "fp16")
VARIANTS = ("fp32", "fp16", "int8")
# Hyperparameters that do not change what the epochs already trained compute: a checkpoint
# written under other values of these may be resumed.
NOT_FINGERPRINTED = ("epochs", "patience", "workers", "pin_memory", "prefetch_factor",
                     "served_variant", "max_steps", "threads")


@dataclass(frozen=True)
class TrainingHyperparameters:
    epochs: int = 14
    batch_size: int = 32
    learning_rate: float = 0.003
    weight_decay: float = 0.0005
    augment: float = 0.5  # augmentation strength, 0 (none) .. 1
    width: int = 16  # channels of the first stage
    patience: int = 5  # epochs without a better validation accuracy before stopping; 0: never
    precision: str = "fp32"  # fp32 | bf16 | fp16 (torch.autocast; fp16 with a GradScaler)
    channels_last: bool = False
    workers: int = 0  # DataLoader worker processes; 0: load in the training process
    pin_memory: bool = False
    prefetch_factor: int = 2  # batches each worker loads ahead (with workers > 0)
    seed: int = 7
    served_variant: str = "int8"  # the ONNX variant the endpoint serves
    max_steps: int = 0  # stop after this many optimiser steps (0: no limit); for benchmarks
    # torch's intra-op threads per process; 0: torch's default (the cores). On a shared or
    # oversubscribed CPU, 1 avoids OpenMP threads spinning against each other (about 10x
    # slower steps seen at 2 threads on 2 busy cores).
    threads: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


RANGES = {"epochs": (1, 1000), "batch_size": (1, 4096), "learning_rate": (1e-6, 1.0),
          "weight_decay": (0.0, 1.0), "augment": (0.0, 1.0), "width": (4, 256),
          "patience": (0, 1000), "workers": (0, 64), "prefetch_factor": (1, 64),
          "seed": (0, 2**31 - 1), "max_steps": (0, 10**9), "threads": (0, 1024)}
CHOICES = {"precision": PRECISIONS, "served_variant": VARIANTS}


def _value(name: str, raw: Any, kind: type) -> Any:
    text = str(raw).strip()
    try:
        if kind is bool:
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        if kind is int:
            number = float(text)
            if not number.is_integer():
                raise ValueError
            return int(number)
        return kind(text)
    except ValueError:
        raise JobError(f"hyperparameter {name}={raw!r} is not {kind.__name__}") from None


def parse(raw: dict[str, Any]) -> TrainingHyperparameters:
    """SageMaker passes every value as a string; names starting with '_' (the tuning job's
    `_tuning_objective_metric`, sagemaker_* of the SDK) are SageMaker's, not ours."""
    fields = {f.name: f for f in dataclasses.fields(TrainingHyperparameters)}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name.startswith("_") or name.startswith("sagemaker_") or name == TUNING_OBJECTIVE:
            continue
        if name not in fields:
            near = difflib.get_close_matches(name, fields, n=1)
            raise JobError(f"unknown hyperparameter {name!r}"
                           + (f" (did you mean {near[0]!r}?)" if near else "")
                           + f"; known: {', '.join(fields)}")
        kind = type(fields[name].default)
        parsed = _value(name, value, kind)
        if name in RANGES and not RANGES[name][0] <= parsed <= RANGES[name][1]:
            low, high = RANGES[name]
            raise JobError(f"hyperparameter {name}={value!r} is outside {low:g}..{high:g}")
        if name in CHOICES and parsed not in CHOICES[name]:
            raise JobError(f"hyperparameter {name}={value!r} must be one of "
                           f"{', '.join(CHOICES[name])}")
        values[name] = parsed
    return TrainingHyperparameters(**values)
