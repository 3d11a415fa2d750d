"""The input-validator Lambda's reserved concurrency: a typed config key, off by default."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from config import ConfigError, load_stage_config
from ml_constructs.input_validation import InputValidator

VALIDATORS = ("mlplatform-{stage}-pipeline-input", "mlplatform-{stage}-deployment-input")


def _functions(synthesized, stage: str) -> dict[str, dict]:
    found = {}
    for path in synthesized[stage].templates:
        for resource in json.loads(path.read_text())["Resources"].values():
            if resource["Type"] == "AWS::Lambda::Function":
                name = resource["Properties"].get("FunctionName")
                if isinstance(name, str):
                    found[name] = resource["Properties"]
    return found


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_validators_reserve_no_concurrency_by_default(synthesized, stage):
    """A new account's concurrency quota can be 10 and Lambda keeps 100 unreserved, so any
    reservation fails the first deploy there: none unless the stage asks for one."""
    assert load_stage_config(stage).input_validation.reserved_concurrency is None
    functions = _functions(synthesized, stage)
    for name in VALIDATORS:
        assert "ReservedConcurrentExecutions" not in functions[name.format(stage=stage)]


def test_a_configured_reservation_reaches_the_function(tmp_path):
    path = tmp_path / "qa.json"
    path.write_text(json.dumps({"input_validation": {"reserved_concurrency": 5}}))
    config = load_stage_config("qa", path)
    stack = cdk.Stack(cdk.App(), "Test")
    InputValidator(stack, "Validator", function_name="mlplatform-qa-pipeline-input",
                   key=kms.Key(stack, "Key"), log_retention=logs.RetentionDays.ONE_WEEK,
                   reserved_concurrency=config.input_validation.reserved_concurrency)
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function", {"ReservedConcurrentExecutions": 5})


@pytest.mark.parametrize(("value", "message"), [
    (0, "input_validation.reserved_concurrency': 0 is below the minimum (allowed: >= 1)"),
    (-3, "is below the minimum"),
    ("10", "must be an integer"),
    (2.5, "must be an integer"),
    (True, "must be an integer"),
])
def test_bad_reservations_name_the_key(tmp_path, value, message):
    path = tmp_path / "qa.json"
    path.write_text(json.dumps({"input_validation": {"reserved_concurrency": value}}))
    with pytest.raises(ConfigError, match="input_validation.reserved_concurrency") as error:
        load_stage_config("qa", path)
    assert message in str(error.value)
