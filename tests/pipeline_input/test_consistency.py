"""The Lambda against the stage config: the defaults and platform values the CDK side builds
for every use case of every stage config are what the Lambda accepts, and the package imports
only the standard library and project modules that do the same (ml_constructs/python_asset.py
ships them; tests/infra/test_input_validator.py runs the handler from the synthesized asset
alone)."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import sys
from pathlib import Path

import pytest

from config import available_stages, load_stage_config
from ml_constructs import pipeline_defaults
from ml_constructs.python_asset import RUNTIME_PROVIDED
from runtime_scripts.pipeline_input import resolve, training
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN

from .events import (
    BATCH_DEFAULTS,
    BATCH_PLATFORM,
    IMAGE_SPECIFICATION,
    PLATFORM,
    TRAINING_DEFAULTS,
    TRAINING_PLATFORM,
    VOLUME_KEY,
    event,
)

PACKAGE = Path(training.__file__).parent
RUNTIME_ROOT = PACKAGE.parent
DOC = RUNTIME_ROOT.parent / "docs" / "pipeline-inputs.md"
EXAMPLE = re.compile(r"<!-- example: (training|batch) -->\s*```json\n(.*?)```", re.DOTALL)
RAW, CURATED = "mlplatform-dev-raw-123456789012", "mlplatform-dev-curated-123456789012"


def documents(stage: str, use_case) -> dict[str, dict]:
    """What the CDK side embeds in a use case's state machines (bucket names as in dev)."""
    config = load_stage_config(stage)
    artifacts = PLATFORM["artifacts_bucket"]
    return {
        "training": pipeline_defaults.training_defaults(config, use_case, raw_bucket=RAW,
                                                        curated_bucket=CURATED),
        "training platform": {**pipeline_defaults.training_platform(
            config, use_case, artifacts_bucket=artifacts), **IMAGE_SPECIFICATION},
        "batch": pipeline_defaults.batch_defaults(config, use_case, raw_bucket=RAW),
        "batch platform": {**pipeline_defaults.batch_platform(
            config, use_case, artifacts_bucket=artifacts), **VOLUME_KEY},
    }


def test_fixture_mirrors_the_dev_stage():
    """The fixture's defaults and platform values are dev's churn ones (its tuning ranges and
    registry description are shorter on purpose)."""
    built = documents("dev", load_stage_config("dev").use_case("churn"))
    assert built["training platform"] == TRAINING_PLATFORM
    assert built["batch platform"] == BATCH_PLATFORM
    for section in ("data", "processing", "training", "quality_gate"):
        assert built["training"][section] == TRAINING_DEFAULTS[section], section
    fixed = ("ranges", "static_hyperparameters")
    assert {k: v for k, v in built["training"]["tuning"].items() if k not in fixed} == \
        {k: v for k, v in TRAINING_DEFAULTS["tuning"].items() if k not in fixed}
    assert built["training"]["registry"]["approval_status"] == \
        TRAINING_DEFAULTS["registry"]["approval_status"]
    assert built["training"]["tuning"]["ranges"] == CHURN.tuning.ranges
    for section in ("processing", "transform"):
        assert built["batch"][section] == BATCH_DEFAULTS[section], section
    assert built["batch"]["data"] == {**BATCH_DEFAULTS["data"],
                                      "input_s3_uri": f"s3://{RAW}/batch/input/churn/"}


STAGE_USE_CASES = [(stage, use_case.name) for stage in available_stages()
                   for use_case in load_stage_config(stage).use_cases]


@pytest.mark.parametrize(("stage", "use_case"), STAGE_USE_CASES)
def test_every_stage_config_gives_valid_defaults(stage, use_case):
    config = load_stage_config(stage)
    chosen = config.use_case(use_case)
    built = documents(stage, chosen)
    out = resolve(event("training", {}, defaults=built["training"],
                        platform=built["training platform"]))
    assert out["run"]["job_names"]["training"].startswith(
        f"{config.resource_prefix}-{use_case}-")
    resolve(event("batch", {}, defaults=built["batch"], platform=built["batch platform"]))
    # The built-in algorithm's variant too, where the use case has one.
    if chosen.manifest.image.builtin_training is not None:
        builtin = dataclasses.replace(chosen, training=dataclasses.replace(
            chosen.training, algorithm="builtin"))
        built = documents(stage, builtin)
        assert built["training platform"]["pinned_hyperparameters"]
        resolve(event("training", {}, defaults=built["training"],
                      platform=built["training platform"]))


def test_stages_are_checked_at_all():
    assert ("dev", "churn") in STAGE_USE_CASES and ("prod", "churn") in STAGE_USE_CASES


def test_package_imports_only_the_standard_library_and_the_runtimes_sdk():
    allowed = set(sys.stdlib_module_names) | {"__future__"} | RUNTIME_PROVIDED
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
