"""The Lambda keeps its own copies of a few shared values (it cannot import contract.py or the
config package from its asset); these tests keep the copies equal to the originals, check that
every stage config the platform accepts becomes defaults the Lambda accepts, and that the
package imports only the standard library, the way the Lambda runtime loads it."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from config import settings
from config.settings import load_stage_config
from runtime_scripts import contract
from runtime_scripts.pipeline_input import gate, resolve, training, tuning
from runtime_scripts.pipeline_input.values import INSTANCE_TYPE, METRIC_NAME

from .events import BATCH_DEFAULTS, BATCH_INPUT, PLATFORM, TRAINING_DEFAULTS, event

PACKAGE = Path(training.__file__).parent
RUNTIME_ROOT = PACKAGE.parent
DOC = RUNTIME_ROOT.parent / "docs" / "pipeline-inputs.md"
EXAMPLE = re.compile(r"<!-- example: (training|batch) -->\s*```json\n(.*?)```", re.DOTALL)


def test_copied_constants_match_contract_and_settings():
    assert METRIC_NAME.pattern == contract.METRIC_NAME_PATTERN.pattern
    assert INSTANCE_TYPE.pattern == settings._ML_INSTANCE.pattern
    assert training.EVALUATION_FILE == contract.EVALUATION_FILE
    assert training.PREPROCESSING_OUTPUTS == (
        contract.PROCESSING_OUTPUT_TRAIN, contract.PROCESSING_OUTPUT_VALIDATION,
        contract.PROCESSING_OUTPUT_TEST, contract.PROCESSING_OUTPUT_BASELINE,
        contract.PROCESSING_OUTPUT_TRANSFORM)
    condition = typing.get_type_hints(settings.GateCondition)
    assert gate.METRICS == typing.get_args(condition["metric"]) == contract.EVALUATION_METRICS
    assert gate.COMPARISONS == typing.get_args(condition["comparison"]) == \
        contract.GATE_COMPARISONS
    assert gate.LOWER_IS_BETTER == contract.LOWER_IS_BETTER
    assert gate.MAX_CONDITIONS == contract.GATE_MAX_CONDITIONS
    strategies = typing.get_args(typing.get_type_hints(settings.TuningConfig)["strategy"])
    assert tuning.STRATEGIES == strategies
    assert TRAINING_DEFAULTS["tuning"]["objective_metric"] in contract.TRAINING_METRICS


def training_defaults(stage: str) -> dict:
    """What the CDK side builds from a stage config (S3 locations and ranges from the fixture)."""
    cfg = load_stage_config(stage)
    resources = ("instance_type", "instance_count", "volume_size_gb", "max_runtime_seconds")
    t = cfg.training
    return {
        **TRAINING_DEFAULTS,
        "processing": {k: getattr(cfg.processing, k) for k in resources},
        "training": {**{k: getattr(t, k) for k in resources}, "use_spot": t.use_spot,
                     "max_wait_seconds": t.max_wait_seconds,
                     "hyperparameters": dict(t.hyperparameters)},
        "tuning": {**TRAINING_DEFAULTS["tuning"],
                   **{k: getattr(cfg.tuning, k) for k in (
                       "enabled", "strategy", "objective_metric", "objective_type",
                       "max_jobs", "max_parallel_jobs")}},
        "quality_gate": {"conditions": [dataclasses.asdict(c)
                                        for c in cfg.quality_gate.conditions]},
        "registry": {**TRAINING_DEFAULTS["registry"],
                     "approval_status": cfg.registry.approval_status},
    }


def test_fixture_mirrors_the_dev_stage():
    assert training_defaults("dev") == TRAINING_DEFAULTS
    cfg = load_stage_config("dev").batch_inference
    assert BATCH_DEFAULTS["transform"]["instance_type"] == cfg.instance_type
    assert BATCH_DEFAULTS["transform"]["max_payload_mb"] == cfg.max_payload_mb


@pytest.mark.parametrize("stage", settings.available_stages())
def test_every_stage_config_gives_valid_defaults(stage):
    out = resolve(event("training", {}, defaults=training_defaults(stage)))
    assert out["run"]["job_names"]["training"].startswith(PLATFORM["resource_prefix"])
    cfg = load_stage_config(stage).batch_inference
    defaults = {**BATCH_DEFAULTS, "transform": {
        **BATCH_DEFAULTS["transform"], "instance_type": cfg.instance_type,
        "instance_count": cfg.instance_count, "max_payload_mb": cfg.max_payload_mb}}
    resolve(event("batch", {"data": {"input_s3_uri": BATCH_INPUT}}, defaults=defaults))


def test_package_imports_only_the_standard_library():
    allowed = set(sys.stdlib_module_names) | {"__future__"}
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] in allowed, f"{path.name} imports {module}"


def test_loads_like_the_lambda_runtime_with_runtime_scripts_as_the_root():
    # -I: no cwd, no PYTHONPATH, no site-packages of the user; only the asset root on sys.path.
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); "
        "from pipeline_input.handler import handler; "
        "print(json.dumps(handler(json.loads(sys.stdin.read()), None)))"
    )
    ev = event("training", {"tuning": {"max_jobs": 12}})
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(RUNTIME_ROOT)],
                          input=json.dumps(ev), capture_output=True, text=True, check=False,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == resolve(ev)


def test_documented_examples_are_accepted():
    examples = EXAMPLE.findall(DOC.read_text())
    assert [pipeline for pipeline, _ in examples] == ["training", "training", "batch", "batch",
                                                     "batch"]
    for pipeline, text in examples:
        out = resolve(event(pipeline, json.loads(text)))
        assert out["run"]["pipeline"] == pipeline
