"""What the tabular jobs do differently per problem type; everything else they share.

A use case's manifest names its problem type; `current_task()` is that type's Task. The jobs
(preprocess, train, package, evaluate), batch scoring and the inference server ask it, never the
use case's name:

- binary classification: the target is one of the two labels the dataset spec names; encoded
  splits hold it as 0/1 and are stratified on it; XGBoost's `binary:logistic` gives a
  probability, which the decision threshold turns into one of the labels.
- regression: the target is a number (read by the cell policy, cells.py, like a numeric
  feature); encoded splits hold the value and are drawn at random; XGBoost's
  `reg:squarederror` predicts the value itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.tabular.cells import categorical_value, numeric_rejection, parse_numeric

if TYPE_CHECKING:
    import pandas as pd

    from runtime_scripts.common.manifest import Wording
    from runtime_scripts.common.report import ReportParts
    from runtime_scripts.common.tabular.dataset import DatasetSpec
    from runtime_scripts.common.tabular.hyperparameters import Hyperparameters


# A classifier's decision threshold unless its hyperparameter says otherwise (hyperparameters.py).
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Scores:
    """One evaluation's numbers: every metric the problem type computes, and the sections of
    evaluation.json only it has (a confusion matrix, SageMaker's model-quality block, ...)."""

    metrics: dict[str, float]
    sections: dict[str, Any]


class Task(ABC):
    problem_type: ClassVar[str]
    objective: ClassVar[str]  # XGBoost's, for `train` and for the built-in algorithm alike
    eval_metrics: ClassVar[tuple[str, ...]]  # the XGBoost eval metrics that measure it
    default_eval_metric: ClassVar[str]  # early stopping's, unless a hyperparameter names one
    target_kind: ClassVar[str]  # how preprocessing reads the target's cells (a feature kind)
    stratified: ClassVar[bool]  # are the splits stratified on the target
    label_rule: ClassVar[str]  # what the first column of an encoded split holds
    label_dtype: ClassVar[type]  # and as what evaluation scores it
    prediction_columns: ClassVar[tuple[str, ...]]  # what the server answers per row, the
    # first the model's own output (a probability, a value): what batch scoring reads
    schema_keys: ClassVar[tuple[str, ...]] = ()  # feature_schema.json keys of this type only
    own_hyperparameters: ClassVar[tuple[str, ...]] = ()  # meaningless for the other types

    def __repr__(self) -> str:
        return self.problem_type

    @property
    def score_column(self) -> str:
        return self.prediction_columns[0]

    @abstractmethod
    def target_problems(self, target: pd.Series, spec: DatasetSpec) -> list[str]:
        """What is wrong with a whole (typed, non-missing) target column, in words."""

    @abstractmethod
    def encode_target(self, cells: Sequence[object], positive_label: str | None,
                      where: str) -> np.ndarray:
        """The target cells as model labels; `where` names them in an error."""

    @abstractmethod
    def labels_valid(self, labels: np.ndarray) -> bool:
        """Does the label column of an encoded split hold what `label_rule` says."""

    @abstractmethod
    def split_summary(self, y: np.ndarray) -> dict[str, Any]:
        """What preprocessing's summary says of one split's labels besides its row count."""

    @abstractmethod
    def model_schema(self, decision_threshold: float | None) -> dict[str, Any]:
        """What training (or packaging) adds to the preprocessing's feature schema."""

    @abstractmethod
    def decision_threshold(self, schema: dict[str, Any], given: float | None) -> float | None:
        """The threshold a classifier's evaluation labels at; None for types without one."""

    @abstractmethod
    def score(self, y: np.ndarray, p: np.ndarray, threshold: float | None) -> Scores:
        """The metrics of predictions `p` against labels `y` (scores.py)."""

    @abstractmethod
    def report_parts(self, document: dict[str, Any], scores: Scores, y: np.ndarray,
                     p: np.ndarray, wording: Wording) -> ReportParts:
        """The plots and tables of report.html that only this type has."""

    @abstractmethod
    def label_reader(self, schema: dict[str, Any]) -> Callable[[str], float]:
        """Reads one known label (a CSV cell) for batch scoring; ValueError says why not."""

    def xgboost_params(self, hp: Hyperparameters) -> dict[str, Any]:
        return {"objective": self.objective}


class BinaryClassification(Task):
    problem_type = "binary_classification"
    objective = "binary:logistic"
    eval_metrics = ("logloss", "auc", "aucpr")
    # Log loss, not AUC: AUC stops improving while the probabilities are still shrunk towards
    # the base rate (with eta 0.01 a model stopped on AUC flagged no positive row at all), log
    # loss keeps improving until they are calibrated (benchmarks/early_stopping.py).
    default_eval_metric = "logloss"
    target_kind = "categorical"
    stratified = True
    label_rule = "the 0/1 label"
    label_dtype = np.int8
    prediction_columns = ("probability", "label")
    schema_keys = ("positive_label", "negative_label")
    own_hyperparameters = ("scale_pos_weight", "decision_threshold")

    def target_problems(self, target: pd.Series, spec: DatasetSpec) -> list[str]:
        labels, problems = set(target.dropna()), []
        named = {spec.positive_label, spec.negative_label}
        unnamed = sorted(labels - named)
        if unnamed:
            problems.append(f"target {spec.target!r} has values the spec does not name: "
                            f"{unnamed[:10]} (positive_label {spec.positive_label!r}, "
                            f"negative_label {spec.negative_label!r}); fix the data or the spec")
        for label in sorted(named - labels):
            problems.append(f"target {spec.target!r} never takes the label {label!r}: both "
                            "classes are needed for binary classification")
        return problems

    def encode_target(self, cells: Sequence[object], positive_label: str | None,
                      where: str) -> np.ndarray:
        return np.array([categorical_value(c) == positive_label for c in cells], dtype=np.int8)

    def labels_valid(self, labels: np.ndarray) -> bool:
        return bool(np.isin(labels, (0.0, 1.0)).all())

    def split_summary(self, y: np.ndarray) -> dict[str, Any]:
        return {"positives": int(y.sum())}

    def model_schema(self, decision_threshold: float | None) -> dict[str, Any]:
        return {"decision_threshold": DEFAULT_THRESHOLD if decision_threshold is None
                else decision_threshold}

    def decision_threshold(self, schema: dict[str, Any], given: float | None) -> float | None:
        return float(schema.get("decision_threshold", DEFAULT_THRESHOLD)) if given is None \
            else given

    def score(self, y: np.ndarray, p: np.ndarray, threshold: float | None) -> Scores:
        from runtime_scripts.common.tabular.scores import score_binary

        assert threshold is not None  # decision_threshold() gives one
        return score_binary(y, p, threshold)

    def report_parts(self, document: dict[str, Any], scores: Scores, y: np.ndarray,
                     p: np.ndarray, wording: Wording) -> ReportParts:
        from runtime_scripts.common.report_classification import report_parts

        return report_parts(document, scores, y, p, wording)

    def label_reader(self, schema: dict[str, Any]) -> Callable[[str], float]:
        positive, negative = schema["positive_label"], schema["negative_label"]
        classes = {positive: 1, negative: 0}

        def read(text: str) -> float:
            if text not in classes:
                raise ValueError(f"is {text!r}, neither {positive!r} nor {negative!r}")
            return classes[text]

        return read

    def xgboost_params(self, hp: Hyperparameters) -> dict[str, Any]:
        return {"objective": self.objective, "scale_pos_weight": hp.scale_pos_weight}


class Regression(Task):
    problem_type = "regression"
    objective = "reg:squarederror"
    eval_metrics = ("rmse", "mae")
    default_eval_metric = "rmse"  # what reg:squarederror minimises
    target_kind = "numeric"
    stratified = False
    label_rule = "the target value (a finite number)"
    label_dtype = np.float64
    prediction_columns = ("prediction",)

    def target_problems(self, target: pd.Series, spec: DatasetSpec) -> list[str]:
        if target.dropna().nunique() < 2:
            return [f"target {spec.target!r} takes fewer than two distinct values: there is "
                    "nothing to learn; fix the data or the spec's target"]
        return []

    def encode_target(self, cells: Sequence[object], positive_label: str | None,
                      where: str) -> np.ndarray:
        cells = list(cells)
        values, bad = parse_numeric(cells)
        if bad is not None:
            raise JobError(f"{where}: row {bad + 1} {numeric_rejection(cells[bad])}")
        return values

    def labels_valid(self, labels: np.ndarray) -> bool:
        return bool(np.isfinite(labels).all())

    def split_summary(self, y: np.ndarray) -> dict[str, Any]:
        return {"mean": float(y.mean())}

    def model_schema(self, decision_threshold: float | None) -> dict[str, Any]:
        return {}

    def decision_threshold(self, schema: dict[str, Any], given: float | None) -> float | None:
        if given is not None:
            raise JobError("a decision threshold labels probabilities of a classifier: a "
                           "regression model has none, leave the option out")
        return None

    def score(self, y: np.ndarray, p: np.ndarray, threshold: float | None) -> Scores:
        from runtime_scripts.common.tabular.scores import score_regression

        return score_regression(y, p)

    def report_parts(self, document: dict[str, Any], scores: Scores, y: np.ndarray,
                     p: np.ndarray, wording: Wording) -> ReportParts:
        from runtime_scripts.common.report_regression import report_parts

        return report_parts(document, scores, y, p, wording)

    def label_reader(self, schema: dict[str, Any]) -> Callable[[str], float]:
        def read(text: str) -> float:
            values, bad = parse_numeric([text])
            if bad is not None or np.isnan(values[0]):
                raise ValueError(f"is {text!r}, not a number")
            return float(values[0])

        return read


TASKS: dict[str, Task] = {task.problem_type: task for task in (BinaryClassification(),
                                                               Regression())}


def task_for(problem_type: str) -> Task:
    """The Task of a manifest's problem type; one the tabular jobs do not handle is an error."""
    if problem_type not in TASKS:
        raise JobError(f"the tabular jobs handle the problem types {', '.join(TASKS)}, not "
                       f"{problem_type!r}: this use case needs jobs of its own")
    return TASKS[problem_type]


def task_of_objective(objective: str, source: str) -> Task:
    """The Task whose model a booster trained with `objective` is (`source` names it)."""
    for task in TASKS.values():
        if task.objective == objective:
            return task
    raise JobError(f"{source} was trained with the objective {objective!r}; the models served "
                   f"here are trained with {', '.join(t.objective for t in TASKS.values())}")


def current_task() -> Task:
    """The Task of the use case this process runs for (its manifest, by ML_USE_CASE)."""
    from runtime_scripts.common.manifest import current_use_case

    return task_for(current_use_case().problem_type)
