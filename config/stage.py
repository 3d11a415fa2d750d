"""The root of a stage file: the stage's own keys, its sections, and the use cases it deploys."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from config.checks import ACCOUNT, LOG_RETENTION_DAYS, PROJECT_NAME, REGION, check_email
from config.cicd import CicdConfig
from config.lake import LakeFormationConfig, StudioConfig, check_lake_against_stage
from config.problems import collecting, independently, report, reported
from config.resources import (
    BatchInferenceConfig,
    InputValidationConfig,
    JobResources,
    JobRetryConfig,
    NetworkConfig,
    RegistryConfig,
    StorageConfig,
)
from config.serving import MonitoringConfig, ServingConfig
from config.tracking import ExperimentTrackingConfig
from config.training import TrainingConfig, TuningConfig
from config.use_cases import UseCaseConfig
from runtime_scripts.common.manifest import available_use_cases
from runtime_scripts.pipeline_input.names import MAX_SCOPED_PREFIX

# '<project>-<stage>': bucket names (<prefix>-<kind>-<account>-<region>, S3 allows 63) leave it
# 24 characters; job names derived from executions (runtime_scripts/pipeline_input/names.py)
# keep it whole only up to MAX_SCOPED_PREFIX, the tighter of the two.
RESOURCE_PREFIX_MAX = min(24, MAX_SCOPED_PREFIX)


@dataclass(frozen=True)
class StageConfig:
    stage: str
    project_name: str = "mlplatform"
    account: str | None = None  # None: the CLI's default account at deploy time
    region: str = "eu-west-1"
    cost_centre: str = "ml-platform"
    owner: str = "ml-team"
    notification_email: str | None = None
    log_retention_days: int = 365
    storage: StorageConfig = field(default_factory=StorageConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    input_validation: InputValidationConfig = field(default_factory=InputValidationConfig)
    serving: ServingConfig = field(default_factory=ServingConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    processing: JobResources = field(default_factory=JobResources)
    job_retries: JobRetryConfig = field(default_factory=JobRetryConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    tuning: TuningConfig = field(default_factory=TuningConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    batch_inference: BatchInferenceConfig = field(default_factory=BatchInferenceConfig)
    cicd: CicdConfig = field(default_factory=CicdConfig)
    lake_formation: LakeFormationConfig = field(default_factory=LakeFormationConfig)
    studio: StudioConfig = field(default_factory=StudioConfig)
    experiment_tracking: ExperimentTrackingConfig = field(
        default_factory=ExperimentTrackingConfig)
    # What the stage deploys; each use case's sections override the stage's sections above.
    use_cases: list[UseCaseConfig] = field(default_factory=list)

    def validate(self, key: str = "") -> None:
        if not PROJECT_NAME.match(self.project_name):
            report("project_name", f"{self.project_name!r} is not a valid name",
                   "3-32 lowercase letters, digits and '-', starting with a letter")
        if len(self.resource_prefix) > RESOURCE_PREFIX_MAX:
            report("project_name", f"'{self.resource_prefix}' (project-stage) is "
                   f"{len(self.resource_prefix)} characters long: every job name, "
                   "even a 32-character tuning job name, must start with "
                   "'<project>-<stage>-' for the IAM policies scoped to that prefix",
                   f"at most {RESOURCE_PREFIX_MAX}")
        if self.account is not None and not ACCOUNT.match(self.account):
            report("account", f"{self.account!r} is not an AWS account id",
                   "12 digits, or null for the CLI's default account")
        if not REGION.match(self.region):
            report("region", f"{self.region!r} is not an AWS region", "e.g. eu-west-1")
        check_email("notification_email", self.notification_email,
                    "null for no email subscription")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            report("log_retention_days", f"{self.log_retention_days!r} is not allowed",
                   ", ".join(map(str, LOG_RETENTION_DAYS)))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if dataclasses.is_dataclass(value):
                with independently():
                    value.validate(f.name)
        with independently():
            check_serving_against_stage(self)
        self._validate_use_cases()
        with independently():
            check_lake_against_stage(self)

    def _validate_use_cases(self) -> None:
        if self.cicd.enabled and self.use_cases:
            # Its app is the pipeline alone (docs/cicd.md): use cases here would deploy nowhere.
            report("use_cases", "a stage hosting the CI/CD pipeline deploys only the pipeline",
                   "[] here; list use cases in the stages of cicd.stages")
        elif not self.use_cases and not self.cicd.enabled:
            report("use_cases", "no use case is listed: a stage deploys at least one",
                   ", ".join(f'{{"name": "{n}"}}' for n in available_use_cases()))
        seen: set[str] = set()
        for i, use_case in enumerate(self.use_cases):
            key = f"use_cases[{i}]"
            if use_case.name in seen:
                report(f"{key}.name", f"{use_case.name!r} is listed twice",
                       "each use case once, with all its overrides")
            # Each use case's serving permissions are scoped to '<prefix>-<use case>-*', which
            # would also grant one use case the resources of another named '<use case>-...'.
            overlapping = [other for other in seen if use_case.name.startswith(f"{other}-")
                           or other.startswith(f"{use_case.name}-")]
            if overlapping:
                report(f"{key}.name", f"{use_case.name!r} and {overlapping[0]!r} in one stage: "
                       "one name followed by '-' begins the other, so the resource names of one "
                       "would fall under the other's permissions",
                       "names where neither is the other plus '-...', e.g. sales and saleseu")
            seen.add(use_case.name)
            stage_problems = set(reported())
            with collecting() as found:
                with independently():
                    use_case.validate(key)
                check_serving_against_stage(self, f"{key}.", use_case.serving,
                                            use_case.monitoring)
            for problem in found:
                # A value the use case inherits is wrong at the stage's key already.
                inherited = dataclasses.replace(problem, key=problem.key.removeprefix(f"{key}."))
                if inherited not in stage_problems:
                    report(problem.key, problem.problem, problem.allowed)

    def use_case(self, name: str) -> UseCaseConfig:
        for use_case in self.use_cases:
            if use_case.name == name:
                return use_case
        raise KeyError(f"stage {self.stage!r} deploys no use case {name!r}: it deploys "
                       f"{', '.join(u.name for u in self.use_cases) or 'none'}")

    @property
    def resource_prefix(self) -> str:
        """Prefix for named resources (jobs, state machines): project and stage."""
        return f"{self.project_name}-{self.stage}"

    @property
    def tags(self) -> dict[str, str]:
        return {"project": self.project_name, "stage": self.stage,
                "cost-centre": self.cost_centre, "owner": self.owner}


def check_serving_against_stage(config: StageConfig, key: str = "",
                                serving: ServingConfig | None = None,
                                monitoring: MonitoringConfig | None = None) -> None:
    """Rules between serving, monitoring and the rest of the stage (a use case's own serving
    and monitoring when given, under `key`)."""
    serving = serving or config.serving
    monitoring = monitoring or config.monitoring
    if serving.serverless is None:
        return
    if config.network.isolate:
        report(f"{key}serving.serverless", "serverless endpoints cannot run in a VPC, and "
               "network.isolate is true", "null (instances) when network.isolate")
    if monitoring.enabled:
        report(f"{key}monitoring.enabled", "serverless endpoints have no data capture, so "
               "Model Monitor cannot watch them", "false with serving.serverless")
