"""Sections of real-time serving and its monitoring (docs/serving.md): the endpoint, serverless
inference, autoscaling, blue/green guardrails, rollback alarms and Model Monitor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from config.checks import (
    S3_URI,
    check_hosting_instance,
    check_instance_type,
    check_monitoring_schedule,
    check_positive,
    check_range,
)
from config.problems import independently, report
from config.training import metric_bounds
from runtime_scripts import contract
from runtime_scripts.common.manifest import UseCaseManifest


@dataclass(frozen=True)
class ServerlessConfig:
    """Serverless inference: no instances, no autoscaling, no data capture, no VPC."""

    memory_size_mb: int = 2048
    max_concurrency: int = 5

    def validate(self, key: str) -> None:
        if self.memory_size_mb not in contract.SERVERLESS_MEMORY_SIZES_MB:
            report(f"{key}.memory_size_mb", f"{self.memory_size_mb!r} is not allowed",
                   ", ".join(map(str, contract.SERVERLESS_MEMORY_SIZES_MB)))
        check_range(f"{key}.max_concurrency", self.max_concurrency, 1,
                    contract.SERVERLESS_MAX_CONCURRENCY)


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
        check_range(f"{key}.min_capacity", self.min_capacity, 1,
                    contract.ENDPOINT_MAX_INSTANCE_COUNT)
        check_range(f"{key}.max_capacity", self.max_capacity, 1,
                    contract.ENDPOINT_MAX_INSTANCE_COUNT)
        if self.max_capacity < self.min_capacity:
            report(f"{key}.max_capacity", "must be >= min_capacity",
                   f">= {self.min_capacity}")
        check_range(f"{key}.target_invocations_per_instance",
                    self.target_invocations_per_instance, 1,
                    contract.AUTOSCALING_MAX_TARGET_INVOCATIONS)
        for name in ("scale_in_cooldown_seconds", "scale_out_cooldown_seconds"):
            check_range(f"{key}.{name}", getattr(self, name), 0,
                        contract.AUTOSCALING_MAX_COOLDOWN_SECONDS)


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
            low = contract.LINEAR_MIN_PERCENT if self.traffic_routing == "LINEAR" else 1
            check_range(f"{key}.step_size", self.step_size, low, contract.CANARY_MAX_PERCENT)
        else:
            check_positive(f"{key}.step_size", self.step_size)
        for name in ("wait_interval_seconds", "termination_wait_seconds"):
            check_range(f"{key}.{name}", getattr(self, name), 0,
                        contract.BLUE_GREEN_MAX_WAIT_SECONDS)
        check_range(f"{key}.max_execution_timeout_seconds", self.max_execution_timeout_seconds,
                    contract.BLUE_GREEN_MIN_TIMEOUT_SECONDS,
                    contract.BLUE_GREEN_MAX_TIMEOUT_SECONDS)

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
    # Which container serves the model: the use case's image (the repacked bundle: raw rows in,
    # the use case's answers out), or, for a model trained by a built-in algorithm that has an
    # inference container of its own (Linear Learner, K-Means, PCA), that container on the
    # algorithm's model behind the use case's image in a serial inference pipeline: raw rows
    # in (the image turns them into the model's features), the algorithm's JSON out.
    container: Literal["use_case", "builtin"] = "use_case"
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
        check_range(f"{key}.initial_instance_count", self.initial_instance_count, 1,
                    contract.ENDPOINT_MAX_INSTANCE_COUNT)
        check_range(f"{key}.data_capture_percentage", self.data_capture_percentage, 0, 100)
        check_range(f"{key}.poll_interval_seconds", self.poll_interval_seconds, 10, 600)
        for name in ("serverless", "autoscaling", "deployment", "alarms"):
            section = getattr(self, name)
            if section is not None:
                with independently():
                    section.validate(f"{key}.{name}")
        scaling = self.autoscaling
        if self.serverless is None and not (
                scaling.min_capacity <= self.initial_instance_count <= scaling.max_capacity):
            report(f"{key}.initial_instance_count",
                   f"{self.initial_instance_count} is outside the autoscaling range",
                   f"{scaling.min_capacity} .. {scaling.max_capacity}")
        self._validate_steps(key)

    def _validate_steps(self, key: str) -> None:
        deploy = self.deployment
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
        check_range(f"{key}.max_runtime_seconds", self.max_runtime_seconds,
                    contract.JOB_MIN_RUNTIME_SECONDS, 3600)
        if not 0.0 < self.drift_threshold <= 1.0:
            report(f"{key}.drift_threshold", f"{self.drift_threshold!r} is out of "
                   "range", "0 < threshold <= 1 (a distribution distance)")
        if self.ground_truth_s3_uri is not None and not S3_URI.match(self.ground_truth_s3_uri):
            report(f"{key}.ground_truth_s3_uri",
                   f"{self.ground_truth_s3_uri!r} is not an S3 URI",
                   "s3://bucket/prefix/, or null for no model quality monitoring")
        check_range(f"{key}.min_hours_between_retraining", self.min_hours_between_retraining,
                    1, 720)

    def validate_for(self, key: str, manifest: UseCaseManifest) -> None:
        name = self.model_quality_metric
        if name is None:
            return
        if name not in manifest.gateable_metrics:
            report(f"{key}.model_quality_metric", f"{name!r} is not a metric of use case "
                   f"{manifest.name!r}", ", ".join(manifest.gateable_metrics))
            return
        check_range(f"{key}.model_quality_threshold", self.model_quality_threshold,
                    *metric_bounds(manifest, name))
