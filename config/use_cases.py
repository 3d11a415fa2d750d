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
        return load_manifest(self.name)

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
        return {**self.manifest.tuning.static_hyperparameters, **self._builtin_hyperparameters()}

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
