"""What the deployment state machine does when started with `{}`: the stage's `serving` and
`monitoring` config as the defaults document the first state merges the execution input over,
and the fixed values it cannot override (shapes: docs/serving.md). Pure functions of the config,
so tests check them against the input validator without a synth."""

from __future__ import annotations

from config import StageConfig

VARIANT_NAME = "AllTraffic"  # blue/green updates require the same variant name every time


def endpoint_name(config: StageConfig) -> str:
    """The stage's one real-time endpoint: fixed, so alarms and autoscaling can name it."""
    return f"{config.resource_prefix}-churn"


def deployment_defaults(config: StageConfig) -> dict:
    serving = config.use_cases[0].serving
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
        "baseline": {"enabled": config.use_cases[0].monitoring.enabled, "dataset_s3_uri": None},
    }


def deployment_platform(config: StageConfig, *, artifacts_bucket: str, monitoring_bucket: str,
                        model_package_group: str) -> dict:
    return {
        "artifacts_bucket": artifacts_bucket,
        "model_package_group": model_package_group,
        "resource_prefix": config.resource_prefix,
        "endpoint_name": endpoint_name(config),
        "variant_name": VARIANT_NAME,
        "monitoring_bucket": monitoring_bucket,
        "serverless": config.use_cases[0].serving.serverless is not None,
        "monitoring": config.use_cases[0].monitoring.enabled,
        "max_job_attempts": config.job_retries.max_attempts,
    }
