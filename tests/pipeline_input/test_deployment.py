"""Deployment pipeline input: the API-shaped variant, guardrails and autoscaling it derives, the
rules SageMaker applies at UpdateEndpoint time, and consistency with the stage configs."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from config import (
    DeploymentGuardrailsConfig,
    ServerlessConfig,
    available_stages,
    load_stage_config,
)
from ml_constructs.serving_defaults import deployment_defaults, deployment_platform
from runtime_scripts.pipeline_input import InvalidPipelineDefaults, InvalidPipelineInput, resolve
from runtime_scripts.pipeline_input import deployment as spec
from runtime_scripts.pipeline_input.values import SAGEMAKER_NAME

from .events import EXECUTION, PACKAGE_ARN, error

ARTIFACTS = "mlplatform-dev-artifacts-123456789012"
MONITORING = "mlplatform-dev-monitoring-123456789012"
DOC = Path(__file__).resolve().parents[2] / "docs" / "serving.md"
EXAMPLE = re.compile(r"<!-- example: deployment -->\s*```json\n(.*?)```", re.DOTALL)


# The stages that deploy use cases (a CI/CD stage deploys only its pipeline).
DATA_STAGES = [name for name in available_stages() if load_stage_config(name).use_cases]
USE_CASES = [(name, i) for name in DATA_STAGES
             for i, _ in enumerate(load_stage_config(name).use_cases)]


def stage(name: str = "dev", monitoring: bool | None = None, **serving: Any):
    """A stage whose (first) use case serves with `serving` changed, Model Monitor on or off."""
    config = load_stage_config(name)
    use_case = config.use_cases[0]
    if serving:
        use_case = dataclasses.replace(use_case, serving=dataclasses.replace(use_case.serving,
                                                                             **serving))
    if monitoring is not None:
        use_case = dataclasses.replace(use_case, monitoring=dataclasses.replace(
            use_case.monitoring, enabled=monitoring))
    return dataclasses.replace(config, use_cases=[use_case])


def event(user_input: Any, *, config=None, defaults: dict | None = None,
          platform: dict | None = None) -> dict[str, Any]:
    config = config or stage()
    return {
        "pipeline": "deployment",
        "execution_name": EXECUTION,
        "defaults": deployment_defaults(config.use_cases[0]) if defaults is None else defaults,
        "platform": platform or deployment_platform(
            config, config.use_cases[0], artifacts_bucket=ARTIFACTS, monitoring_bucket=MONITORING,
            model_package_group="mlplatform-dev-churn"),
        "input": user_input,
    }


def deploy(user_input: Any = None, **kwargs: Any) -> dict[str, Any]:
    return resolve(event({} if user_input is None else user_input, **kwargs))


def input_error(user_input: Any, **kwargs: Any):
    return error(InvalidPipelineInput, deploy, user_input, **kwargs)


SERVERLESS = stage(serverless=ServerlessConfig(memory_size_mb=2048, max_concurrency=5),
                   deployment=DeploymentGuardrailsConfig(traffic_routing="CANARY",
                                                         step_size=10), monitoring=False)


# --- what the first state returns -----------------------------------------------------------------
def test_defaults_give_an_instance_variant_all_at_once_and_autoscaling():
    out = deploy()
    names = out["run"]["job_names"]
    assert out["endpoint"]["production_variants"] == [{
        "VariantName": "AllTraffic", "ModelName": names["model"],
        "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}]
    assert out["deployment"]["blue_green_update_policy"] == {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300},
        "TerminationWaitInSeconds": 120, "MaximumExecutionTimeoutInSeconds": 1800}
    assert out["autoscaling"]["resource_id"] == "endpoint/mlplatform-dev-churn/variant/AllTraffic"
    assert out["autoscaling"]["target_tracking"] == {
        "TargetValue": 500.0,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        "ScaleInCooldown": 600, "ScaleOutCooldown": 60, "DisableScaleIn": False}
    assert out["run"]["use_latest_approved"] is True
    assert out["run"]["endpoint_name"] == "mlplatform-dev-churn"
    assert out["baseline"] == {"enabled": True, "dataset_s3_uri": None, "given": False}


def test_names_are_valid_prefixed_and_distinct_from_other_pipelines():
    names = deploy()["run"]["job_names"]
    assert set(names) == {"model", "endpoint_config", "baseline"}
    for name in names.values():
        assert SAGEMAKER_NAME.match(name) and len(name) <= 63
        # The use case's prefix: another use case's deployment never takes these names. After
        # it, a console execution name (a UUID) is kept whole or cut and hashed (names.py).
        assert name.startswith("mlplatform-dev-churn-") and EXECUTION[:24] in name
    assert names["model"] != f"mlplatform-dev-model-{EXECUTION}"  # the training pipeline's


def test_baseline_is_written_per_run_and_promoted_to_the_fixed_location():
    out = deploy()
    job = out["run"]["job_names"]["baseline"]
    runs = f"baselines/mlplatform-dev-churn/data-quality/runs/{job}/"
    assert out["run"]["s3"]["baseline_output"] == f"s3://{MONITORING}/{runs}"
    assert out["run"]["s3"]["baseline_promotions"] == [
        {"source": f"{MONITORING}/{runs}constraints.json",
         "key": "baselines/mlplatform-dev-churn/data-quality/current/constraints.json"},
        {"source": f"{MONITORING}/{runs}statistics.json",
         "key": "baselines/mlplatform-dev-churn/data-quality/current/statistics.json"}]
    assert out["run"]["s3"]["data_capture"] == f"s3://{MONITORING}/datacapture"


def test_a_given_package_and_baseline_dataset():
    dataset = f"s3://{ARTIFACTS}/runs/june/preprocessing/baseline/"
    out = deploy({"model_package_arn": PACKAGE_ARN, "baseline": {"dataset_s3_uri": dataset}})
    assert out["run"]["use_latest_approved"] is False
    assert out["baseline"]["given"] is True


def test_canary_and_linear_name_their_step_and_all_at_once_none():
    canary = deploy({"deployment": {"traffic_routing": "CANARY", "step_size": 25}})
    routing = canary["deployment"]["blue_green_update_policy"]["TrafficRoutingConfiguration"]
    assert routing["CanarySize"] == {"Type": "CAPACITY_PERCENT", "Value": 25}
    assert "LinearStepSize" not in routing
    linear = deploy({"deployment": {"traffic_routing": "LINEAR", "step_size": 20,
                                    "max_execution_timeout_seconds": 3600}})
    routing = linear["deployment"]["blue_green_update_policy"]["TrafficRoutingConfiguration"]
    assert routing["LinearStepSize"] == {"Type": "CAPACITY_PERCENT", "Value": 20}
    assert "CanarySize" not in routing


def test_prod_canary_of_one_instance():
    out = deploy(config=stage("prod"))
    routing = out["deployment"]["blue_green_update_policy"]["TrafficRoutingConfiguration"]
    assert routing == {"Type": "CANARY", "WaitIntervalInSeconds": 600,
                       "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}
    assert out["endpoint"]["production_variants"][0]["InitialInstanceCount"] == 2


def test_a_serverless_stage_gets_a_serverless_variant():
    out = deploy({"endpoint": {"serverless": {"memory_size_mb": 4096}}}, config=SERVERLESS)
    variant = out["endpoint"]["production_variants"][0]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 4096, "MaxConcurrency": 5}
    assert "InstanceType" not in variant and "InitialInstanceCount" not in variant
    assert out["baseline"]["enabled"] is False


# --- mistakes ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("user_input", "key", "fragment"), [
    ({"endpoint": {"instance_type": "ml.m5d.large"}}, "endpoint.instance_type",
     "local instance storage"),
    ({"endpoint": {"instance_type": "m5.large"}}, "endpoint.instance_type", "ml.*"),
    ({"endpoint": {"serverless": {"memory_size_mb": 2048, "max_concurrency": 5}}},
     "endpoint.serverless", "cannot become serverless"),
    ({"endpoint": {"initial_instance_count": 3}}, "endpoint.initial_instance_count",
     "outside the autoscaling range 1 .. 2"),
    ({"autoscaling": {"min_capacity": 3}}, "autoscaling.min_capacity", "must be >= min_capacity"),
    ({"autoscaling": {"max_capacity": 101}}, "autoscaling.max_capacity", "1 .. 100"),
    ({"autoscaling": {"disable_scale_in": "yes"}}, "autoscaling.disable_scale_in", "boolean"),
    ({"data_capture": {"sampling_percentage": 101}}, "data_capture.sampling_percentage",
     "0 .. 100"),
    ({"deployment": {"traffic_routing": "CANARY", "step_size": 60}}, "deployment.step_size",
     "1-50% of the fleet"),
    ({"deployment": {"traffic_routing": "LINEAR", "step_size": 5}}, "deployment.step_size",
     "10-50%"),
    ({"deployment": {"traffic_routing": "CANARY", "step_type": "INSTANCE_COUNT",
                     "step_size": 1}}, "deployment.step_size", "CAPACITY_PERCENT, or more"),
    ({"deployment": {"traffic_routing": "BLUE"}}, "deployment.traffic_routing",
     "CANARY, LINEAR, ALL_AT_ONCE"),
    ({"deployment": {"wait_interval_seconds": 1700}}, "deployment.wait_interval_seconds",
     "must exceed the 1820 s"),
    ({"deployment": {"max_execution_timeout_seconds": 300}},
     "deployment.max_execution_timeout_seconds", "600 .. 28800"),
    ({"model_package_arn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/other/3"},
     "model_package_arn", "not this platform's group"),
    ({"baseline": {"dataset_s3_uri": "/tmp/baseline.csv"}}, "baseline.dataset_s3_uri",
     "not an S3 URI"),
    ({"endpoint_name": "other"}, "endpoint_name", "unknown key"),
    ({"deploymnet": {}}, "deploymnet", 'did you mean "deployment"?'),
])
def test_error_names_the_key(user_input, key, fragment):
    exc = input_error(user_input)
    assert key in exc.keys, str(exc)
    assert fragment in str(exc)


def test_prod_canary_cannot_exceed_half_the_fleet():
    exc = input_error({"deployment": {"step_size": 2}}, config=stage("prod"))
    assert exc.keys == ["deployment.step_size"]
    assert "at most half the fleet" in str(exc) and "(allowed: 1 .. 1)" in str(exc)


@pytest.mark.parametrize(("user_input", "key", "fragment"), [
    ({"endpoint": {"serverless": None}}, "endpoint.serverless", "is required"),
    ({"endpoint": {"serverless": {"memory_size_mb": 1500}}},
     "endpoint.serverless.memory_size_mb", "1024, 2048"),
    ({"deployment": {"step_type": "INSTANCE_COUNT"}}, "deployment.step_type",
     "no instances to count"),
    ({"baseline": {"enabled": True}}, "baseline.enabled", "no Model Monitor"),
])
def test_serverless_stage_errors(user_input, key, fragment):
    exc = input_error(user_input, config=SERVERLESS)
    assert key in exc.keys, str(exc)
    assert fragment in str(exc)


def test_the_serverless_autoscaling_section_is_not_checked_against_the_count():
    # Serverless endpoints scale themselves: the instance range does not apply.
    deploy({"endpoint": {"initial_instance_count": 5}}, config=SERVERLESS)


@pytest.mark.parametrize(("mutate", "fragment"), [
    (lambda p: p.update(monitoring_bucket="Bad_Bucket"), "event key 'platform.monitoring_bucket'"),
    (lambda p: p.pop("endpoint_name"), "event key 'platform.endpoint_name' is required"),
    (lambda p: p.update(serverless="no"), "event key 'platform.serverless'"),
    (lambda p: p.update(extra=1), "event key 'platform.extra': unknown key"),
])
def test_a_broken_platform_is_a_deploy_error(mutate, fragment):
    ev = event({})
    mutate(ev["platform"])
    assert fragment in str(error(InvalidPipelineDefaults, resolve, ev))


def test_a_bad_stage_default_is_a_deploy_error():
    defaults = copy.deepcopy(deployment_defaults(stage().use_cases[0]))
    defaults["deployment"]["step_size"] = 0
    exc = error(InvalidPipelineDefaults, resolve, event({}, defaults=defaults))
    assert str(exc).startswith("default key 'deployment.step_size'")


# --- consistency with the stage config and the CDK side -----------------------------------------
@pytest.mark.parametrize(("name", "index"), USE_CASES)
def test_every_stage_config_gives_valid_defaults(name, index):
    """Every use case of every stage: its defaults and platform pass the validator."""
    config = load_stage_config(name)
    config = dataclasses.replace(config, use_cases=[config.use_cases[index]])
    out = deploy(config=config)
    assert out["run"]["pipeline"] == "deployment"


def test_config_and_input_agree_on_the_waiting_time():
    for name, index in USE_CASES:
        use_case = load_stage_config(name).use_cases[index]
        config, doc = use_case.serving, deployment_defaults(use_case)
        assert spec.waiting_seconds(doc["deployment"], config.initial_instance_count) == \
            config.deployment.waiting_seconds(config.initial_instance_count)


def test_documented_examples_are_accepted():
    examples = EXAMPLE.findall(DOC.read_text())
    assert len(examples) >= 2
    for text in examples:
        assert deploy(json.loads(text))["run"]["pipeline"] == "deployment"
