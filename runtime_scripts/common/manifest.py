"""The use-case manifest: everything the platform knows about a use case, and all it may read.

Each use case is a folder `runtime_scripts/use_cases/<name>/` whose `manifest.py` defines
`MANIFEST = UseCaseManifest(...)`. The CDK side, the stage config and the first state of every
pipeline read only this object (and the files it names inside the folder); they never import a
use case's code. This module imports nothing beyond the standard library, so reading a manifest
is cheap and needs none of a use case's dependencies.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from runtime_scripts import contract
from runtime_scripts.channels import REPLICATED, SHARDED, ChannelSupport
from runtime_scripts.common.manifest_outputs import (
    AccuracyMonitor,
    PredictionTable,
    accuracy_monitor_problem,
    prediction_table_problem,
)
from runtime_scripts.common.training_rules import TrainingRules

USE_CASES_DIR = Path(__file__).resolve().parent.parent / "use_cases"
USE_CASES_PACKAGE = "runtime_scripts.use_cases"
# The environment variable every image of a use case sets (its Dockerfile) and every job request
# passes: the bin entry points run `runtime_scripts.use_cases.<it>.<job>`.
USE_CASE_ENV = "ML_USE_CASE"
# A use case's name is part of AWS resource names (`<prefix>-<use case>-<pipeline>`): short,
# lowercase, no leading digit, no double hyphen.
USE_CASE_NAME = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,11}$")
USE_CASE_NAME_MAX = 12

# clustering and dimensionality_reduction are unsupervised: their dataset spec names no target.
ProblemType = Literal["binary_classification", "multiclass_classification", "regression",
                      "forecasting", "image_classification", "clustering",
                      "dimensionality_reduction"]
UNSUPERVISED_PROBLEM_TYPES = ("clustering", "dimensionality_reduction")
Comparison = Literal[">=", ">", "<=", "<"]


class ManifestError(ValueError):
    """A use case that cannot be loaded, or whose manifest contradicts itself."""


@dataclass(frozen=True)
class Metric:
    """A metric the use case's evaluation writes to evaluation.json (`metrics.<name>`)."""

    name: str
    higher_is_better: bool
    gateable: bool = True  # may a quality gate condition use it
    # The range a threshold on it may take; None: unbounded on that side.
    minimum: float | None = 0.0
    maximum: float | None = 1.0

    @property
    def better_comparisons(self) -> tuple[str, str]:
        return (">=", ">") if self.higher_is_better else ("<=", "<")

    def gate_problem(self, comparison: str, threshold: float) -> str | None:
        """Why the gate condition `<this metric> <comparison> <threshold>` cannot stand, or None:
        one on the worse side would pass worse models, one outside the range can never hold."""
        if comparison not in self.better_comparisons:
            return (f"{self.name} is better when {'higher' if self.higher_is_better else 'lower'}"
                    f", so '{comparison}' would pass worse models: use "
                    f"{' or '.join(self.better_comparisons)}")
        low = -math.inf if self.minimum is None else self.minimum
        high = math.inf if self.maximum is None else self.maximum
        if not low <= threshold <= high:
            return (f"threshold {threshold:g} is outside the range of {self.name}, "
                    f"{low:g} .. {high:g}")
        return None


@dataclass(frozen=True)
class GateCondition:
    metric: str
    comparison: Comparison
    threshold: float


@dataclass(frozen=True)
class Tuning:
    """The tuning job's default objective and search space (per-execution input can replace
    them). `ranges` has SageMaker's three kinds, each a list of {"name", "min", "max",
    "scaling"} ({"name", "values"} for categorical)."""

    objective_metric: str  # a training log metric, e.g. "validation:logloss"
    objective_type: Literal["Maximize", "Minimize"]
    ranges: dict = field(default_factory=dict)
    static_hyperparameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuiltinAlgorithm:
    """One of SageMaker's own training images the use case can train with instead of its own
    (`training.algorithm = "builtin"`); its model is repacked by `process package`."""

    framework: str  # the SageMaker SDK's image_uris name (common/builtin_algorithms.py)
    version: str
    hyperparameters: dict[str, str] = field(default_factory=dict)  # what it needs on top
    objective_metric: str = ""  # the tuning objective it emits, e.g. "validation:auc"
    # What preprocessing writes its training channels in: one of the algorithm's input formats
    # (text/csv or application/x-recordio-protobuf); None: its default, CSV.
    input_format: str | None = None
    # The default quality gate of its models where the use case's (`gate`) scores what this
    # algorithm does not make (a projection, not clusters); empty: the use case's gate.
    gate: tuple[GateCondition, ...] = ()
    # An alternative's (image.builtin_alternatives) search space and fixed values: the use
    # case's tuning names its own training's hyperparameters. None: the use case's.
    tuning: Tuning | None = None

    @property
    def content_type(self) -> str:
        """Its training channels' ContentType (common/builtin_algorithms.py)."""
        from runtime_scripts.common import builtin_algorithms

        return builtin_algorithms.algorithm(self.framework).channel_content_type(
            self.input_format)

    def problem(self, manifest: UseCaseManifest) -> str | None:
        """Why the algorithm cannot train the use case's models, or None (the algorithm's
        documented needs: common/builtin_algorithms.py)."""
        from runtime_scripts.common import builtin_algorithms

        try:
            spec = builtin_algorithms.algorithm(self.framework)
        except KeyError as exc:
            return f"image.builtin_training: {exc.args[0]}"
        if self.input_format is not None and self.input_format not in spec.input_formats:
            return (f"image.builtin_training.input_format {self.input_format!r}: "
                    f"{self.framework} trains on {', '.join(spec.input_formats)}")
        problem = spec.hyperparameter_problem({**manifest.hyperparameters, **self.hyperparameters},
                                              manifest.problem_type)
        if problem:
            return f"image.builtin_training: {problem}"
        allowed = spec.objective_metrics(manifest.problem_type)
        if self.objective_metric and self.objective_metric not in allowed:
            return (f"image.builtin_training.objective_metric {self.objective_metric!r} is not "
                    f"a metric {self.framework} reports for {manifest.problem_type}: "
                    f"{', '.join(allowed) or 'it reports none (no tuning)'}")
        if self.tuning is not None and self.tuning.objective_metric not in allowed:
            return (f"image.builtin_training: {self.framework}'s tuning objective "
                    f"{self.tuning.objective_metric!r} is not a metric it reports for "
                    f"{manifest.problem_type}: {', '.join(allowed) or 'none'}")
        return None


@dataclass(frozen=True)
class FrameworkTraining:
    """AWS's deep learning container for a framework (e.g. its PyTorch training image), which
    runs the use case's own training code in script mode: the image's SageMaker training toolkit
    downloads the code (hyperparameter `sagemaker_submit_directory`, a tar.gz the platform
    builds at synth) and runs its entry point (`sagemaker_program`) with the other
    hyperparameters as `--name value` arguments. The URI comes from the SageMaker SDK
    (image_uris.retrieve) for the stage's region, the pinned version and the instance family."""

    framework: str  # the SDK's image_uris name, e.g. "pytorch"
    version: str  # pinned, e.g. "2.10.0"
    py_version: str  # e.g. "py313": one the SDK lists for that version


@dataclass(frozen=True)
class Image:
    # Relative to the use case folder; the build context is runtime_scripts/, and the platform
    # passes the use case's name as the ML_USE_CASE build argument.
    dockerfile: str = "Dockerfile"
    instance_family: Literal["cpu", "gpu"] = "cpu"
    builtin_training: BuiltinAlgorithm | None = None
    # Other built-in algorithms a stage may train with instead (`training.builtin_algorithm`
    # names one by framework); builtin_training is the default one.
    builtin_alternatives: tuple[BuiltinAlgorithm, ...] = ()
    # Its training script trains across the instances of a job on a share of the rows each
    # (common/tabular/distributed.py): the train channel is ShardedByS3Key over one
    # preprocessed shard per instance. False: every instance gets every row.
    sharded_training: bool = False
    # Which image trains (and tunes) in script mode: "own" (the image built from `dockerfile`)
    # or "framework" (AWS's image `framework_training` names, running the same code).
    training_image: Literal["own", "framework"] = "own"
    framework_training: FrameworkTraining | None = None


@dataclass(frozen=True)
class Serving:
    content_types: tuple[str, ...] = ("text/csv",)  # what /invocations accepts
    accept_types: tuple[str, ...] = ("text/csv",)  # what it can answer
    # The columns a prediction answer holds, in order (CSV header of batch output).
    prediction_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Monitoring:
    # Model Monitor's record preprocessor: a script in the use case folder, or in common/.
    record_preprocessor: str = "../../common/tabular/capture.py"
    drift: bool = True  # data-quality drift checks on the dataset spec's features


@dataclass(frozen=True)
class Wording:
    """How the evaluation report names the use case's rows, e.g. "customers" and "churners"."""

    rows: str = "rows"
    positive_rows: str = "positive rows"  # classification: the rows of the positive class


@dataclass(frozen=True)
class BacktestSetup:
    """How a use case's backtest runs by default, once its `backtest` allows one (its dataset
    spec then names a `time` key): the naive model every window is compared with
    (runtime_scripts/common/resampling/baselines.py; None: none), and the request a backtest
    started with `{}` makes, in periods of the time key's unit: the horizon the use case is
    judged on and how many windows back from the data's end."""

    baseline: str | None = None
    horizon: int = 1
    windows: int = 3
    # The rows' time ({"column": ..., "unit": ...}, the tabular spec's `time` key's form) for a
    # use case whose dataset spec is its own format, not the platform's tabular spec: the
    # window split then cuts its rows by that time alone, keeps every row (its preprocessing
    # decides what a row without a target means) and hands each window the spec unchanged.
    # None: the tabular spec's own `time` key. A request's `backtest.time` replaces either.
    time: dict | None = None
    # Who scores a window. "platform": each window's evaluation writes predictions.csv and the
    # aggregate scores it with the problem type's metrics (and the split the baseline: one of
    # baselines.py). "evaluation": the use case's own evaluation.json of the window holds its
    # metrics, and `baselines.<baseline>` the declared baseline's on the same window (a model
    # of its own, e.g. a seasonal naive forecast), for problem types the platform cannot score.
    scored_by: Literal["platform", "evaluation"] = "platform"
    # Arguments each window's `process evaluate` gets on top of the platform's (with
    # "platform" scoring: --write-predictions), e.g. to score one window at the training end.
    window_evaluation_arguments: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpreadLimit:
    """The most a metric may vary across the folds (or windows) of a resampling pipeline: its
    standard deviation there, in the metric's unit. A model whose score moves more with the rows
    it was trained on is not stable enough to trust its mean."""

    metric: str
    max_std: float


@dataclass(frozen=True)
class Resampling:
    """Whether one of the platform's resampling pipelines (cross-validation, backtest) may run
    for the use case. When it may not, `refusal` says why: the first state of that pipeline
    refuses an execution with it, and the platform builds no state machine for it. Its default
    gate is the use case's `gate` on the mean of each metric plus `max_std` on the spread."""

    allowed: bool = True
    refusal: str = ""
    max_std: tuple[SpreadLimit, ...] = ()

    def problem(self, manifest: UseCaseManifest, field_name: str) -> str | None:
        if self.allowed == bool(self.refusal):
            return (f"{field_name}: give a refusal (the reason the pipeline is refused) exactly "
                    "when allowed is False")
        for limit in self.max_std:
            if limit.metric not in manifest.gateable_metrics:
                return (f"{field_name}.max_std names {limit.metric!r}, not one of its gateable "
                        f"metrics {', '.join(manifest.gateable_metrics)}")
            if not (math.isfinite(limit.max_std) and limit.max_std > 0):
                return f"{field_name}.max_std of {limit.metric} must be a number above 0"
        return None


# The channels every use case's training jobs get (contract.py's names), File mode only, unless
# its manifest declares more (`channels`): the split CSVs and the preprocessing transform's JSON.
DEFAULT_CHANNELS = (ChannelSupport(contract.CHANNEL_TRAIN),
                    ChannelSupport(contract.CHANNEL_VALIDATION),
                    ChannelSupport(contract.CHANNEL_TRANSFORM, content_types=("application/json",)))


# Backtesting needs rows in time order (a time column in the dataset spec): a use case says it
# has one by allowing the pipeline.
NO_TIME_ORDER = "the use case declares no time-ordered data (its manifest's backtest)"
# What the cross-validation split job can fold: rows of a tabular dataset spec.
FOLDED_PROBLEM_TYPES = ("binary_classification", "multiclass_classification", "regression")


@dataclass(frozen=True)
class UseCaseManifest:
    name: str
    description: str
    problem_type: ProblemType
    metrics: tuple[Metric, ...]
    training_metrics: tuple[str, ...]  # "#metrics" log names: MetricDefinitions of every job
    gate: tuple[GateCondition, ...]  # the default quality gate; every condition must hold
    hyperparameters: dict[str, str]
    tuning: Tuning
    serving: Serving = field(default_factory=Serving)
    monitoring: Monitoring = field(default_factory=Monitoring)
    image: Image = field(default_factory=Image)
    wording: Wording = field(default_factory=Wording)
    # A gate must have a condition on one of these (empty: no such rule). Classification: a
    # ranking metric alone once approved a model that never predicted the positive class.
    gate_requires_one_of: tuple[str, ...] = ()
    dataset_spec: str = "dataset.json"  # the bundled dataset spec, in the folder
    glue_schema: str = "glue_schema.json"  # the raw table's schema for the Glue ETL job
    sample_data: str = "sample_data/data.csv"  # the smoke test's and the local run's data
    # Local runs: the hold-out rows to batch-score and their labels, relative to the folder.
    local_batch: str | None = None
    local_batch_labels: str | None = None
    # The platform's resampling pipelines: may they run, and their default gate on the spread.
    cross_validation: Resampling = field(default_factory=Resampling)
    backtest: Resampling = field(
        default_factory=lambda: Resampling(allowed=False, refusal=NO_TIME_ORDER))
    # Pinned packages beyond runtime_scripts/requirements.txt (e.g. PyTorch, Prophet), relative to
    # the folder: its own Dockerfile installs them, and a local run installs them on the use
    # case's first run, so nobody else pays for them.
    requirements: str | None = None
    backtest_setup: BacktestSetup = field(default_factory=BacktestSetup)
    # Pins installed after `requirements` without dependency resolution (`pip install --no-deps`):
    # for a package whose declared bounds contradict the platform's pins although the parts the
    # use case uses work with them (its tests show it).
    requirements_no_deps: str | None = None
    # What each training channel accepts (content types, input modes, compression, record
    # wrapper, S3 data and distribution types): the stage config and the first state refuse any
    # other value. One entry per contract channel (train, validation, transform).
    channels: tuple[ChannelSupport, ...] = DEFAULT_CHANNELS
    # What SageMaker Debugger and the platform's rule job watch during training
    # (common/training_rules.py says which kind applies where).
    training_rules: TrainingRules = field(default_factory=TrainingRules)
    # Batch predictions as a catalog table (by partition of the run's day), and their accuracy
    # once the actuals arrive (runtime_scripts/common/manifest_outputs.py).
    batch_predictions: PredictionTable | None = None
    accuracy_monitor: AccuracyMonitor | None = None

    # --- derived ---------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        return USE_CASES_DIR / self.name

    def path(self, relative: str) -> Path:
        return (self.folder / relative).resolve()

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)

    def metric(self, name: str) -> Metric:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(name)

    def channel(self, name: str, *, builtin: bool = False) -> ChannelSupport:
        """What channel `name` accepts; with the built-in algorithm (`builtin`), which trains on
        the splits as preprocessing writes them for it (one train file, no shards), only
        FullyReplicated: every instance gets every object."""
        support = next(c for c in self.channels if c.name == name)
        if builtin:
            support = replace(support, s3_data_distribution_types=(REPLICATED,))
        return support

    @property
    def builtin_choices(self) -> dict[str, BuiltinAlgorithm]:
        """The built-in algorithms a stage may train with, by framework, the default first."""
        first = (self.image.builtin_training,) if self.image.builtin_training else ()
        return {b.framework: b for b in (*first, *self.image.builtin_alternatives)}

    def with_builtin(self, framework: str) -> UseCaseManifest:
        """The manifest as a stage training with built-in `framework` sees it: that algorithm
        as image.builtin_training, its gate where it names one, and Debugger's built-in rules
        (XGBoost's: common/training_rules.py) only for XGBoost."""
        chosen = self.builtin_choices[framework]
        if chosen is self.image.builtin_training:
            return self
        rules = self.training_rules if framework == "xgboost" else replace(
            self.training_rules, builtin=())
        # An alternative receives its own hyperparameters only: the use case's name its
        # script's (or the default algorithm's), and a built-in algorithm refuses names it
        # does not know.
        # Likewise its search space: none unless it declares one.
        tuning = chosen.tuning or Tuning(
            objective_metric=chosen.objective_metric, objective_type="Minimize",
            ranges={"continuous": [], "integer": [], "categorical": []})
        return replace(self, image=replace(self.image, builtin_training=chosen),
                       hyperparameters={}, tuning=tuning,
                       gate=chosen.gate or self.gate, training_rules=rules)

    @property
    def gateable_metrics(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics if m.gateable)

    @property
    def lower_is_better(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics if not m.higher_is_better)

    def _validate_gate(self, where: str) -> None:
        for condition in self.gate:
            if condition.metric not in self.gateable_metrics:
                raise ManifestError(f"{where}: gate metric {condition.metric!r} is not one of "
                                    f"its gateable metrics {', '.join(self.gateable_metrics)}")
            problem = self.metric(condition.metric).gate_problem(condition.comparison,
                                                                 condition.threshold)
            if problem:
                raise ManifestError(f"{where}: gate condition {condition.metric} "
                                    f"{condition.comparison} {condition.threshold:g}: {problem}")

    def _validate_resampling(self, where: str) -> None:
        for field_name in ("cross_validation", "backtest"):
            problem = getattr(self, field_name).problem(self, field_name)
            if problem:
                raise ManifestError(f"{where}: {problem}")
        if self.cross_validation.allowed and self.problem_type not in FOLDED_PROBLEM_TYPES:
            raise ManifestError(
                f"{where}: cross_validation is allowed, but the platform's split job folds the "
                f"rows of a tabular dataset spec ({', '.join(FOLDED_PROBLEM_TYPES)}), not "
                f"{self.problem_type} data: set cross_validation=Resampling(allowed=False, "
                "refusal=\"<why>\")")

    def validate(self) -> None:
        """The manifest's own consistency: raises ManifestError naming the field and the fix."""
        where = f"use case {self.name!r} (runtime_scripts/use_cases/{self.name}/manifest.py)"
        if not USE_CASE_NAME.match(self.name):
            raise ManifestError(f"{where}: name must be 2-{USE_CASE_NAME_MAX} lowercase "
                                "letters, digits and single '-', starting with a letter")
        if self.folder.name != self.name:
            raise ManifestError(f"{where}: name must equal its folder's name")
        names = self.metric_names
        if len(set(names)) != len(names) or not names:
            raise ManifestError(f"{where}: metrics must be listed once each, at least one")
        self._validate_gate(where)
        for name in self.gate_requires_one_of:
            if name not in names:
                raise ManifestError(f"{where}: gate_requires_one_of names unknown metric {name!r}")
        self._validate_resampling(where)
        self._validate_channels(where)
        if self.image.training_image == "framework" and self.image.framework_training is None:
            raise ManifestError(f"{where}: image.training_image is 'framework' but "
                                "image.framework_training names no framework image: give "
                                "FrameworkTraining(framework=..., version=..., py_version=...), "
                                "or training_image='own'")
        self._validate_builtin(where)
        if self.tuning.objective_metric not in self.training_metrics:
            raise ManifestError(f"{where}: tuning objective {self.tuning.objective_metric!r} "
                                f"is not a training metric ({', '.join(self.training_metrics)})")
        own = tuple(f for f in (self.requirements, self.requirements_no_deps) if f)
        files = (self.dataset_spec, self.glue_schema, self.image.dockerfile,
                 self.monitoring.record_preprocessor) + own
        if own and self.path(self.image.dockerfile).parent != self.folder:
            raise ManifestError(f"{where}: requirements {', '.join(own)} need the use case's "
                                "own Dockerfile (image.dockerfile in its folder): a shared "
                                "Dockerfile installs only runtime_scripts/requirements.txt")
        for relative in files:
            if not self.path(relative).is_file():
                raise ManifestError(f"{where}: {relative} does not exist in its folder")
        self._validate_glue_schema(where)
        self._validate_backtest_setup(where)
        self._validate_outputs(where)

    def _validate_builtin(self, where: str) -> None:
        alternatives = self.image.builtin_alternatives
        if alternatives and self.image.builtin_training is None:
            raise ManifestError(f"{where}: image.builtin_alternatives without "
                                "image.builtin_training: name the default algorithm there")
        if alternatives and len(self.builtin_choices) != 1 + len(alternatives):
            raise ManifestError(f"{where}: image.builtin_alternatives: each framework once, "
                                "and not builtin_training's again")
        for framework, builtin in self.builtin_choices.items():
            problem = builtin.problem(self.with_builtin(framework))
            if problem is None and builtin.gate:
                try:
                    replace(self, gate=builtin.gate)._validate_gate(where)
                except ManifestError as exc:
                    problem = f"{framework}'s gate: {str(exc).removeprefix(where + ': ')}"
            if problem:
                raise ManifestError(f"{where}: {problem}")

    def _validate_outputs(self, where: str) -> None:
        problem = self.training_rules.problem(self.training_metrics,
                                              self.image.builtin_training is not None)
        if problem:
            raise ManifestError(f"{where}: training_rules: {problem}")
        if self.batch_predictions is not None:
            problem = prediction_table_problem(
                self.batch_predictions, self.serving.prediction_columns,
                self.serving.content_types, self.serving.accept_types)
        if problem is None and self.accuracy_monitor is not None:
            problem = accuracy_monitor_problem(self.accuracy_monitor, self.metric_names)
        if problem:
            raise ManifestError(f"{where}: {problem}")

    def _validate_channels(self, where: str) -> None:
        names = sorted(c.name for c in self.channels)
        expected = sorted(c.name for c in DEFAULT_CHANNELS)
        if names != expected:
            raise ManifestError(f"{where}: channels must declare each of {', '.join(expected)} "
                                f"once, not {', '.join(names) or 'none'}")
        for channel in self.channels:
            problem = channel.problem()
            if problem:
                raise ManifestError(f"{where}: {problem}")
        # A sharded script trains on one shard per instance: its train channel's default
        # distribution must hand each instance its share (ShardedByS3Key), or every instance
        # would train on every shard.
        train = self.channel(contract.CHANNEL_TRAIN)
        if self.image.sharded_training and train.s3_data_distribution_types[0] != SHARDED:
            raise ManifestError(f"{where}: image.sharded_training needs the train channel's "
                                f"s3_data_distribution_types to start with {SHARDED} (its "
                                "default), not "
                                f"{', '.join(train.s3_data_distribution_types)}")

    def _validate_glue_schema(self, where: str) -> None:
        """The raw table's keys name its columns: a copied schema's stale key would otherwise
        surface only when the paid Glue job starts."""
        try:
            schema = json.loads(self.path(self.glue_schema).read_text())
        except json.JSONDecodeError as error:
            raise ManifestError(f"{where}: {self.glue_schema} is not JSON: {error}") from None
        columns = schema.get("columns") if isinstance(schema, dict) else None
        if not isinstance(columns, dict) or not columns:
            raise ManifestError(f"{where}: {self.glue_schema} needs \"columns\": "
                                "{\"<column>\": \"<type>\", ...}")
        unknown = [key for key in schema.get("dedup_keys", []) if key not in columns]
        if unknown:
            raise ManifestError(f"{where}: {self.glue_schema}'s dedup_keys {', '.join(unknown)} "
                                f"are not among its columns ({', '.join(columns)}): name the "
                                "columns that identify a row")

    def _validate_backtest_setup(self, where: str) -> None:
        """A backtest needs time-ordered data and a baseline that fits the problem type."""
        from runtime_scripts.common.resampling import baselines
        from runtime_scripts.common.tabular.time_spec import TimeSpec, TimeSpecError

        if not self.backtest.allowed:
            return
        setup = self.backtest_setup
        if setup.time is not None:
            try:
                TimeSpec.from_dict(setup.time)
            except TimeSpecError as exc:
                raise ManifestError(f"{where}: backtest_setup.time: {exc}") from None
        elif not json.loads(self.path(self.dataset_spec).read_text()).get("time"):
            raise ManifestError(f"{where}: backtest is allowed but {self.dataset_spec} has no "
                                "'time' key: name the column(s) saying when each row happened, "
                                "or give backtest_setup.time for a spec of the use case's own "
                                "format")
        if setup.horizon < 1 or setup.windows < 1:
            raise ManifestError(f"{where}: backtest_setup.horizon and .windows must be >= 1")
        if setup.scored_by == "evaluation":
            return  # its baseline is a model of its own evaluation's, by its name there
        if self.problem_type not in FOLDED_PROBLEM_TYPES:
            raise ManifestError(f"{where}: backtest_setup.scored_by is 'platform', which scores "
                                f"{', '.join(FOLDED_PROBLEM_TYPES)} predictions, not "
                                f"{self.problem_type}: set scored_by=\"evaluation\" and let "
                                "each window's evaluation.json hold its metrics")
        if setup.baseline is not None:
            try:
                baselines.baseline(setup.baseline, self.problem_type)
            except ValueError as exc:
                raise ManifestError(f"{where}: backtest_setup.baseline: {exc}") from None


def available_use_cases() -> list[str]:
    """Every folder under runtime_scripts/use_cases/ with a manifest.py, sorted."""
    return sorted(p.parent.name for p in USE_CASES_DIR.glob("*/manifest.py"))


def load_manifest(name: str) -> UseCaseManifest:
    """The validated manifest of use case `name`; an unknown name lists those that exist."""
    known = available_use_cases()
    if name not in known:
        raise ManifestError(f"unknown use case {name!r}: known are {', '.join(known) or 'none'}"
                            f"; a use case is a folder runtime_scripts/use_cases/<name>/ with a "
                            "manifest.py (docs/use-cases.md)")
    module = importlib.import_module(f"{USE_CASES_PACKAGE}.{name}.manifest")
    manifest = getattr(module, "MANIFEST", None)
    if not isinstance(manifest, UseCaseManifest):
        raise ManifestError(f"runtime_scripts/use_cases/{name}/manifest.py must define "
                            "MANIFEST = UseCaseManifest(...)")
    manifest.validate()
    return manifest


def current_use_case() -> UseCaseManifest:
    """The manifest of the use case this process runs for (the image's ML_USE_CASE)."""
    name = os.environ.get(USE_CASE_ENV)
    if not name:
        raise ManifestError(f"{USE_CASE_ENV} is not set: the use case's image sets it (its "
                            "Dockerfile), and so does every job request the platform sends")
    return load_manifest(name)
