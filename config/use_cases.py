"""`use_cases[i]`: one use case a stage deploys, its sections merged over the stage's own."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from config.problems import independently, nearest, report
from config.resources import BatchInferenceConfig
from config.serving import MonitoringConfig, ServingConfig
from config.training import GateCondition, QualityGateConfig, TrainingConfig, TuningConfig
from runtime_scripts.common import builtin_algorithms
from runtime_scripts.common.manifest import (
    USE_CASE_NAME,
    USE_CASE_NAME_MAX,
    ManifestError,
    Serving,
    UseCaseManifest,
    available_use_cases,
    load_manifest,
)

_DATA_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$")
# The sections a use case may override; what it leaves out keeps the stage's value.
OVERRIDABLE = ("training", "tuning", "batch_inference", "serving", "monitoring")


@dataclass(frozen=True)
class UseCaseConfig:
    """One use case a stage deploys: `use_cases[i]` of the stage file. Its sections override
    the stage's sections of the same name key by key (what it leaves out, the stage's value);
    the gate, hyperparameters and tuning objective default to the use case's manifest."""

    name: str
    data_prefix: str | None = None  # under the raw and curated buckets; None: "<name>/"
    training: TrainingConfig = field(default_factory=TrainingConfig)
    tuning: TuningConfig = field(default_factory=TuningConfig)
    quality_gate: QualityGateConfig = field(default_factory=QualityGateConfig)
    batch_inference: BatchInferenceConfig = field(default_factory=BatchInferenceConfig)
    serving: ServingConfig = field(default_factory=ServingConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)

    @property
    def manifest(self) -> UseCaseManifest:
        """The use case's manifest as this stage trains it: with training.builtin_algorithm,
        that algorithm in place of the default one (UseCaseManifest.with_builtin)."""
        manifest = load_manifest(self.name)
        chosen = self.training.builtin_algorithm
        if self.builtin_training and chosen in manifest.builtin_choices:
            return manifest.with_builtin(chosen)
        return manifest

    @property
    def prefix(self) -> str:
        """The data prefix under the raw and curated buckets."""
        return self.data_prefix or f"{self.name}/"

    @property
    def builtin_training(self) -> bool:
        return self.training.algorithm == "builtin"

    @property
    def automl_training(self) -> bool:
        return self.training.algorithm == "automl"

    @property
    def builtin_serving(self) -> bool:
        """The built-in algorithm's own inference container serves (serving.container)."""
        return self.builtin_training and self.serving.container == "builtin"

    @property
    def batch_labels_scored(self) -> bool:
        """Whether a batch's answers can be scored against labels known for it: not from the
        built-in's own container, which answers its JSON without the rows' ids."""
        return not self.builtin_serving

    @property
    def served(self) -> Serving:
        """What the model takes and answers: the use case's (its manifest); served from the
        built-in algorithm's own container, a serial inference pipeline
        (ml_constructs/sagemaker_jobs.inference_containers) whose first container, the use
        case's image, takes what the use case takes (raw rows) and whose last, the built-in's,
        answers its own formats (common/builtin_algorithms.py)."""
        if not self.builtin_serving:
            return self.manifest.serving
        spec = builtin_algorithms.algorithm(self.manifest.image.builtin_training.framework)
        return Serving(content_types=self.manifest.serving.content_types,
                       accept_types=spec.answer_types, prediction_columns=spec.answer_keys)

    def _validate_serving_container(self, key: str, manifest: UseCaseManifest) -> None:
        if self.serving.container != "builtin":
            return
        builtin = manifest.image.builtin_training
        if not self.builtin_training or builtin is None:
            report(f"{key}.serving.container", "serves the built-in algorithm's model: train "
                   "with it (training.algorithm \"builtin\")", "use_case")
            return
        if not builtin_algorithms.algorithm(builtin.framework).inference_content_types:
            report(f"{key}.serving.container", f"the platform serves a {builtin.framework} "
                   "model from the use case's image only", "use_case")
        elif manifest.batch_predictions is not None:
            report(f"{key}.serving.container", f"use case {manifest.name!r} writes its batch "
                   "answers into a prediction table of its own columns; the built-in container "
                   "answers its algorithm's JSON", "use_case")
        elif self.monitoring.enabled:
            # The record preprocessor and the model quality job parse the use case's answers;
            # the serial pipeline's last container, the built-in's, answers its own JSON.
            report(f"{key}.monitoring.enabled", "Model Monitor parses the use case's answers "
                   "in the captured data; the built-in container answers its own JSON",
                   "false, or serving.container \"use_case\"")

    def _builtin_hyperparameters(self) -> dict[str, str]:
        builtin = self.manifest.image.builtin_training
        return builtin.hyperparameters if self.builtin_training and builtin else {}

    @property
    def hyperparameters(self) -> dict[str, str]:
        """The manifest's defaults, the built-in algorithm's needs, then the stage's values."""
        return {**self.manifest.hyperparameters, **self._builtin_hyperparameters(),
                **self.training.hyperparameters}

    @property
    def static_tuning_hyperparameters(self) -> dict[str, str]:
        """The tuning's fixed values: the manifest's and the built-in's needs, less what the
        search space tunes (the built-in's default wd, say, where wd is searched)."""
        tuning = self.manifest.tuning
        tuned = {r["name"] for kind in tuning.ranges.values() for r in kind}
        return {k: v for k, v in {**tuning.static_hyperparameters,
                                  **self._builtin_hyperparameters()}.items() if k not in tuned}

    @property
    def objective(self) -> tuple[str, str]:
        """The tuning objective: (metric, Maximize | Minimize)."""
        manifest = self.manifest
        builtin = manifest.image.builtin_training
        default = (builtin.objective_metric if self.builtin_training and builtin
                   and builtin.objective_metric else manifest.tuning.objective_metric)
        metric = self.tuning.objective_metric or default
        direction = manifest.tuning.objective_type
        if self.builtin_training and builtin:  # the algorithm's documented direction
            spec = builtin_algorithms.algorithm(builtin.framework)
            if metric in spec.objective_metrics(manifest.problem_type):
                direction = spec.direction(metric)
        return metric, self.tuning.objective_type or direction

    @property
    def gate(self) -> list[GateCondition]:
        return self.quality_gate.effective(self.manifest)

    @property
    def model_quality_metric(self) -> str:
        return self.monitoring.model_quality_metric or self.gate[0].metric

    def validate(self, key: str) -> None:
        if not USE_CASE_NAME.match(self.name):
            report(f"{key}.name", f"{self.name!r} is not a use case name",
                   f"2-{USE_CASE_NAME_MAX} lowercase letters, digits and single '-', "
                   "starting with a letter")
            return
        try:
            manifest = self.manifest
        except ManifestError as exc:
            guess = nearest(self.name, available_use_cases())
            report(f"{key}.name", str(exc) + (f"; did you mean {guess!r}?" if guess else ""))
            return
        if self.data_prefix is not None and not _DATA_PREFIX.match(self.data_prefix):
            report(f"{key}.data_prefix", f"{self.data_prefix!r} is not an S3 key prefix",
                   "segments of letters, digits and !_.*'()- separated by '/', ending in "
                   "'/', e.g. sales/eu/")
        for name in OVERRIDABLE:
            with independently():
                getattr(self, name).validate(f"{key}.{name}")
        with independently():
            self.training.validate_for(f"{key}.training", manifest)
        with independently():
            self.tuning.validate_for(f"{key}.tuning", manifest, builtin=self.builtin_training)
        with independently():
            self.quality_gate.validate_for(f"{key}.quality_gate", manifest)
        with independently():
            self.monitoring.validate_for(f"{key}.monitoring", manifest)
        with independently():
            self._validate_serving_container(key, manifest)
