"""The contract between the platform (CDK side, local runner) and the runtime scripts.

This is the one module both sides read: SageMaker container paths, the metric line format that
SageMaker metric definitions and tuning objectives parse, the model directory layout and the
evaluation report schema. It imports nothing but the standard library, so the CDK app can read it
without pulling in numpy or xgboost, and the containers can read it without CDK.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# --- SageMaker container paths -------------------------------------------------------------------
# SageMaker mounts everything under /opt/ml. Tests and the local runner redirect the root with
# ML_ROOT so the very same entry points run on a workstation.
ML_ROOT_ENV = "ML_ROOT"
DEFAULT_ML_ROOT = "/opt/ml"


@dataclass(frozen=True)
class MlPaths:
    """Resolved SageMaker directory layout for one container run."""

    root: Path

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> MlPaths:
        env = os.environ if environ is None else environ
        return cls(Path(env.get(ML_ROOT_ENV, DEFAULT_ML_ROOT)))

    # Training job layout
    @property
    def input_data(self) -> Path:
        return self.root / "input" / "data"

    def channel(self, name: str) -> Path:
        return self.input_data / name

    @property
    def hyperparameters(self) -> Path:
        return self.root / "input" / "config" / "hyperparameters.json"

    @property
    def resource_config(self) -> Path:
        return self.root / "input" / "config" / "resourceconfig.json"

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def output_data(self) -> Path:
        return self.root / "output" / "data"

    @property
    def failure(self) -> Path:
        return self.root / "output" / "failure"

    @property
    def exit_message(self) -> Path:
        """Processing jobs: the first 1 KB becomes ExitMessage in DescribeProcessingJob."""
        return self.root / "output" / "message"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    # Processing job layout
    @property
    def processing(self) -> Path:
        return self.root / "processing"

    def processing_input(self, name: str) -> Path:
        return self.processing / "input" / name

    def processing_output(self, name: str) -> Path:
        return self.processing / "output" / name


# Processing channel names used by the pipelines and the scripts.
PROCESSING_INPUT_RAW = "raw"
PROCESSING_INPUT_CONFIG = "config"
PROCESSING_INPUT_MODEL = "model"
PROCESSING_INPUT_TEST = "test"
PROCESSING_OUTPUT_TRAIN = "train"
PROCESSING_OUTPUT_VALIDATION = "validation"
PROCESSING_OUTPUT_TEST = "test"
PROCESSING_OUTPUT_BASELINE = "baseline"
PROCESSING_OUTPUT_TRANSFORM = "transform"
PROCESSING_OUTPUT_EVALUATION = "evaluation"
# Repacking a SageMaker built-in XGBoost model (`process package`): its model.tar.gz and the
# preprocess `transform` output in, our model.tar.gz out.
PROCESSING_INPUT_TRANSFORM = "transform"
PROCESSING_OUTPUT_PACKAGED = "packaged"

# Training channel names.
CHANNEL_TRAIN = "train"
CHANNEL_VALIDATION = "validation"
CHANNEL_TRANSFORM = "transform"

# --- Files ---------------------------------------------------------------------------------------
SPLIT_FILE = "data.csv"  # each split: header-less CSV, label first (the XGBoost CSV convention)
BASELINE_FILE = "baseline.csv"  # header-ful raw-feature sample for Model Monitor
TRANSFORM_FILE = "transform.json"  # the fitted preprocessing transform
MODEL_FILE = "xgboost-model.json"  # the booster
FEATURE_SCHEMA_FILE = "feature_schema.json"  # raw input columns, in request order, with types
EVALUATION_FILE = "evaluation.json"
REPORT_FILE = "report.html"
BUILTIN_MODEL_FILE = "xgboost-model"  # the booster SageMaker's built-in XGBoost saves
PACKAGED_MODEL_ARCHIVE = "model.tar.gz"  # what `process package` writes, as SageMaker would
DATASET_SPEC_FILE = "dataset.json"
RAW_TEST_FILE = "raw.csv"  # in the test split: header-ful raw feature columns + target

# --- Metric log lines ----------------------------------------------------------------------------
# One line per report, e.g. "#metrics round=12 train:logloss=0.211 validation:auc=0.917".
# SageMaker metric definitions use METRIC_REGEX_TEMPLATE; a tuning objective such as
# "validation:auc" is one of these names.
METRIC_LINE_PREFIX = "#metrics"
METRIC_NAME_PATTERN = re.compile(r"^[a-z_]+:[a-z0-9_@.-]+$")
METRIC_VALUE_REGEX = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def metric_regex(name: str) -> str:
    """The regex SageMaker uses to read `name` from the training log."""
    if not METRIC_NAME_PATTERN.match(name):
        raise ValueError(f"metric name {name!r} must look like 'validation:auc'")
    return rf"{re.escape(name)}={METRIC_VALUE_REGEX}"


def format_metric_line(metrics: dict[str, float], **context: int | str) -> str:
    parts = [METRIC_LINE_PREFIX]
    parts += [f"{k}={v}" for k, v in context.items()]
    parts += [f"{name}={value:.6f}" for name, value in metrics.items()]
    return " ".join(parts)


# Metrics the churn training script logs; the CDK side builds MetricDefinitions from this list.
TRAINING_METRICS = (
    "train:logloss",
    "train:auc",
    "validation:logloss",
    "validation:auc",
    "validation:aucpr",
)

# --- evaluation.json schema ----------------------------------------------------------------------
# The quality gate in the training pipeline reads `metrics.<name>` from this document.
EVALUATION_SCHEMA_VERSION = "1"
EVALUATION_METRICS = (
    "auc",
    "pr_auc",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "log_loss",
    "brier",
    "ece",
)
# Which way is better, per metric: a quality gate condition must ask for the better side.
LOWER_IS_BETTER = ("log_loss", "brier", "ece")
# Quality gate conditions (`--gate auc>=0.85` arguments of the evaluation job); the training
# pipeline's input and the stage config allow at most GATE_MAX_CONDITIONS of them.
GATE_COMPARISONS = (">=", ">", "<=", "<")
GATE_MAX_CONDITIONS = 8

# Batch predictions scored against known labels (`process evaluate` with these inputs instead
# of `test`): the transform job's output and CSV files of id columns and the target.
PROCESSING_INPUT_PREDICTIONS = "predictions"
PROCESSING_INPUT_LABELS = "labels"
