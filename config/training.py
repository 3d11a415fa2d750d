"""Sections of the training pipeline: training, tuning and the quality gate. What depends on the
use case (its metrics, objective, built-in algorithm) is checked by `validate_for(key, manifest)`
once the use case is known."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from config.channels import ChannelsConfig
from config.checks import check_range
from config.problems import nearest, report
from config.resources import JobResources
from runtime_scripts import channels as channel_rules
from runtime_scripts import contract
from runtime_scripts.common import builtin_algorithms
from runtime_scripts.common.manifest import UseCaseManifest


@dataclass(frozen=True)
class AutoMLConfig:
    """`training.automl`: the Autopilot job of `algorithm: "automl"` (CreateAutoMLJobV2's
    TabularJobConfig); the problem type and target are the use case's."""

    mode: Literal[contract.AUTOML_MODES] = "ENSEMBLING"
    # None: Autopilot's default for the problem type (contract.AUTOML_OBJECTIVE_METRICS).
    objective_metric: str | None = None
    max_candidates: int = 10
    max_runtime_seconds: int = 4 * 3600
    max_runtime_per_training_job_seconds: int | None = None

    def validate(self, key: str) -> None:
        check_range(f"{key}.max_candidates", self.max_candidates, 1,
                    contract.AUTOML_MAX_CANDIDATES)
        check_range(f"{key}.max_runtime_seconds", self.max_runtime_seconds,
                    contract.AUTOML_MIN_RUNTIME_SECONDS, contract.AUTOML_MAX_RUNTIME_SECONDS)
        per_job = self.max_runtime_per_training_job_seconds
        if per_job is not None:
            check_range(f"{key}.max_runtime_per_training_job_seconds", per_job,
                        contract.JOB_MIN_RUNTIME_SECONDS, self.max_runtime_seconds)

    def validate_for(self, key: str, manifest: UseCaseManifest) -> None:
        problem = contract.AUTOML_PROBLEM_TYPES.get(manifest.problem_type)
        if problem is None:
            report(f"{key[:key.rindex('.')]}.algorithm", f"use case {manifest.name!r} is "
                   f"{manifest.problem_type}: Autopilot's tabular problem types are "
                   f"{', '.join(contract.AUTOML_PROBLEM_TYPES)}", "script")
            return
        allowed = contract.AUTOML_OBJECTIVE_METRICS[problem]
        if self.objective_metric is not None and self.objective_metric not in allowed:
            guess = nearest(self.objective_metric, list(allowed))
            report(f"{key}.objective_metric", f"{self.objective_metric!r} is not an Autopilot "
                   f"objective for {problem}" + (f"; did you mean {guess!r}?" if guess else ""),
                   ", ".join(allowed))


@dataclass(frozen=True)
class TrainingConfig(JobResources):
    MAX_RUNTIME_SECONDS: ClassVar[int] = contract.TRAINING_MAX_RUNTIME_SECONDS

    # "script": the use case's own image trains; "builtin": the SageMaker algorithm its manifest
    # names (image.builtin_training), whose model the training pipeline repacks; "automl":
    # SageMaker Autopilot trains, its best candidate is evaluated (ml_constructs/automl_branch.py).
    algorithm: Literal["script", "builtin", "automl"] = "script"
    # With algorithm "builtin": which of the use case's built-in algorithms (its manifest's
    # image.builtin_training, the default, or one of image.builtin_alternatives), by framework.
    builtin_algorithm: str | None = None
    use_spot: bool = False
    max_wait_seconds: int = 7200
    # Over the use case's own defaults (its manifest's `hyperparameters`).
    hyperparameters: dict[str, str] = field(default_factory=dict)
    # Each channel's options over the use case's defaults (its manifest's `channels`).
    channels: ChannelsConfig = field(default_factory=ChannelsConfig)
    # Train and tune with this algorithm resource (name or ARN) instead of the image.
    algorithm_name: str | None = None
    # Create the account's own algorithm resource for the use case's image (from its manifest)
    # and train and tune with it, so SageMaker validates every job against its declaration.
    own_algorithm: bool = False
    # The use case's training rules (its manifest's training_rules), judged after training: a
    # rule that found an issue only warns (notification, report) or fails the execution;
    # "off": no rule job at all.
    rules: Literal["warn", "fail", "off"] = "warn"
    # Attach SageMaker Debugger to the training job: its built-in rules (with the built-in
    # algorithm) and the ProfilerReport rule. Off by default: AWS closed Debugger to new
    # customers (existing ones keep it), and its rule containers are billed processing jobs.
    debugger: bool = False
    automl: AutoMLConfig = field(default_factory=AutoMLConfig)

    def validate(self, key: str) -> None:
        super().validate(key)
        self.channels.validate(f"{key}.channels")
        self.automl.validate(f"{key}.automl")
        if self.algorithm_name is not None and not (
                len(self.algorithm_name) <= contract.ALGORITHM_NAME_MAX
                and contract.ALGORITHM_ARN_OR_NAME.match(self.algorithm_name)):
            report(f"{key}.algorithm_name", f"{self.algorithm_name!r} is not an algorithm "
                   "resource's name or ARN", "1-63 letters, digits and '-', or "
                   "arn:aws:sagemaker:<region>:<account>:algorithm/<name>")
        if self.algorithm == "automl" and (self.algorithm_name or self.own_algorithm):
            # Autopilot picks and trains its own candidates (CreateAutoMLJobV2 takes no
            # AlgorithmSpecification): an algorithm resource would never be used.
            given = "algorithm_name" if self.algorithm_name else "own_algorithm"
            report(f"{key}.{given}", "trains with an algorithm resource: not with algorithm "
                   "'automl' (Autopilot chooses and trains its own candidates)",
                   "leave algorithm_name out and own_algorithm false, or algorithm 'script'")
        check_range(f"{key}.max_wait_seconds", self.max_wait_seconds,
                    contract.JOB_MIN_RUNTIME_SECONDS, contract.TRAINING_MAX_WAIT_SECONDS)
        if self.use_spot and self.max_wait_seconds < self.max_runtime_seconds:
            report(f"{key}.max_wait_seconds",
                   "must be >= max_runtime_seconds when use_spot is true",
                   f">= {self.max_runtime_seconds}")

    def _builtin_choice_problem(self, key: str, manifest: UseCaseManifest) -> bool:
        """Reports (and says) whether `builtin_algorithm` names no built-in the stage can use."""
        chosen = self.builtin_algorithm
        if chosen is None:
            return False
        if self.algorithm != "builtin":
            report(f"{key}.builtin_algorithm", "names the built-in algorithm to train with: only "
                   "with algorithm \"builtin\"",
                   "algorithm \"builtin\", or leave builtin_algorithm out")
            return True
        if chosen not in manifest.builtin_choices:
            offered = ", ".join(manifest.builtin_choices) or "none"
            report(f"{key}.builtin_algorithm", f"{chosen!r} is not a built-in algorithm use case "
                   f"{manifest.name!r} trains with (it offers {offered})", offered)
            return True
        return False

    def validate_for(self, key: str, manifest: UseCaseManifest) -> None:
        builtin = self.algorithm == "builtin"
        self.channels.validate_for(f"{key}.channels", manifest, builtin=builtin)
        train = self.channels.options(manifest, builtin=builtin)[contract.CHANNEL_TRAIN]
        if (manifest.image.sharded_training and self.algorithm == "script"
                and self.instance_count > 1
                and train["s3_data_distribution_type"] != channel_rules.SHARDED):
            # Preprocessing writes one train shard per instance: a replicated channel would
            # hand every instance every shard, and the collective would count each row n times.
            report(f"{key}.channels.train.s3_data_distribution_type",
                   f"{train['s3_data_distribution_type']!r} with instance_count "
                   f"{self.instance_count}: use case {manifest.name!r} trains on one train shard "
                   "per instance", f"{channel_rules.SHARDED}, or instance_count 1")
        if self.own_algorithm and (self.algorithm != "script" or self.algorithm_name):
            report(f"{key}.own_algorithm", "declares the use case's own image as an algorithm "
                   "resource: not with algorithm 'builtin' or another algorithm_name",
                   "false, or algorithm 'script' without algorithm_name")
        if self.algorithm == "automl":
            self.automl.validate_for(f"{key}.automl", manifest)
        family = manifest.image.instance_family
        problem = contract.instance_family_problem(family, self.instance_type, manifest.name)
        if problem:
            # Here, not by SageMaker: a CPU instance would start and bill, then the training
            # script would fail (or crawl) without CUDA.
            report(f"{key}.instance_type", problem, contract.INSTANCE_FAMILY_EXAMPLES[family])
        builtin = manifest.image.builtin_training
        if self._builtin_choice_problem(key, manifest):
            return
        if self.algorithm == "builtin" and builtin is None:
            report(f"{key}.algorithm", f"use case {manifest.name!r} names no built-in "
                   "algorithm (its manifest's image.builtin_training)", "script")
        for name in builtin_algorithms.MODEL_KIND_HYPERPARAMETERS:
            given = self.hyperparameters.get(name)
            if self.algorithm == "builtin" and builtin is not None and given not in (
                    None, builtin.hyperparameters.get(name)):
                # The repacked model is scored and served as the use case's prediction.
                report(f"{key}.hyperparameters.{name}",
                       f"{given!r} is not what use case {manifest.name!r} serves",
                       f"{builtin.hyperparameters.get(name)!r}, or leave it out")
        if self.algorithm == "builtin" and builtin is not None:
            # What the algorithm receives: the manifest's, its needs, then the stage's values.
            merged = {**manifest.hyperparameters, **builtin.hyperparameters,
                      **self.hyperparameters}
            problem = builtin_algorithms.algorithm(builtin.framework).hyperparameter_problem(
                merged, manifest.problem_type)
            if problem:
                report(f"{key}.hyperparameters", problem)


@dataclass(frozen=True)
class TuningConfig:
    enabled: bool = False
    strategy: Literal[contract.TUNING_STRATEGIES] = "Bayesian"
    # None: the use case's own objective (its manifest's tuning.objective_metric / _type).
    objective_metric: str | None = None
    objective_type: Literal["Maximize", "Minimize"] | None = None
    max_jobs: int = 20
    max_parallel_jobs: int = 2

    def validate(self, key: str) -> None:
        check_range(f"{key}.max_jobs", self.max_jobs, 1, contract.TUNING_MAX_TRAINING_JOBS)
        check_range(f"{key}.max_parallel_jobs", self.max_parallel_jobs, 1,
                    contract.TUNING_MAX_PARALLEL_JOBS)
        if self.max_parallel_jobs > self.max_jobs:
            report(f"{key}.max_parallel_jobs", "must not exceed max_jobs",
                   f"<= {self.max_jobs}")

    def validate_for(self, key: str, manifest: UseCaseManifest, *, builtin: bool) -> None:
        allowed = objective_metrics(manifest, builtin=builtin)
        if self.enabled and not allowed:
            report(f"{key}.enabled", f"use case {manifest.name!r} trains with built-in "
                   f"{manifest.image.builtin_training.framework}, which reports no metric a "
                   "tuning job could optimise", "false, or training.algorithm \"script\"")
            return
        if self.objective_metric is not None and self.objective_metric not in allowed:
            guess = nearest(self.objective_metric, allowed)
            report(f"{key}.objective_metric", f"{self.objective_metric!r} is not a metric "
                   f"use case {manifest.name!r} emits" + (f"; did you mean {guess!r}?"
                                                         if guess else ""), ", ".join(allowed))


def objective_metrics(manifest: UseCaseManifest, *, builtin: bool) -> list[str]:
    """The metrics a tuning job of the use case can optimise: its training log's, or what the
    built-in algorithm reports for the use case's problem type (common/builtin_algorithms.py)."""
    algorithm = manifest.image.builtin_training
    if builtin and algorithm is not None:
        return builtin_algorithms.algorithm(algorithm.framework).objective_metrics(
            manifest.problem_type)
    return list(manifest.training_metrics)


def metric_bounds(manifest: UseCaseManifest, name: str) -> tuple[float, float]:
    """The range a threshold on the use case's metric `name` may take."""
    metric = manifest.metric(name)
    return (-float("inf") if metric.minimum is None else metric.minimum,
            float("inf") if metric.maximum is None else metric.maximum)


@dataclass(frozen=True)
class GateCondition:
    """One condition the evaluation's metrics must meet (runtime_scripts/common/quality_gate.py);
    its metric is one of the use case's gateable metrics (its manifest)."""

    metric: str
    comparison: Literal[contract.GATE_COMPARISONS]
    threshold: float

    def validate(self, key: str) -> None:
        return None  # needs the use case: validate_for

    def validate_for(self, key: str, manifest: UseCaseManifest) -> None:
        if self.metric not in manifest.gateable_metrics:
            guess = nearest(self.metric, manifest.gateable_metrics)
            report(f"{key}.metric", f"{self.metric!r} is not a metric use case "
                   f"{manifest.name!r} can be gated on" + (f"; did you mean {guess!r}?"
                                                           if guess else ""),
                   ", ".join(manifest.gateable_metrics))
            return
        metric = manifest.metric(self.metric)
        better = metric.better_comparisons
        if self.comparison not in better:
            report(f"{key}.comparison", f"{self.metric} is better when "
                   f"{'higher' if metric.higher_is_better else 'lower'}, so "
                   f"'{self.comparison}' would pass worse models", " or ".join(better))
        check_range(f"{key}.threshold", self.threshold, *metric_bounds(manifest, self.metric))


@dataclass(frozen=True)
class QualityGateConfig:
    """Every condition must hold for a model to be registered; None: the use case's default
    gate (its manifest's). A gate has at least two conditions and, where the use case names
    such metrics (classification: precision, recall or F1), one on them: a ranking metric alone
    (AUC) once approved a model that never predicted the positive class."""

    conditions: list[GateCondition] | None = None

    def validate(self, key: str) -> None:
        return None  # needs the use case: validate_for

    def effective(self, manifest: UseCaseManifest) -> list[GateCondition]:
        if self.conditions is not None:
            return list(self.conditions)
        return [GateCondition(c.metric, c.comparison, c.threshold) for c in manifest.gate]

    def validate_for(self, key: str, manifest: UseCaseManifest) -> None:
        conditions = self.effective(manifest)
        low, high = contract.GATE_MIN_CONDITIONS, contract.GATE_MAX_CONDITIONS
        if not low <= len(conditions) <= high:
            report(f"{key}.conditions", f"has {len(conditions)} conditions",
                   f"{low} .. {high}, e.g. " + " and ".join(
                       f"{c.metric} {c.comparison} {c.threshold}" for c in manifest.gate))
        for i, condition in enumerate(conditions):
            condition.validate_for(f"{key}.conditions[{i}]", manifest)
        required = manifest.gate_requires_one_of
        if required and not any(c.metric in required for c in conditions):
            report(f"{key}.conditions", f"no condition on {', '.join(required)}: a model that "
                   "never predicts the positive class would pass",
                   f'add one, e.g. {{"metric": "{required[0]}", "comparison": ">=", '
                   '"threshold": 0.5}')

