"""Naive baseline models a backtest compares the use case's model with, window by window.

A use case declares one by name (its manifest); each predicts from a window's training targets
alone, so a model that cannot beat it has learnt nothing from the features. They fit every use
case of their problem types; a forecasting use case may add its own here, by what it does.
numpy is imported when a baseline predicts: the manifest checks names here with the standard
library only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

Predict = Callable[["np.ndarray", "np.ndarray", int], "np.ndarray"]


@dataclass(frozen=True)
class Baseline:
    name: str
    description: str
    problem_types: tuple[str, ...]
    # (training targets, their period numbers, evaluation row count) -> predictions
    predict: Predict


def _constant(value: Callable[[np.ndarray, np.ndarray], float]) -> Predict:
    def predict(y: np.ndarray, periods: np.ndarray, rows: int) -> np.ndarray:
        import numpy as np

        return np.full(rows, value(y, periods), dtype=np.float64)

    return predict


def _median(y: np.ndarray, periods: np.ndarray) -> float:
    import numpy as np

    return float(np.median(y))


def _last_period(y: np.ndarray, periods: np.ndarray) -> float:
    return float(y[periods == periods.max()].mean())


BASELINES: dict[str, Baseline] = {b.name: b for b in (
    Baseline("training_mean", "the mean target of the window's training rows",
             ("regression", "forecasting"), _constant(lambda y, _: float(y.mean()))),
    Baseline("training_median", "the median target of the window's training rows",
             ("regression", "forecasting"), _constant(_median)),
    Baseline("last_period_mean", "the mean target of the window's last training period",
             ("regression", "forecasting"), _constant(_last_period)),
    # A constant probability ranks nothing (AUC 0.5): the floor for the ranking metrics, and
    # the calibration a model must beat on log loss and Brier score.
    Baseline("training_rate", "the positive class's share of the window's training rows, as "
             "every row's probability", ("binary_classification",),
             _constant(lambda y, _: float(y.mean()))),
)}


def baseline(name: str, problem_type: str) -> Baseline:
    """The baseline called `name`, which must fit `problem_type`; ValueError says which do."""
    fitting = [b.name for b in BASELINES.values() if problem_type in b.problem_types]
    found = BASELINES.get(name)
    if found is None or problem_type not in found.problem_types:
        raise ValueError(f"no baseline {name!r} for {problem_type}; allowed: "
                         f"{', '.join(fitting) or 'none'}")
    return found
