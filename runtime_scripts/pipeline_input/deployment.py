"""The deployment pipeline's input: schema, cross-field rules and the derived `run` section.

A model package (given, or the group's latest Approved one) becomes a model, an endpoint config
and a create or blue/green update of the stage's one endpoint (docs/serving.md). Keys and ranges
follow CreateEndpointConfig, UpdateEndpoint (DeploymentConfig) and Application Auto Scaling's
RegisterScalableTarget / PutScalingPolicy in the API references; the stage config
(config/serving.py `serving`, `monitoring`) applies the same rules at synth time, and a test
keeps the two in step.
"""

from __future__ import annotations

from typing import Any

from .. import contract
from . import names
from .batch import MODEL_PACKAGE, _check_package
from .errors import Problem, render
from .origin import Origin
from .schema import Bool, Enum, Int, Nullable, Obj, S3Uri, Str
from .training import INSTANCE
from .values import SAGEMAKER_NAME, check_bucket_name, check_tag_value

PIPELINE = "deployment"

SERVERLESS_MEMORY_SIZES_MB = contract.SERVERLESS_MEMORY_SIZES_MB
DATA_CAPTURE_PREFIX = contract.DATA_CAPTURE_PREFIX
BASELINE_FILES = contract.BASELINE_FILES
baseline_prefix = contract.baseline_prefix
ROUTING = ("CANARY", "LINEAR", "ALL_AT_ONCE")
# The deployment's prefix is '<stage prefix>-<use case>': at most this long, a shortened job name
# ('<prefix>-<word>-<execution>', 63 at most: names.job_name) keeps '<prefix>-<word>-' whole.
DEPLOYMENT_PREFIX_MAX = (names.SAGEMAKER_NAME_MAX - names.HASH_LENGTH - 3
                         - max(len(word) for word, _ in names.DEPLOYMENT_JOBS.values()))

_NAME = Str(max_len=names.SAGEMAKER_NAME_MAX, pattern=SAGEMAKER_NAME,
            pattern_help="a SageMaker name")

# What the deployment state machine fixes per stage and use case; the input cannot change it.
PLATFORM = Obj({
    "artifacts_bucket": Str(max_len=63),
    "model_package_group": _NAME,
    "resource_prefix": Str(max_len=DEPLOYMENT_PREFIX_MAX, pattern=SAGEMAKER_NAME,
                           pattern_help="a SageMaker name"),
    "endpoint_name": _NAME,
    "variant_name": _NAME,
    "monitoring_bucket": Str(max_len=63),
    "serverless": Bool(),  # serving.serverless in the stage config: the state machine's shape
    "monitoring": Bool(),  # monitoring.enabled: whether the baseline and schedule states exist
    "max_job_attempts": Int(1),  # job_retries.max_attempts: one baseline job name per attempt
})
PLATFORM_BUCKETS = ("monitoring_bucket",)  # the artifacts bucket is checked for every pipeline

SCHEMA = Obj({
    "model_package_arn": MODEL_PACKAGE,
    "endpoint": Obj({
        "instance_type": INSTANCE,
        "initial_instance_count": Int(1, contract.ENDPOINT_MAX_INSTANCE_COUNT),
        "serverless": Nullable(Obj({
            "memory_size_mb": Int(SERVERLESS_MEMORY_SIZES_MB[0], SERVERLESS_MEMORY_SIZES_MB[-1]),
            "max_concurrency": Int(1, contract.SERVERLESS_MAX_CONCURRENCY)})),
    }),
    "data_capture": Obj({"sampling_percentage": Int(0, 100)}),
    "deployment": Obj({
        "traffic_routing": Enum(ROUTING),
        "step_type": Enum(("CAPACITY_PERCENT", "INSTANCE_COUNT")),
        "step_size": Int(1, 100),
        "wait_interval_seconds": Int(0, contract.BLUE_GREEN_MAX_WAIT_SECONDS),
        "termination_wait_seconds": Int(0, contract.BLUE_GREEN_MAX_WAIT_SECONDS),
        "max_execution_timeout_seconds": Int(contract.BLUE_GREEN_MIN_TIMEOUT_SECONDS,
                                             contract.BLUE_GREEN_MAX_TIMEOUT_SECONDS),
    }),
    "autoscaling": Obj({
        "min_capacity": Int(1, contract.ENDPOINT_MAX_INSTANCE_COUNT),
        "max_capacity": Int(1, contract.ENDPOINT_MAX_INSTANCE_COUNT),
        "target_invocations_per_instance": Int(1, contract.AUTOSCALING_MAX_TARGET_INVOCATIONS),
        "scale_in_cooldown_seconds": Int(0, contract.AUTOSCALING_MAX_COOLDOWN_SECONDS),
        "scale_out_cooldown_seconds": Int(0, contract.AUTOSCALING_MAX_COOLDOWN_SECONDS),
        "disable_scale_in": Bool(),
    }),
    "baseline": Obj({
        "enabled": Bool(),
        # Null: the baseline.csv the model package's training run wrote.
        "dataset_s3_uri": Nullable(S3Uri()),
    }),
})


def check_platform(platform: dict[str, Any], out: list[Problem]) -> None:
    for name in PLATFORM_BUCKETS:
        check_bucket_name(f"platform.{name}", platform[name], out)


def check(doc: dict[str, Any], platform: dict[str, Any], origin: Origin,
          out: list[Problem]) -> None:
    """Rules that involve more than one key; run only once every key has the right type."""
    endpoint = doc["endpoint"]
    serverless = endpoint["serverless"]
    if platform["serverless"] and serverless is None:
        out.append(Problem("endpoint.serverless", "is required: this stage serves from a "
                           "serverless endpoint (serving.serverless in the stage config)",
                           '{"memory_size_mb": 2048, "max_concurrency": 5}'))
    elif not platform["serverless"] and serverless is not None:
        out.append(Problem("endpoint.serverless", "must be null: this stage's endpoint runs on "
                           "instances, and an instance endpoint cannot become serverless "
                           "(serving.serverless in the stage config decides)", "null"))
    if serverless is not None and serverless["memory_size_mb"] not in SERVERLESS_MEMORY_SIZES_MB:
        out.append(Problem("endpoint.serverless.memory_size_mb",
                           f"{serverless['memory_size_mb']} is not allowed",
                           ", ".join(map(str, SERVERLESS_MEMORY_SIZES_MB))))
    if contract.has_instance_storage(endpoint["instance_type"]):
        out.append(Problem("endpoint.instance_type", f"{render(endpoint['instance_type'])} has "
                           "local instance storage: CreateEndpointConfig rejects the platform's "
                           "KMS key for it", "an EBS-backed type such as ml.m5.large"))
    if not platform["serverless"]:
        _check_capacity(doc, origin, out)
    _check_guardrails(doc, bool(platform["serverless"]), origin, out)
    baseline = doc["baseline"]
    if baseline["dataset_s3_uri"] is not None:
        check_tag_value("baseline.dataset_s3_uri", baseline["dataset_s3_uri"], "written into "
                        "the baseline job's 'data' tag", out)
    if baseline["enabled"] and not platform["monitoring"]:
        out.append(Problem("baseline.enabled", "this stage has no Model Monitor "
                           "(monitoring.enabled is false in the stage config)", "false"))
    _check_package(doc["model_package_arn"], platform, out)


def _check_capacity(doc: dict[str, Any], origin: Origin, out: list[Problem]) -> None:
    scaling, count = doc["autoscaling"], doc["endpoint"]["initial_instance_count"]
    low, high = scaling["min_capacity"], scaling["max_capacity"]
    if low > high:
        out.append(Problem(origin.pick("autoscaling.max_capacity", "autoscaling.min_capacity"),
                           f"max_capacity ({high}) must be >= min_capacity ({low})"))
    elif not low <= count <= high:
        out.append(Problem(origin.pick("endpoint.initial_instance_count",
                                       "autoscaling.min_capacity", "autoscaling.max_capacity"),
                           f"{count} instances is outside the autoscaling range {low} .. {high}",
                           f"{low} .. {high}"))


def waiting_seconds(deployment: dict[str, Any], instance_count: int) -> int:
    """Everything a blue/green deployment waits for (config/serving.py computes the same)."""
    steps = 1
    if deployment["traffic_routing"] == "LINEAR":
        whole = 100 if deployment["step_type"] == "CAPACITY_PERCENT" else instance_count
        steps = -(-whole // deployment["step_size"])
    return steps * deployment["wait_interval_seconds"] + deployment["termination_wait_seconds"]


def _check_guardrails(doc: dict[str, Any], serverless: bool, origin: Origin,
                      out: list[Problem]) -> None:
    d, count = doc["deployment"], doc["endpoint"]["initial_instance_count"]
    routing, size = d["traffic_routing"], d["step_size"]
    step_key = origin.pick("deployment.step_size", "deployment.step_type",
                           "deployment.traffic_routing")
    if routing != "ALL_AT_ONCE":
        if d["step_type"] == "CAPACITY_PERCENT":
            low = contract.LINEAR_MIN_PERCENT if routing == "LINEAR" else 1
            high = contract.CANARY_MAX_PERCENT
            if not low <= size <= high:
                out.append(Problem(step_key, f"{size}% with {routing}: SageMaker shifts "
                                   f"{low}-{high}% of the fleet per step", f"{low} .. {high}"))
        elif serverless:
            out.append(Problem(origin.pick("deployment.step_type"), "INSTANCE_COUNT: a "
                               "serverless endpoint has no instances to count",
                               "CAPACITY_PERCENT"))
        else:
            half = count // 2
            low = max(1, -(-count // 10)) if routing == "LINEAR" else 1
            if not low <= size <= half:
                out.append(Problem(step_key, f"{size} of {count} instances with {routing}: "
                                   "SageMaker shifts at most half the fleet per step",
                                   f"{low} .. {half}" if half >= low
                                   else "CAPACITY_PERCENT, or more instances"))
    waiting = waiting_seconds(d, count)
    if d["max_execution_timeout_seconds"] <= waiting:
        out.append(Problem(origin.pick("deployment.max_execution_timeout_seconds",
                                       "deployment.wait_interval_seconds",
                                       "deployment.termination_wait_seconds"),
                           f"max_execution_timeout_seconds ({d['max_execution_timeout_seconds']}) "
                           f"must exceed the {waiting} s the deployment waits (baking plus "
                           "termination wait)", f"> {waiting}"))


def _blue_green(d: dict[str, Any]) -> dict[str, Any]:
    """DeploymentConfig.BlueGreenUpdatePolicy; the step size only where the routing uses it."""
    routing: dict[str, Any] = {"Type": d["traffic_routing"],
                               "WaitIntervalInSeconds": d["wait_interval_seconds"]}
    size = {"Type": d["step_type"], "Value": d["step_size"]}
    if d["traffic_routing"] == "CANARY":
        routing["CanarySize"] = size
    elif d["traffic_routing"] == "LINEAR":
        routing["LinearStepSize"] = size
    return {"TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": d["termination_wait_seconds"],
            "MaximumExecutionTimeoutInSeconds": d["max_execution_timeout_seconds"]}


def derive(doc: dict[str, Any], platform: dict[str, Any], execution_name: str) -> dict[str, Any]:
    job_names = names.job_names(platform["resource_prefix"], execution_name,
                                names.DEPLOYMENT_JOBS)
    endpoint, scaling = dict(doc["endpoint"]), dict(doc["autoscaling"])
    variant: dict[str, Any] = {"VariantName": platform["variant_name"],
                               "ModelName": job_names["model"]}
    if endpoint["serverless"] is not None:
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": endpoint["serverless"]["memory_size_mb"],
            "MaxConcurrency": endpoint["serverless"]["max_concurrency"]}
    else:
        variant["InstanceType"] = endpoint["instance_type"]
        variant["InitialInstanceCount"] = endpoint["initial_instance_count"]
    endpoint["production_variants"] = [variant]
    scaling["resource_id"] = (f"endpoint/{platform['endpoint_name']}/variant/"
                              f"{platform['variant_name']}")
    scaling["target_tracking"] = {
        "TargetValue": float(scaling["target_invocations_per_instance"]),
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        "ScaleInCooldown": scaling["scale_in_cooldown_seconds"],
        "ScaleOutCooldown": scaling["scale_out_cooldown_seconds"],
        "DisableScaleIn": scaling["disable_scale_in"],
    }
    monitoring = platform["monitoring_bucket"]
    # Keyed by the baseline job's name: a valid SageMaker name, so safe in a CopySource.
    baselines = baseline_prefix(platform["endpoint_name"])
    runs_key = f"{baselines}runs/{job_names['baseline']}/"
    baseline = dict(doc["baseline"])
    baseline["given"] = baseline["dataset_s3_uri"] is not None
    return {
        **doc,
        "endpoint": endpoint,
        "deployment": {**doc["deployment"], "blue_green_update_policy":
                       _blue_green(doc["deployment"])},
        "autoscaling": scaling,
        "baseline": baseline,
        "platform": dict(platform),
        "run": {
            "pipeline": PIPELINE,
            "execution_name": execution_name,
            "endpoint_name": platform["endpoint_name"],
            "variant_name": platform["variant_name"],
            "job_names": job_names,
            "job_attempts": names.job_attempts(platform["resource_prefix"], execution_name,
                                               names.DEPLOYMENT_JOBS,
                                               platform["max_job_attempts"]),
            "use_latest_approved": doc["model_package_arn"] is None,
            "s3": {
                "data_capture": f"s3://{monitoring}/{DATA_CAPTURE_PREFIX}",
                "baseline_output": f"s3://{monitoring}/{runs_key}",
                "monitoring_bucket": monitoring,
                # CopyObject: "bucket/key" sources and plain keys for the promotion to current.
                "baseline_promotions": [
                    {"source": f"{monitoring}/{runs_key}{name}",
                     "key": f"{baselines}current/{name}"} for name in BASELINE_FILES],
            },
        },
    }

