"""The `cicd` config section: defaults, the committed pipeline stage, and every wrong value
naming its key and what is allowed; the loader's list[str] support; and the rules between the
pipeline's stage and the stages it deploys (`plan_delivery`)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from config import (
    CicdConfig,
    ConfigError,
    available_stages,
    deploys_elsewhere,
    load_stage_config,
    plan_delivery,
)

# The committed stage files a pipeline can deliver (every one but the pipeline's own).
DEPLOYABLE = ", ".join(stage for stage in available_stages() if stage != "cicd")

ROOT = Path(__file__).resolve().parents[2]
CONNECTION = "arn:aws:codeconnections:eu-west-1:123456789012:connection/0a1b2c3d-4e5f"
ENABLED = {"enabled": True, "connection_arn": CONNECTION, "repository": "example-org/ml"}


def _load(tmp_path: Path, cicd: dict):
    """A stage file with this `cicd` section; a stage without a pipeline deploys churn."""
    path = tmp_path / "stage.json"
    use_cases = [] if cicd.get("enabled") else [{"name": "churn"}]
    path.write_text(json.dumps({"cicd": cicd, "use_cases": use_cases}))
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
        ({**ENABLED, "stages": []}, "cicd.stages", DEPLOYABLE),
        ({**ENABLED, "stages": ["dev", "qa"]}, "cicd.stages[1]", DEPLOYABLE),
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
    text = (ROOT / "docs" / "cicd.md").read_text()
    for field in dataclasses.fields(CicdConfig):
        assert f"`cicd.{field.name}`" in text, field.name


# --- between the pipeline's stage and the stages it deploys (config/delivery.py) ---------------
DEV_ACCOUNT, PROD_ACCOUNT = "222222222222", "333333333333"


def test_the_committed_pipeline_plans_dev_then_prod_with_the_approval_before_prod():
    plan = plan_delivery(load_stage_config("cicd"))
    assert [(s.config.stage, s.approval_before, s.smoke_test) for s in plan] == [
        ("dev", False, True), ("prod", True, False)]
    # Both deploy where the pipeline does: its own registry setting covers them.
    assert not any(s.elsewhere or s.scan_on_push for s in plan)


def test_a_pipeline_hosts_no_use_cases_and_a_data_stage_hosts_no_pipeline(tmp_path):
    path = tmp_path / "cicd.json"
    data = json.loads((ROOT / "config" / "stages" / "cicd.json").read_text())
    path.write_text(json.dumps({**data, "use_cases": [{"name": "churn"}]}))
    with pytest.raises(ConfigError) as error:
        load_stage_config("cicd", path)
    assert error.value.key == "use_cases" and "deploys only the pipeline" in str(error.value)
    assert load_stage_config("cicd").use_cases == []


def test_stages_elsewhere_scan_once_per_registry_and_need_the_pipelines_account():
    host = dataclasses.replace(load_stage_config("cicd"), account="111111111111")
    dev = dataclasses.replace(load_stage_config("dev"), account=DEV_ACCOUNT)
    prod = dataclasses.replace(load_stage_config("prod"), account=PROD_ACCOUNT,
                               region="eu-central-1")
    again = dataclasses.replace(load_stage_config("prod"), stage="qa", account=PROD_ACCOUNT,
                                region="eu-central-1")
    plan = plan_delivery(host, [dev, prod, again])
    assert [s.elsewhere for s in plan] == [True, True, True]
    assert [s.scan_on_push for s in plan] == [True, True, False]  # qa shares prod's registry
    assert deploys_elsewhere(host, dataclasses.replace(dev, account=None)) is False


def test_every_problem_between_the_stages_is_reported_at_once():
    host = load_stage_config("cicd")  # no account of its own
    dev = dataclasses.replace(load_stage_config("dev"), account=DEV_ACCOUNT)
    nested = dataclasses.replace(load_stage_config("cicd"), stage="prod")
    with pytest.raises(ConfigError) as error:
        plan_delivery(host, [dev, nested])
    assert [p.key for p in error.value.problems] == ["cicd.stages[1]", "account"]
    message = str(error.value)
    assert "stage 'prod' hosts a pipeline itself" in message
    assert "stages dev deploy to another account or region" in message
    assert "must name its own account (allowed: 12 digits)" in message


def test_only_a_pipeline_stage_has_a_delivery_plan():
    with pytest.raises(ConfigError, match="stage 'dev' hosts no pipeline"):
        plan_delivery(load_stage_config("dev"))
