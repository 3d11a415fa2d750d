"""Typed, validated stage configuration: the one place where defaults and allowed values live.

A stage file (`config/stages/<stage>.json`) overrides the defaults declared on these dataclasses.
`load_stage_config` reads it, rejects unknown keys, checks every type and value, and raises
`ConfigError` naming the key path, the bad value and what is allowed. Stacks receive only an
already-validated `StageConfig`.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from config.problems import (
    ConfigError,
    collecting,
    display_path,
    independently,
    nearest,
    report,
    with_article,
)
from runtime_scripts import contract
from runtime_scripts.common.manifest import (
    USE_CASE_NAME,
    ManifestError,
    UseCaseManifest,
    available_use_cases,
    load_manifest,
)
from runtime_scripts.pipeline_input.names import MAX_SCOPED_PREFIX

STAGES_DIR = Path(__file__).with_name("stages")
# '<project>-<stage>': bucket names (<prefix>-<kind>-<account>-<region>, S3 allows 63) leave it
# 24 characters; job names derived from executions (runtime_scripts/pipeline_input/names.py)
# keep it whole only up to MAX_SCOPED_PREFIX, the tighter of the two.
RESOURCE_PREFIX_MAX = min(24, MAX_SCOPED_PREFIX)


# --- value checks ---------------------------------------------------------------------------------
_ML_INSTANCE = re.compile(r"^ml\.[a-z][a-z0-9-]*\.[a-z0-9-]+$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\(([^ ()]+ ){5}[^ ()]+\)$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
# CloudWatch Logs accepts only these retention values (in days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)


def check_instance_type(key: str, value: str) -> None:
    if not _ML_INSTANCE.match(value):
        report(key, f"{value!r} is not a SageMaker instance type",
               "an ml.* type such as ml.m5.xlarge, ml.c5.2xlarge, ml.g5.xlarge")


def check_schedule(key: str, value: str) -> bool:
    """Reports what is wrong with an EventBridge schedule expression; whether it is valid."""
    rate = _RATE.match(value)
    if rate:
        amount, unit = int(rate.group(1)), rate.group(2)
        if amount < 1 or (amount == 1) != (not unit.endswith("s")):
            report(key, f"{value!r}: use 'rate(1 day)' or 'rate(N days)' with N > 1",
                   "rate(N minutes|hours|days) or cron(min hour dom month dow year)")
            return False
        return True
    if not _CRON.match(value):
        report(key, f"{value!r} is not a schedule expression",
               "rate(N minutes|hours|days) or cron(min hour dom month dow year), "
               "e.g. cron(0 3 * * ? *)")
        return False
    fields = value[5:-1].split(" ")
    if fields[2] != "?" and fields[4] != "?":
        report(key, f"{value!r}: day-of-month or day-of-week must be '?'",
               "cron(0 3 * * ? *) or cron(0 3 ? * MON *)")
        return False
    return True


def check_positive(key: str, value: float, minimum: float = 1) -> None:
    if value < minimum:
        report(key, f"{value!r} is below the minimum", f">= {minimum}")


def check_range(key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        report(key, f"{value!r} is out of range", f"{low} .. {high}")


# --- sections -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StorageConfig:
    noncurrent_version_expiration_days: int = 90
    incomplete_upload_expiration_days: int = 7
    infrequent_access_transition_days: int = 30
    access_log_expiration_days: int = 365

    def validate(self, key: str) -> None:
        for name in ("noncurrent_version_expiration_days", "incomplete_upload_expiration_days",
                     "access_log_expiration_days"):
            check_positive(f"{key}.{name}", getattr(self, name))
        # S3 refuses a STANDARD_IA transition sooner than 30 days after creation.
        check_positive(f"{key}.infrequent_access_transition_days",
                       self.infrequent_access_transition_days, 30)


@dataclass(frozen=True)
class InputValidationConfig:
    """The `Validate input` Lambda every pipeline starts with."""

    # Concurrent executions reserved for it; None reserves nothing (the account's unreserved
    # pool). Lambda keeps 100 of the account's concurrency unreserved and a new account's quota
    # can be as low as 10, so any reservation can fail the first deploy there: off by default.
    reserved_concurrency: int | None = None

    def validate(self, key: str) -> None:
        if self.reserved_concurrency is not None:
            # 0 would throttle every invocation, so every execution would fail in its first state.
            check_positive(f"{key}.reserved_concurrency", self.reserved_concurrency)


@dataclass(frozen=True)
class NetworkConfig:
    """Optional VPC isolation: jobs and endpoints run in private subnets with VPC endpoints."""

    isolate: bool = False
    cidr: str = "10.42.0.0/16"
    max_azs: int = 2

    def validate(self, key: str) -> None:
        if not re.match(r"^\d{1,3}(\.\d{1,3}){3}/(1[6-9]|2[0-4])$", self.cidr):
            report(f"{key}.cidr", f"{self.cidr!r} is not an IPv4 CIDR",
                   "a.b.c.d/16 .. a.b.c.d/24")
        check_range(f"{key}.max_azs", self.max_azs, 1, 3)


@dataclass(frozen=True)
class JobResources:
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    volume_size_gb: int = 30
    max_runtime_seconds: int = 3600

    def validate(self, key: str) -> None:
        check_instance_type(f"{key}.instance_type", self.instance_type)
        check_positive(f"{key}.instance_count", self.instance_count)
        check_range(f"{key}.volume_size_gb", self.volume_size_gb, 1, 16384)
        # SageMaker caps a training job's MaxRuntimeInSeconds at 28 days.
        check_range(f"{key}.max_runtime_seconds", self.max_runtime_seconds, 60, 2_419_200)


@dataclass(frozen=True)
class JobRetryConfig:
    """Retries of SageMaker jobs that failed for a transient reason (no capacity, an internal
    error): each attempt is a new job with a fresh name, after an exponential back-off."""

    max_attempts: int = 3  # the first attempt included; 1 turns job retries off
    first_interval_seconds: int = 120
    backoff_rate: float = 2.0

    def validate(self, key: str) -> None:
        # Each attempt is paid for again; a handful covers a capacity shortage of some minutes.
        check_range(f"{key}.max_attempts", self.max_attempts, 1, 5)
        check_range(f"{key}.first_interval_seconds", self.first_interval_seconds, 1, 3600)
        check_range(f"{key}.backoff_rate", self.backoff_rate, 1.0, 5.0)

    @property
    def wait_seconds(self) -> list[int]:
        """The back-off before attempt 2, 3, ... (one fewer than max_attempts)."""
        return [round(self.first_interval_seconds * self.backoff_rate ** i)
                for i in range(self.max_attempts - 1)]


@dataclass(frozen=True)
class TrainingConfig(JobResources):
    # "script": the use case's own image trains; "builtin": the SageMaker algorithm its manifest
    # names (image.builtin_training), whose model the training pipeline repacks.
    algorithm: Literal["script", "builtin"] = "script"
    use_spot: bool = False
    max_wait_seconds: int = 7200
    # Over the use case's own defaults (its manifest's `hyperparameters`).
    hyperparameters: dict[str, str] = field(default_factory=dict)

    def validate(self, key: str) -> None:
        super().validate(key)
        if self.use_spot and self.max_wait_seconds < self.max_runtime_seconds:
            report(f"{key}.max_wait_seconds",
                   "must be >= max_runtime_seconds when use_spot is true",
                   f">= {self.max_runtime_seconds}")

    def validate_for(self, key: str, manifest: UseCaseManifest) -> None:
        builtin = manifest.image.builtin_training
        if self.algorithm == "builtin" and builtin is None:
            report(f"{key}.algorithm", f"use case {manifest.name!r} names no built-in "
                   "algorithm (its manifest's image.builtin_training)", "script")
        objective = self.hyperparameters.get("objective")
        if self.algorithm == "builtin" and builtin is not None and objective not in (
                None, builtin.hyperparameters.get("objective")):
            # The repacked model is scored and served as the use case's prediction.
            report(f"{key}.hyperparameters.objective",
                   f"{objective!r} is not what use case {manifest.name!r} serves",
                   f"{builtin.hyperparameters.get('objective')!r}, or leave it out")


@dataclass(frozen=True)
class TuningConfig:
    enabled: bool = False
    strategy: Literal["Bayesian", "Random", "Hyperband", "Grid"] = "Bayesian"
    # None: the use case's own objective (its manifest's tuning.objective_metric / _type).
    objective_metric: str | None = None
    objective_type: Literal["Maximize", "Minimize"] | None = None
    max_jobs: int = 20
    max_parallel_jobs: int = 2

    def validate(self, key: str) -> None:
        check_range(f"{key}.max_jobs", self.max_jobs, 1, 500)
        check_range(f"{key}.max_parallel_jobs", self.max_parallel_jobs, 1, 10)
        if self.max_parallel_jobs > self.max_jobs:
            report(f"{key}.max_parallel_jobs", "must not exceed max_jobs",
                   f"<= {self.max_jobs}")

    def validate_for(self, key: str, manifest: UseCaseManifest, *, builtin: bool) -> None:
        allowed = _objective_metrics(manifest, builtin=builtin)
        if self.objective_metric is not None and self.objective_metric not in allowed:
            guess = nearest(self.objective_metric, allowed)
            report(f"{key}.objective_metric", f"{self.objective_metric!r} is not a metric "
                   f"use case {manifest.name!r} emits" + (f"; did you mean {guess!r}?"
                                                         if guess else ""), ", ".join(allowed))


def _objective_metrics(manifest: UseCaseManifest, *, builtin: bool) -> list[str]:
    algorithm = manifest.image.builtin_training
    if builtin and algorithm is not None:
        return [algorithm.objective_metric]
    return list(manifest.training_metrics)


@dataclass(frozen=True)
class GateCondition:
    """One condition the evaluation's metrics must meet (runtime_scripts/common/quality_gate.py);
    its metric is one of the use case's gateable metrics (its manifest)."""

    metric: str
    comparison: Literal[">=", ">", "<=", "<"]
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
        low = -float("inf") if metric.minimum is None else metric.minimum
        high = float("inf") if metric.maximum is None else metric.maximum
        check_range(f"{key}.threshold", self.threshold, low, high)


@dataclass(frozen=True)
class QualityGateConfig:
    """Every condition must hold for a model to be registered; None: the use case's default
    gate (its manifest's). A gate has at least two conditions and, where the use case names
    such metrics (classification: precision, recall or F1), one on them: a ranking metric alone
    (AUC) once approved a model that never predicted churn."""

    conditions: list[GateCondition] | None = None

    def validate(self, key: str) -> None:
        return None  # needs the use case: validate_for

    def effective(self, manifest: UseCaseManifest) -> list[GateCondition]:
        if self.conditions is not None:
            return list(self.conditions)
        return [GateCondition(c.metric, c.comparison, c.threshold) for c in manifest.gate]

    def validate_for(self, key: str, manifest: UseCaseManifest) -> None:
        conditions = self.effective(manifest)
        if not 2 <= len(conditions) <= contract.GATE_MAX_CONDITIONS:
            report(f"{key}.conditions", f"has {len(conditions)} conditions",
                   f"2 .. {contract.GATE_MAX_CONDITIONS}, e.g. "
                   + " and ".join(f"{c.metric} {c.comparison} {c.threshold}"
                                  for c in manifest.gate))
        for i, condition in enumerate(conditions):
            condition.validate_for(f"{key}.conditions[{i}]", manifest)
        required = manifest.gate_requires_one_of
        if required and not any(c.metric in required for c in conditions):
            report(f"{key}.conditions", f"no condition on {', '.join(required)}: a model that "
                   "never predicts the positive class would pass",
                   f'add one, e.g. {{"metric": "{required[0]}", "comparison": ">=", '
                   '"threshold": 0.5}')


@dataclass(frozen=True)
class RegistryConfig:
    approval_status: Literal["Approved", "PendingManualApproval"] = "PendingManualApproval"

    def validate(self, key: str) -> None:
        return None


# --- real-time serving and monitoring (docs/serving.md) -----------------------------------------
# Model Monitor accepts hourly, daily and every-N-hours crons only (ScheduleConfig in the API).
_MONITOR_CRON = re.compile(r"^cron\(0 (\*|\d{1,2}|\d{1,2}/\d{1,2}) \? \* \* \*\)$")
# Families with local NVMe storage (m5d, c5d, r5dn, g4dn, p4d, ...): CreateEndpointConfig rejects a
# KmsKeyId for them, and the platform always encrypts endpoint volumes with its key.
_LOCAL_STORAGE_FAMILY = re.compile(r"^ml\.[a-z]+\d+[a-z]*d[a-z]*\.")
SERVERLESS_MEMORY_SIZES_MB = (1024, 2048, 3072, 4096, 5120, 6144)


def check_hosting_instance(key: str, value: str) -> None:
    check_instance_type(key, value)
    if _LOCAL_STORAGE_FAMILY.match(value):
        report(key, f"{value!r} has local instance storage, which SageMaker cannot "
               "encrypt with the platform's KMS key",
               "an EBS-backed type such as ml.m5.large, ml.c5.xlarge, ml.g5.xlarge")


def check_monitoring_schedule(key: str, value: str) -> None:
    if check_schedule(key, value) and not _MONITOR_CRON.match(value):
        report(key, f"{value!r} is not a Model Monitor schedule",
               "hourly cron(0 * ? * * *), daily cron(0 H ? * * *) or every N hours "
               "cron(0 H/N ? * * *)")


@dataclass(frozen=True)
class ServerlessConfig:
    """Serverless inference: no instances, no autoscaling, no data capture, no VPC."""

    memory_size_mb: int = 2048
    max_concurrency: int = 5

    def validate(self, key: str) -> None:
        if self.memory_size_mb not in SERVERLESS_MEMORY_SIZES_MB:
            report(f"{key}.memory_size_mb", f"{self.memory_size_mb!r} is not allowed",
                   ", ".join(map(str, SERVERLESS_MEMORY_SIZES_MB)))
        check_range(f"{key}.max_concurrency", self.max_concurrency, 1, 200)


@dataclass(frozen=True)
class AutoscalingConfig:
    """Target tracking on SageMakerVariantInvocationsPerInstance (invocations per instance per
    minute); registered by the deployment state machine once the endpoint is in service."""

    min_capacity: int = 1
    max_capacity: int = 2
    target_invocations_per_instance: int = 500
    scale_in_cooldown_seconds: int = 600
    scale_out_cooldown_seconds: int = 60
    disable_scale_in: bool = False

    def validate(self, key: str) -> None:
        check_range(f"{key}.min_capacity", self.min_capacity, 1, 100)
        check_range(f"{key}.max_capacity", self.max_capacity, 1, 100)
        if self.max_capacity < self.min_capacity:
            report(f"{key}.max_capacity", "must be >= min_capacity",
                   f">= {self.min_capacity}")
        check_range(f"{key}.target_invocations_per_instance",
                    self.target_invocations_per_instance, 1, 1_000_000)
        for name in ("scale_in_cooldown_seconds", "scale_out_cooldown_seconds"):
            check_range(f"{key}.{name}", getattr(self, name), 0, 3600)


@dataclass(frozen=True)
class DeploymentGuardrailsConfig:
    """Blue/green update of a live endpoint (DeploymentConfig.BlueGreenUpdatePolicy)."""

    traffic_routing: Literal["CANARY", "LINEAR", "ALL_AT_ONCE"] = "CANARY"
    step_type: Literal["CAPACITY_PERCENT", "INSTANCE_COUNT"] = "CAPACITY_PERCENT"
    step_size: int = 50  # the canary (CANARY) or each step (LINEAR); unused by ALL_AT_ONCE
    wait_interval_seconds: int = 300  # baking time after each traffic shift, alarms watched
    termination_wait_seconds: int = 300  # the old fleet is kept this long after the last shift
    max_execution_timeout_seconds: int = 3600

    def validate(self, key: str) -> None:
        if self.step_type == "CAPACITY_PERCENT":
            low = 10 if self.traffic_routing == "LINEAR" else 1
            check_range(f"{key}.step_size", self.step_size, low, 50)
        else:
            check_positive(f"{key}.step_size", self.step_size)
        check_range(f"{key}.wait_interval_seconds", self.wait_interval_seconds, 0, 3600)
        check_range(f"{key}.termination_wait_seconds", self.termination_wait_seconds, 0, 3600)
        check_range(f"{key}.max_execution_timeout_seconds", self.max_execution_timeout_seconds,
                    600, 28800)

    def waiting_seconds(self, instance_count: int) -> int:
        """Everything the deployment waits for; SageMaker wants the timeout above it."""
        steps = 1
        if self.traffic_routing == "LINEAR":
            whole = 100 if self.step_type == "CAPACITY_PERCENT" else instance_count
            steps = -(-whole // self.step_size)
        return steps * self.wait_interval_seconds + self.termination_wait_seconds


@dataclass(frozen=True)
class RollbackAlarmsConfig:
    """The endpoint alarms a blue/green deployment watches and rolls back on."""

    max_5xx_errors_per_minute: int = 5
    max_latency_p99_ms: int = 1000
    evaluation_minutes: int = 2

    def validate(self, key: str) -> None:
        check_positive(f"{key}.max_5xx_errors_per_minute", self.max_5xx_errors_per_minute)
        check_range(f"{key}.max_latency_p99_ms", self.max_latency_p99_ms, 1, 60_000)
        check_range(f"{key}.evaluation_minutes", self.evaluation_minutes, 1, 60)


@dataclass(frozen=True)
class ServingConfig:
    instance_type: str = "ml.m5.large"
    initial_instance_count: int = 1
    serverless: ServerlessConfig | None = None  # an object: serverless inference instead
    data_capture_percentage: int = 100
    poll_interval_seconds: int = 60  # how often the deployment state machine checks the endpoint
    autoscaling: AutoscalingConfig = field(default_factory=AutoscalingConfig)
    deployment: DeploymentGuardrailsConfig = field(default_factory=DeploymentGuardrailsConfig)
    alarms: RollbackAlarmsConfig = field(default_factory=RollbackAlarmsConfig)

    def validate(self, key: str) -> None:
        check_hosting_instance(f"{key}.instance_type", self.instance_type)
        check_range(f"{key}.initial_instance_count", self.initial_instance_count, 1, 100)
        check_range(f"{key}.data_capture_percentage", self.data_capture_percentage, 0, 100)
        check_range(f"{key}.poll_interval_seconds", self.poll_interval_seconds, 10, 600)
        for name in ("serverless", "autoscaling", "deployment", "alarms"):
            section = getattr(self, name)
            if section is not None:
                with independently():
                    section.validate(f"{key}.{name}")
        scaling, deploy = self.autoscaling, self.deployment
        if self.serverless is None and not (
                scaling.min_capacity <= self.initial_instance_count <= scaling.max_capacity):
            report(f"{key}.initial_instance_count",
                   f"{self.initial_instance_count} is outside the autoscaling range",
                   f"{scaling.min_capacity} .. {scaling.max_capacity}")
        if deploy.step_type == "INSTANCE_COUNT" and deploy.traffic_routing != "ALL_AT_ONCE":
            if self.serverless is not None:
                report(f"{key}.deployment.step_type", "a serverless endpoint has no "
                       "instances to count", "CAPACITY_PERCENT")
                return
            half = self.initial_instance_count // 2
            low = max(1, -(-self.initial_instance_count // 10)) \
                if deploy.traffic_routing == "LINEAR" else 1
            if not low <= deploy.step_size <= half:
                report(f"{key}.deployment.step_size", f"{deploy.step_size} instances "
                       f"of {self.initial_instance_count}: SageMaker shifts at most "
                       "half the fleet per step", f"{low} .. {half}" if half >= low
                       else "CAPACITY_PERCENT, or more instances")
        waiting = deploy.waiting_seconds(self.initial_instance_count)
        if deploy.max_execution_timeout_seconds <= waiting:
            report(f"{key}.deployment.max_execution_timeout_seconds",
                   f"{deploy.max_execution_timeout_seconds} s does not exceed the "
                   f"{waiting} s the deployment waits", f"> {waiting}")


@dataclass(frozen=True)
class MonitoringConfig:
    """Model Monitor on the endpoint's captured traffic, and what drift sets in motion."""

    enabled: bool = True  # data quality baseline, schedule and drift alarm (instance endpoints)
    schedule: str = "cron(0 * ? * * *)"
    instance_type: str = "ml.m5.large"
    max_runtime_seconds: int = 1800
    drift_threshold: float = 0.2  # alarm when a feature's baseline drift distance exceeds it
    ground_truth_s3_uri: str | None = None  # labels for model quality monitoring, or None
    # None: the first metric of the use case's default gate.
    model_quality_metric: str | None = None
    model_quality_threshold: float = 0.8
    retrain_on_drift: bool = True
    min_hours_between_retraining: int = 24

    def validate(self, key: str) -> None:
        check_monitoring_schedule(f"{key}.schedule", self.schedule)
        check_instance_type(f"{key}.instance_type", self.instance_type)
        # A monitoring job must end before the next hourly run starts.
        check_range(f"{key}.max_runtime_seconds", self.max_runtime_seconds, 60, 3600)
        if not 0.0 < self.drift_threshold <= 1.0:
            report(f"{key}.drift_threshold", f"{self.drift_threshold!r} is out of "
                   "range", "0 < threshold <= 1 (a distribution distance)")
        if self.ground_truth_s3_uri is not None and not re.match(
                r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", self.ground_truth_s3_uri):
            report(f"{key}.ground_truth_s3_uri",
                   f"{self.ground_truth_s3_uri!r} is not an S3 URI",
                   "s3://bucket/prefix/, or null for no model quality monitoring")
        check_range(f"{key}.min_hours_between_retraining", self.min_hours_between_retraining,
                    1, 720)


def _validate_monitoring_for(monitoring: MonitoringConfig, key: str,
                             manifest: UseCaseManifest) -> None:
    name = monitoring.model_quality_metric
    if name is None:
        return
    if name not in manifest.gateable_metrics:
        report(f"{key}.model_quality_metric", f"{name!r} is not a metric of use case "
               f"{manifest.name!r}", ", ".join(manifest.gateable_metrics))
        return
    metric = manifest.metric(name)
    low = -float("inf") if metric.minimum is None else metric.minimum
    high = float("inf") if metric.maximum is None else metric.maximum
    check_range(f"{key}.model_quality_threshold", monitoring.model_quality_threshold, low, high)


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


@dataclass(frozen=True)
class BatchInferenceConfig(JobResources):
    schedule: str | None = None  # EventBridge Scheduler expression; None = not scheduled
    max_payload_mb: int = 6

    def validate(self, key: str) -> None:
        super().validate(key)
        if self.schedule is not None:
            check_schedule(f"{key}.schedule", self.schedule)
        check_range(f"{key}.max_payload_mb", self.max_payload_mb, 1, 100)


# --- use cases ------------------------------------------------------------------------------------
_DATA_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$")


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
    def hyperparameters(self) -> dict[str, str]:
        """The manifest's defaults, the built-in algorithm's needs, then the stage's values."""
        manifest = self.manifest
        builtin = manifest.image.builtin_training
        extra = builtin.hyperparameters if self.builtin_training and builtin else {}
        return {**manifest.hyperparameters, **extra, **self.training.hyperparameters}

    @property
    def static_tuning_hyperparameters(self) -> dict[str, str]:
        manifest = self.manifest
        builtin = manifest.image.builtin_training
        extra = builtin.hyperparameters if self.builtin_training and builtin else {}
        return {**manifest.tuning.static_hyperparameters, **extra}

    @property
    def objective(self) -> tuple[str, str]:
        """The tuning objective: (metric, Maximize | Minimize)."""
        manifest = self.manifest
        builtin = manifest.image.builtin_training
        default = (builtin.objective_metric if self.builtin_training and builtin
                   and builtin.objective_metric else manifest.tuning.objective_metric)
        return (self.tuning.objective_metric or default,
                self.tuning.objective_type or manifest.tuning.objective_type)

    @property
    def gate(self) -> list[GateCondition]:
        return self.quality_gate.effective(self.manifest)

    @property
    def model_quality_metric(self) -> str:
        return self.monitoring.model_quality_metric or self.gate[0].metric

    def validate(self, key: str) -> None:
        if not USE_CASE_NAME.match(self.name):
            report(f"{key}.name", f"{self.name!r} is not a use case name",
                   "2-12 lowercase letters, digits and single '-', starting with a letter")
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
                   "'/', e.g. churn/")
        for name in ("training", "tuning", "batch_inference", "serving", "monitoring"):
            with independently():
                getattr(self, name).validate(f"{key}.{name}")
        with independently():
            self.training.validate_for(f"{key}.training", manifest)
        with independently():
            self.tuning.validate_for(f"{key}.tuning", manifest, builtin=self.builtin_training)
        with independently():
            self.quality_gate.validate_for(f"{key}.quality_gate", manifest)
        with independently():
            _validate_monitoring_for(self.monitoring, f"{key}.monitoring", manifest)


_CONNECTION_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:(codestar-connections|codeconnections):[a-z]{2}(-[a-z]+)+-\d:\d{12}:"
    r"connection/[A-Za-z0-9-]+$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
_BRANCH = re.compile(r"^(?![/.-])(?!.*(\.\.|//|@\{|\.lock$|/$))[A-Za-z0-9._/-]{1,255}$")


@dataclass(frozen=True)
class CicdConfig:
    """CDK Pipelines delivery (docs/cicd.md). When enabled, this stage's app is the pipeline: it
    deploys `stages` in order, each built from its own stage file."""

    enabled: bool = False
    connection_arn: str | None = None  # CodeConnections connection to GitHub, Bitbucket or GitLab
    repository: str | None = None  # "owner/name" ("group/subgroup/name" on GitLab)
    branch: str = "main"
    stages: list[str] = field(default_factory=lambda: ["dev", "prod"])
    manual_approval_before: str | None = "prod"
    smoke_test: bool = True  # after the first stage: the training pipeline on the sample data
    smoke_test_timeout_minutes: int = 120
    registry_scan_on_push: bool = True
    notification_email: str | None = None  # None: the stage's notification_email

    def validate(self, key: str) -> None:
        if self.connection_arn is not None and not _CONNECTION_ARN.match(self.connection_arn):
            report(f"{key}.connection_arn", f"{self.connection_arn!r} is not a "
                   "connection ARN", "arn:aws:codeconnections:REGION:ACCOUNT:"
                   "connection/ID (or codestar-connections)")
        if self.repository is not None and not _REPOSITORY.match(self.repository):
            report(f"{key}.repository", f"{self.repository!r} is not a repository",
                   "owner/name, e.g. example-org/ml-platform")
        if not _BRANCH.match(self.branch):
            report(f"{key}.branch", f"{self.branch!r} is not a branch name",
                   "a git branch such as main or release/1.2")
        check_range(f"{key}.smoke_test_timeout_minutes", self.smoke_test_timeout_minutes, 5, 480)
        if self.notification_email is not None and not _EMAIL.match(self.notification_email):
            report(f"{key}.notification_email",
                   f"{self.notification_email!r} is not an email address",
                   "name@example.com, or null for the stage's notification_email")
        if self.enabled:
            self._validate_delivery(key)

    def _validate_delivery(self, key: str) -> None:
        """Only an enabled pipeline must name its source and existing stages, so a disabled
        default section never depends on which stage files a fork keeps."""
        for name in ("connection_arn", "repository"):
            if getattr(self, name) is None:
                report(f"{key}.{name}", f"is required when {key}.enabled is true",
                       "see docs/cicd.md")
        known = available_stages()
        if not self.stages:
            report(f"{key}.stages", "must list at least one stage", ", ".join(known))
        for index, name in enumerate(self.stages):
            if name not in known:
                report(f"{key}.stages[{index}]", f"unknown stage {name!r}",
                       ", ".join(known))
            elif name in self.stages[:index]:
                report(f"{key}.stages[{index}]", f"{name!r} is listed twice",
                       "each stage once, in deployment order")
        if (self.manual_approval_before is not None
                and self.manual_approval_before not in self.stages):
            report(f"{key}.manual_approval_before",
                   f"{self.manual_approval_before!r} is not in {key}.stages",
                   ", ".join(self.stages) + ", or null for no approval")


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
    # What the stage deploys; each use case's sections override the stage's sections above.
    use_cases: list[UseCaseConfig] = field(default_factory=list)

    def validate(self, key: str = "") -> None:
        if not _NAME.match(self.project_name):
            report("project_name", f"{self.project_name!r} is not a valid name",
                   "3-32 lowercase letters, digits and '-', starting with a letter")
        if len(self.resource_prefix) > RESOURCE_PREFIX_MAX:
            report("project_name", f"'{self.resource_prefix}' (project-stage) is "
                   f"{len(self.resource_prefix)} characters long: every job name, "
                   "even a 32-character tuning job name, must start with "
                   "'<project>-<stage>-' for the IAM policies scoped to that prefix",
                   f"at most {RESOURCE_PREFIX_MAX}")
        if self.account is not None and not _ACCOUNT.match(self.account):
            report("account", f"{self.account!r} is not an AWS account id",
                   "12 digits, or null for the CLI's default account")
        if not _REGION.match(self.region):
            report("region", f"{self.region!r} is not an AWS region", "e.g. eu-west-1")
        if self.notification_email is not None and not _EMAIL.match(self.notification_email):
            report("notification_email",
                   f"{self.notification_email!r} is not an email address",
                   "name@example.com, or null for no email subscription")
        allowed = LOG_RETENTION_DAYS
        if self.log_retention_days not in allowed:
            report("log_retention_days", f"{self.log_retention_days!r} is not allowed",
                   ", ".join(map(str, allowed)))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if dataclasses.is_dataclass(value):
                with independently():
                    value.validate(f.name)
        with independently():
            check_serving_against_stage(self)
        self._validate_use_cases()

    def _validate_use_cases(self) -> None:
        if not self.use_cases and not self.cicd.enabled:
            report("use_cases", "no use case is listed: a stage deploys at least one",
                   ", ".join(f'{{"name": "{n}"}}' for n in available_use_cases()))
        seen: set[str] = set()
        for i, use_case in enumerate(self.use_cases):
            key = f"use_cases[{i}]"
            if use_case.name in seen:
                report(f"{key}.name", f"{use_case.name!r} is listed twice",
                       "each use case once, with all its overrides")
            seen.add(use_case.name)
            with independently():
                use_case.validate(key)
            with independently():
                check_serving_against_stage(self, f"{key}.", use_case.serving,
                                            use_case.monitoring)

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


# --- loading --------------------------------------------------------------------------------------
def available_stages() -> list[str]:
    return sorted(p.stem for p in STAGES_DIR.glob("*.json"))


def load_stage_config(stage: str, path: Path | None = None) -> StageConfig:
    """Read, type-check and validate one stage's configuration. Every problem of the file is
    reported at once, in one ConfigError that names the file."""
    if path is None:
        path = stage_file(stage)
    data = _read_json_object(Path(path))
    with collecting() as problems:
        entries = data.pop("use_cases", [])
        config = _build(StageConfig, {"stage": stage, **data}, "")
        config = dataclasses.replace(config, use_cases=_build_use_cases(config, entries))
        config.validate()
    if problems:
        raise ConfigError.of(problems, source=path)
    return config


def stage_file(stage: str) -> Path:
    """config/stages/<stage>.json; an unknown stage says which exist and how to add one."""
    stages = available_stages()
    if stage not in stages:
        guess = nearest(stage, stages)
        hint = f"; did you mean {guess!r}?" if guess else ""
        new_file = display_path(STAGES_DIR / f"{stage}.json")
        raise ConfigError("stage", f"unknown stage {stage!r}{hint}",
                          f"{', '.join(stages)}; to add a stage, create {new_file} (a copy of "
                          f"{display_path(STAGES_DIR / 'dev.json')} to start from)")
    return STAGES_DIR / f"{stage}.json"


def _read_json_object(path: Path) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError("", f"config file {display_path(path)} does not exist") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        line = text.splitlines()[exc.lineno - 1] if text.splitlines() else ""
        raise ConfigError("", f"not valid JSON at line {exc.lineno}, column {exc.colno}: "
                          f"{exc.msg}\n    {line.strip()}", source=path) from None
    if not isinstance(data, dict):
        raise ConfigError("", f"must hold a JSON object, got {type(data).__name__}",
                          source=path)
    return data


def _build_use_cases(config: StageConfig, entries: Any) -> list[UseCaseConfig]:
    """`use_cases`, each built over the stage's sections: a key it leaves out keeps the stage's
    value (the gate, whose default is the use case's own, excepted)."""
    if not isinstance(entries, list):
        report("use_cases", f"must be a list, got {entries!r}", '[{"name": "churn"}]')
        return []
    base = UseCaseConfig(name="", training=config.training, tuning=config.tuning,
                         batch_inference=config.batch_inference, serving=config.serving,
                         monitoring=config.monitoring)
    built = []
    for i, entry in enumerate(entries):
        key = f"use_cases[{i}]"
        if not isinstance(entry, dict):
            report(key, f"must be an object, got {entry!r}", '{"name": "churn"}')
            continue
        if "name" not in entry:
            report(f"{key}.name", "is required", ", ".join(available_use_cases()))
            continue
        try:
            built.append(_build(UseCaseConfig, entry, f"{key}.", base=base))
        except _Invalid:
            pass
    return built


class _Invalid(Exception):
    """A value of the wrong type, already reported: the field keeps its default."""


def _build(cls: type, data: dict, prefix: str, base: Any = None) -> Any:
    """An instance of `cls` from `data`; keys it leaves out take `base`'s values (else the
    defaults), nested sections too."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name in sorted(set(data) - set(fields)):
        guess = nearest(name, fields)
        report(f"{prefix}{name}", "unknown key" + (f"; did you mean '{prefix}{guess}'?"
                                                   if guess else ""),
               ", ".join(f"{prefix}{n}" for n in fields))
    values = {}
    for name in fields:
        if name in data:
            try:
                values[name] = _coerce(hints[name], data[name], f"{prefix}{name}",
                                       getattr(base, name, None))
            except _Invalid:
                pass
    # A field without a default (a quality gate condition's) must be given, and valid.
    required = [n for n, f in fields.items()
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    for name in required:
        if name not in data:
            report(f"{prefix}{name}", "is required")
    if any(name not in values for name in required):
        raise _Invalid(prefix)  # reported above: the object keeps its default
    return dataclasses.replace(base, **values) if base is not None else cls(**values)


def _invalid(key: str, problem: str, allowed: str | None = None) -> _Invalid:
    report(key, problem, allowed)
    return _Invalid(key)


def _coerce(hint: Any, value: Any, key: str, base: Any = None) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (hint,) = [o for o in options if o is not type(None)]
        origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise _invalid(key, f"must be an object, got {type(value).__name__}")
        return _build(hint, value, f"{key}.",
                      base if dataclasses.is_dataclass(base) else None)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            guess = nearest(str(value), map(str, allowed))
            raise _invalid(key, f"{value!r} is not allowed" + (f"; did you mean {guess!r}?"
                                                                if guess else ""),
                           ", ".join(map(str, allowed)))
        return value
    if origin in (list, dict):
        return _coerce_container(hint, value, key)
    expected = {int: "integer", float: "number", bool: "boolean", str: "string"}[hint]
    ok = isinstance(value, hint) and not (hint is int and isinstance(value, bool))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise _invalid(key, f"must be {with_article(expected)}, got {value!r}")
    return value


def _coerce_container(hint: Any, value: Any, key: str) -> Any:
    """list[T] (items checked as T, keys like `cicd.stages[1]`) or dict[str, str]."""
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise _invalid(key, f"must be a list, got {value!r}", 'e.g. ["dev", "prod"]')
        items, bad = [], False
        for i, v in enumerate(value):
            try:
                items.append(_coerce(item, v, f"{key}[{i}]"))
            except _Invalid:
                bad = True  # every item is checked; one bad item invalidates the list
        if bad:
            raise _Invalid(key)
        return items
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _invalid(key, "must be an object of strings to strings", 'e.g. {"max_depth": "5"}')
    return dict(value)
