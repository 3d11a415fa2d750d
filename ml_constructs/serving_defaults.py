"""Serving names and defaults, per use case: the names of what a use case's serving side creates,
what its deployment state machine does when started with `{}` (its `serving` and `monitoring`
config as the defaults document the first state merges the execution input over), and the
fixed values it cannot override (shapes: docs/serving.md). Pure functions of the config, so
tests check them against the input validator without a synth."""

from __future__ import annotations

from dataclasses import dataclass

from config import StageConfig, UseCaseConfig
from ml_constructs.resource_names import UseCaseNames

VARIANT_NAME = "AllTraffic"  # blue/green updates require the same variant name every time


@dataclass(frozen=True)
class ServingNames:
    """Every name a use case's serving side gives: `<stage prefix>-<use case>` first, so two use
    cases never collide and IAM policies can scope to one use case's resources. The stage prefix
    (config RESOURCE_PREFIX_MAX) and the use case name (manifest USE_CASE_NAME_MAX) are short
    enough for every name here to fit its service's limit without shortening; a test checks the
    longest of each against botocore's models."""

    stage_prefix: str
    use_case: str

    @classmethod
    def of(cls, config: StageConfig, use_case: UseCaseConfig) -> ServingNames:
        return cls(stage_prefix=config.resource_prefix, use_case=use_case.name)

    @property
    def prefix(self) -> str:
        """What every name below starts with, and SageMaker job and model names too."""
        return f"{self.stage_prefix}-{self.use_case}"

    @property
    def _names(self) -> UseCaseNames:
        return UseCaseNames(prefix=self.stage_prefix, use_case=self.use_case)

    @property
    def endpoint(self) -> str:
        """The use case's one real-time endpoint: fixed, so alarms and autoscaling can name it."""
        return self._names.endpoint

    def state_machine(self, pipeline: str) -> str:
        """`<prefix>-<use case>-<pipeline>`: deployment, retraining-gate (and training, the one
        the smoke test and the retraining gate start), derived where every name is."""
        return self._names.state_machine(pipeline)

    def alarm(self, what: str) -> str:
        return f"{self.prefix}-{what}"

    def monitoring(self, kind: str) -> str:
        """A monitoring schedule's name and its job definition's base name (kind: data-quality,
        model-quality); the job definition adds a digest (ml_constructs/physical_names.py)."""
        return f"{self.prefix}-{kind}"

    @property
    def rollback_alarms(self) -> list[str]:
        """The alarms a blue/green update watches, in the order UpdateEndpoint lists them."""
        return [self.alarm("endpoint-5xx-errors"), self.alarm("endpoint-latency-p99")]


def deployment_defaults(use_case: UseCaseConfig) -> dict:
    serving = use_case.serving
    scaling, deploy = serving.autoscaling, serving.deployment
    serverless = serving.serverless
    return {
        "model_package_arn": None,
        "endpoint": {
            "instance_type": serving.instance_type,
            "initial_instance_count": serving.initial_instance_count,
            "serverless": None if serverless is None else {
                "memory_size_mb": serverless.memory_size_mb,
                "max_concurrency": serverless.max_concurrency},
        },
        "data_capture": {"sampling_percentage": serving.data_capture_percentage},
        "deployment": {
            "traffic_routing": deploy.traffic_routing,
            "step_type": deploy.step_type,
            "step_size": deploy.step_size,
            "wait_interval_seconds": deploy.wait_interval_seconds,
            "termination_wait_seconds": deploy.termination_wait_seconds,
            "max_execution_timeout_seconds": deploy.max_execution_timeout_seconds,
        },
        "autoscaling": {
            "min_capacity": scaling.min_capacity,
            "max_capacity": scaling.max_capacity,
            "target_invocations_per_instance": scaling.target_invocations_per_instance,
            "scale_in_cooldown_seconds": scaling.scale_in_cooldown_seconds,
            "scale_out_cooldown_seconds": scaling.scale_out_cooldown_seconds,
            "disable_scale_in": scaling.disable_scale_in,
        },
        "baseline": {"enabled": monitored(use_case), "dataset_s3_uri": None},
    }


def monitored(use_case: UseCaseConfig) -> bool:
    """Model Monitor watches the endpoint: enabled, and an instance endpoint (a serverless one
    has no data capture)."""
    return use_case.monitoring.enabled and use_case.serving.serverless is None


def deployment_platform(config: StageConfig, use_case: UseCaseConfig, *, artifacts_bucket: str,
                        monitoring_bucket: str, model_package_group: str) -> dict:
    names = ServingNames.of(config, use_case)
    return {
        "artifacts_bucket": artifacts_bucket,
        "model_package_group": model_package_group,
        # Job, model and endpoint config names start with it: one use case's never collide with
        # another's, and the state machine's policies scope to this use case's.
        "resource_prefix": names.prefix,
        "endpoint_name": names.endpoint,
        "variant_name": VARIANT_NAME,
        "monitoring_bucket": monitoring_bucket,
        "serverless": use_case.serving.serverless is not None,
        "monitoring": monitored(use_case),
        "max_job_attempts": config.job_retries.max_attempts,
    }
