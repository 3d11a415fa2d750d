"""The `cicd` config section: defaults, the committed pipeline stage, and every wrong value
naming its key and what is allowed; the loader's list[str] support."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from config import ConfigError, load_stage_config
from config.settings import CicdConfig

CONNECTION = "arn:aws:codeconnections:eu-west-1:123456789012:connection/0a1b2c3d-4e5f"
ENABLED = {"enabled": True, "connection_arn": CONNECTION, "repository": "example-org/ml"}


def _load(tmp_path: Path, cicd: dict):
    path = tmp_path / "stage.json"
    path.write_text(json.dumps({"cicd": cicd}))
    return load_stage_config("test", path).cicd


def test_disabled_by_default_in_the_data_stages():
    for stage in ("dev", "prod"):
        assert load_stage_config(stage).cicd.enabled is False


def test_committed_pipeline_stage_deploys_dev_then_prod_with_an_approval():
    cicd = load_stage_config("cicd").cicd
    assert cicd.enabled and cicd.stages == ["dev", "prod"]
    assert cicd.manual_approval_before == "prod" and cicd.smoke_test


def test_valid_sections_load(tmp_path):
    legacy = CONNECTION.replace("codeconnections", "codestar-connections")
    cicd = _load(tmp_path, {**ENABLED, "connection_arn": legacy, "repository": "group/sub/name",
                            "branch": "release/1.2", "stages": ["prod"],
                            "manual_approval_before": None, "smoke_test": False})
    assert cicd.stages == ["prod"] and cicd.branch == "release/1.2"


def test_a_disabled_section_does_not_depend_on_stage_files(tmp_path):
    cicd = _load(tmp_path, {"stages": ["qa"], "manual_approval_before": "staging"})
    assert cicd.stages == ["qa"]


@pytest.mark.parametrize(
    ("cicd", "key", "allowed"),
    [
        ({"connection_arn": "arn:aws:codecommit:eu-west-1:123456789012:repo"},
         "cicd.connection_arn", "arn:aws:codeconnections:REGION:ACCOUNT:connection/ID"),
        ({"connection_arn": CONNECTION.replace("123456789012", "1234")}, "cicd.connection_arn",
         "codestar-connections"),
        ({"repository": "just-a-name"}, "cicd.repository", "owner/name"),
        ({"repository": "https://github.com/o/r"}, "cicd.repository", "owner/name"),
        ({"branch": "-main"}, "cicd.branch", "main or release/1.2"),
        ({"branch": "a..b"}, "cicd.branch", "main or release/1.2"),
        ({"branch": "feature/"}, "cicd.branch", "main or release/1.2"),
        ({"stages": "dev,prod"}, "cicd.stages", '["dev", "prod"]'),
        ({"stages": ["dev", 7]}, "cicd.stages[1]", None),
        ({"smoke_test": "yes"}, "cicd.smoke_test", None),
        ({"smoke_test_timeout_minutes": 2}, "cicd.smoke_test_timeout_minutes", "5 .. 480"),
        ({"notification_email": "team"}, "cicd.notification_email", "name@example.com"),
        ({"provider": "GitHub"}, "cicd.provider", "cicd.connection_arn"),
        ({**ENABLED, "connection_arn": None}, "cicd.connection_arn", "docs/cicd.md"),
        ({**ENABLED, "repository": None}, "cicd.repository", "docs/cicd.md"),
        ({**ENABLED, "stages": []}, "cicd.stages", "dev, prod"),
        ({**ENABLED, "stages": ["dev", "qa"]}, "cicd.stages[1]", "dev, prod"),
        ({**ENABLED, "stages": ["dev", "dev"]}, "cicd.stages[1]", "each stage once"),
        ({**ENABLED, "stages": ["dev"]}, "cicd.manual_approval_before", "dev, or null"),
    ],
)
def test_wrong_values_name_the_key_and_allowed_values(tmp_path, cicd, key, allowed):
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, cicd)
    assert error.value.key == key
    assert f"'{key}'" in str(error.value)
    if allowed:
        assert allowed in str(error.value)


def test_list_items_are_type_checked_by_position(tmp_path):
    with pytest.raises(ConfigError, match=r"config key 'cicd.stages\[0\]': must be a string"):
        _load(tmp_path, {"stages": [None]})


def test_docs_list_every_cicd_key():
    text = (Path(__file__).resolve().parents[2] / "docs" / "cicd.md").read_text()
    for field in dataclasses.fields(CicdConfig):
        assert f"`cicd.{field.name}`" in text, field.name
