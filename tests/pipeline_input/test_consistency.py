"""The Lambda against the stage config: every stage config the platform accepts becomes
defaults the Lambda accepts, and the package imports only the standard library and project
modules that do the same (ml_constructs/python_asset.py ships them; tests/infra/
test_input_validator.py runs the handler from the synthesized asset alone)."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import sys
from pathlib import Path

import pytest

from config import available_stages, load_stage_config
from runtime_scripts import contract
from runtime_scripts.pipeline_input import resolve, training

from .events import BATCH_DEFAULTS, BATCH_INPUT, PLATFORM, TRAINING_DEFAULTS, event

PACKAGE = Path(training.__file__).parent
RUNTIME_ROOT = PACKAGE.parent
DOC = RUNTIME_ROOT.parent / "docs" / "pipeline-inputs.md"
EXAMPLE = re.compile(r"<!-- example: (training|batch) -->\s*```json\n(.*?)```", re.DOTALL)
# The stages that deploy use cases (a CI/CD stage deploys only its pipeline).
DATA_STAGES = [name for name in available_stages() if load_stage_config(name).use_cases]


def test_the_fixture_tunes_on_a_metric_training_logs():
    assert TRAINING_DEFAULTS["tuning"]["objective_metric"] in contract.TRAINING_METRICS


def training_defaults(stage: str) -> dict:
    """What the CDK side builds from a stage config (S3 locations and ranges from the fixture)."""
    cfg = load_stage_config(stage)
    use_case = cfg.use_cases[0]
    resources = ("instance_type", "instance_count", "volume_size_gb", "max_runtime_seconds")
    t, tuning = use_case.training, use_case.tuning
    objective_metric, objective_type = use_case.objective
    return {
        **TRAINING_DEFAULTS,
        "processing": {k: getattr(cfg.processing, k) for k in resources},
        "training": {**{k: getattr(t, k) for k in resources}, "use_spot": t.use_spot,
                     "max_wait_seconds": t.max_wait_seconds,
                     "hyperparameters": use_case.hyperparameters},
        "tuning": {**TRAINING_DEFAULTS["tuning"],
                   **{k: getattr(tuning, k) for k in (
                       "enabled", "strategy", "max_jobs", "max_parallel_jobs")},
                   "objective_metric": objective_metric, "objective_type": objective_type},
        "quality_gate": {"conditions": [dataclasses.asdict(c) for c in use_case.gate]},
        "registry": {**TRAINING_DEFAULTS["registry"],
                     "approval_status": cfg.registry.approval_status},
    }


def test_fixture_mirrors_the_dev_stage():
    assert training_defaults("dev") == TRAINING_DEFAULTS
    cfg = load_stage_config("dev").use_cases[0].batch_inference
    assert BATCH_DEFAULTS["transform"]["instance_type"] == cfg.instance_type
    assert BATCH_DEFAULTS["transform"]["max_payload_mb"] == cfg.max_payload_mb


@pytest.mark.parametrize("stage", DATA_STAGES)
def test_every_stage_config_gives_valid_defaults(stage):
    out = resolve(event("training", {}, defaults=training_defaults(stage)))
    assert out["run"]["job_names"]["training"].startswith(PLATFORM["resource_prefix"])
    cfg = load_stage_config(stage).use_cases[0].batch_inference
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


def test_documented_examples_are_accepted():
    examples = EXAMPLE.findall(DOC.read_text())
    assert [pipeline for pipeline, _ in examples] == ["training", "training", "batch", "batch",
                                                     "batch"]
    for pipeline, text in examples:
        out = resolve(event(pipeline, json.loads(text)))
        assert out["run"]["pipeline"] == pipeline
