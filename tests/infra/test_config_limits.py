"""Every limit defined once (runtime_scripts/contract.py): the stage config and the input
validator Lambda accept exactly the same values, up to the same bound, and no module of the
platform spells a shared limit out again."""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from config import ConfigError, load_stage_config
from ml_constructs.pipeline_defaults import (
    batch_defaults,
    batch_platform,
    training_defaults,
    training_platform,
)
from ml_constructs.serving_defaults import deployment_defaults, deployment_platform
from runtime_scripts import contract
from runtime_scripts.pipeline_input import InvalidPipelineDefaults, resolve
from tests.pipeline_input.events import EXECUTION, IMAGE_SPECIFICATION, PLATFORM, VOLUME_KEY

ROOT = Path(__file__).resolve().parents[2]


DATA_BUCKET = "mlplatform-test-data"


def _defaults(pipeline: str, config) -> tuple[dict, dict]:
    """The defaults document the CDK side builds from `config`, and the platform values."""
    use_case = config.use_cases[0]
    artifacts = PLATFORM["artifacts_bucket"]
    if pipeline == "training":
        return (training_defaults(config, use_case, raw_bucket=DATA_BUCKET,
                                  curated_bucket=DATA_BUCKET),
                {**training_platform(config, use_case, artifacts_bucket=artifacts),
                 **IMAGE_SPECIFICATION})
    if pipeline == "batch":
        return (batch_defaults(config, use_case, raw_bucket=DATA_BUCKET),
                {**batch_platform(config, use_case, artifacts_bucket=artifacts), **VOLUME_KEY})
    return deployment_defaults(use_case), deployment_platform(
        config, use_case, artifacts_bucket=artifacts,
        monitoring_bucket="mlplatform-test-monitoring",
        model_package_group=PLATFORM["model_package_group"])


def _resolve(pipeline: str, defaults: dict, platform: dict) -> dict:
    user_input = {}
    if pipeline == "batch":
        user_input = {"data": {"input_s3_uri": "s3://mlplatform-test-scoring/batch/"}}
    return resolve({"pipeline": pipeline, "execution_name": EXECUTION,
                    "defaults": copy.deepcopy(defaults), "platform": copy.deepcopy(platform),
                    "input": user_input})


def _set(tree: dict, dotted: str, value: Any) -> dict:
    tree = copy.deepcopy(tree)
    *path, last = dotted.split(".")
    node = tree
    for name in path:
        node = node.setdefault(name, {})
    node[last] = value
    return tree


SERVERLESS = {"serving": {"serverless": {}}, "monitoring": {"enabled": False}}
WAITING = {"serving": {"deployment": {"traffic_routing": "ALL_AT_ONCE",
                                      "max_execution_timeout_seconds": 28_800}}}
# (stage file key, its bound, the pipeline, the defaults key the Lambda checks, other settings)
BOUNDS = [
    ("processing.max_runtime_seconds", contract.PROCESSING_MAX_RUNTIME_SECONDS, "training",
     "processing.max_runtime_seconds", {}),
    ("processing.volume_size_gb", contract.VOLUME_MAX_SIZE_GB, "training",
     "processing.volume_size_gb", {}),
    ("processing.instance_count", contract.JOB_MAX_INSTANCE_COUNT, "training",
     "processing.instance_count", {}),
    ("training.max_runtime_seconds", contract.TRAINING_MAX_RUNTIME_SECONDS, "training",
     "training.max_runtime_seconds", {"training": {"use_spot": False}}),
    ("training.max_wait_seconds", contract.TRAINING_MAX_WAIT_SECONDS, "training",
     "training.max_wait_seconds", {}),
    ("training.volume_size_gb", contract.VOLUME_MAX_SIZE_GB, "training",
     "training.volume_size_gb", {}),
    ("training.instance_count", contract.JOB_MAX_INSTANCE_COUNT, "training",
     "training.instance_count", {}),
    ("tuning.max_jobs", contract.TUNING_MAX_TRAINING_JOBS, "training", "tuning.max_jobs", {}),
    ("tuning.max_parallel_jobs", contract.TUNING_MAX_PARALLEL_JOBS, "training",
     "tuning.max_parallel_jobs", {"tuning": {"max_jobs": 100}}),
    ("batch_inference.max_payload_mb", contract.TRANSFORM_MAX_PAYLOAD_MB, "batch",
     "transform.max_payload_mb", {}),
    ("batch_inference.instance_count", contract.JOB_MAX_INSTANCE_COUNT, "batch",
     "transform.instance_count", {}),
    ("serving.autoscaling.max_capacity", contract.ENDPOINT_MAX_INSTANCE_COUNT, "deployment",
     "autoscaling.max_capacity", {}),
    ("serving.autoscaling.target_invocations_per_instance",
     contract.AUTOSCALING_MAX_TARGET_INVOCATIONS, "deployment",
     "autoscaling.target_invocations_per_instance", {}),
    ("serving.autoscaling.scale_in_cooldown_seconds", contract.AUTOSCALING_MAX_COOLDOWN_SECONDS,
     "deployment", "autoscaling.scale_in_cooldown_seconds", {}),
    ("serving.deployment.max_execution_timeout_seconds", contract.BLUE_GREEN_MAX_TIMEOUT_SECONDS,
     "deployment", "deployment.max_execution_timeout_seconds", {}),
    ("serving.deployment.termination_wait_seconds", contract.BLUE_GREEN_MAX_WAIT_SECONDS,
     "deployment", "deployment.termination_wait_seconds", WAITING),
    ("serving.serverless.max_concurrency", contract.SERVERLESS_MAX_CONCURRENCY, "deployment",
     "endpoint.serverless.max_concurrency", SERVERLESS),
]


def _stage(tmp_path: Path, key: str, value: int, extra: dict):
    data = _set({"use_cases": [{"name": "churn"}], **copy.deepcopy(extra)}, key, value)
    path = tmp_path / "stage.json"
    path.write_text(json.dumps(data))
    return load_stage_config("test", path)


@pytest.mark.parametrize(("key", "bound", "pipeline", "doc_key", "extra"), BOUNDS,
                         ids=[b[0] for b in BOUNDS])
def test_the_config_and_the_validator_stop_at_the_same_bound(tmp_path, key, bound, pipeline,
                                                             doc_key, extra):
    defaults, platform = _defaults(pipeline, _stage(tmp_path, key, bound, extra))
    _resolve(pipeline, defaults, platform)  # the bound itself: both accept it
    with pytest.raises(ConfigError) as error:
        _stage(tmp_path, key, bound + 1, extra)
    assert key in {p.key for p in error.value.problems}, str(error.value)
    with pytest.raises(InvalidPipelineDefaults) as refused:
        _resolve(pipeline, _set(defaults, doc_key, bound + 1), platform)
    assert doc_key in refused.value.keys


def test_a_processing_job_runs_at_most_sagemakers_nine_days(tmp_path):
    """The config once allowed training's 28 days here; CreateProcessingJob refuses > 777600."""
    with pytest.raises(ConfigError) as error:
        _stage(tmp_path, "processing.max_runtime_seconds", 800_000, {})
    assert "(allowed: 60 .. 777600)" in str(error.value)


# --- no copies -----------------------------------------------------------------------------------
SCANNED = ("config", "ml_constructs", "stacks", "runtime_scripts/pipeline_input", "local_runner")
NUMBERS = {contract.PROCESSING_MAX_RUNTIME_SECONDS, contract.TRAINING_MAX_RUNTIME_SECONDS,
           contract.VOLUME_MAX_SIZE_GB, contract.BLUE_GREEN_MAX_TIMEOUT_SECONDS,
           contract.AUTOSCALING_MAX_TARGET_INVOCATIONS, max(contract.SERVERLESS_MEMORY_SIZES_MB)}
PATTERNS = {contract.INSTANCE_TYPE_PATTERN.pattern, contract.METRIC_NAME_PATTERN.pattern}
TUPLES = {contract.TUNING_STRATEGIES, contract.GATE_COMPARISONS,
          contract.SERVERLESS_MEMORY_SIZES_MB, contract.BASELINE_FILES}


def _copies(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool) and (
                node.value in NUMBERS or node.value in PATTERNS):
            found.append(f"{node.value!r}")
        elif isinstance(node, ast.Tuple | ast.List) and all(
                isinstance(e, ast.Constant) for e in node.elts):
            values = tuple(e.value for e in node.elts)
            if values in TUPLES:
                found.append(repr(values))
    return [f"{path.relative_to(ROOT)}:{value}" for value in found]


def test_no_module_spells_out_a_shared_limit_again():
    copies = [c for folder in SCANNED for path in sorted((ROOT / folder).rglob("*.py"))
              for c in _copies(path)]
    assert copies == [], "import these from runtime_scripts/contract.py"
