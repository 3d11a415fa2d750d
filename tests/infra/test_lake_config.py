"""`lake_formation` and `studio`: every mistake named by its key, with what is allowed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import ConfigError, load_stage_config

ROLE = "arn:aws:iam::123456789012:role/data-scientist"
CHURN = [{"name": "churn"}]


def _problems(tmp_path: Path, data: dict) -> list[str]:
    path = tmp_path / "stage.json"
    path.write_text(json.dumps({"use_cases": CHURN, **data}))
    with pytest.raises(ConfigError) as error:
        load_stage_config("test", path)
    return [str(p) for p in error.value.problems]


def test_a_valid_lake_with_readers_and_studio_loads(tmp_path) -> None:
    path = tmp_path / "stage.json"
    path.write_text(json.dumps({
        "use_cases": CHURN, "network": {"isolate": True},
        "lake_formation": {"enabled": True, "admins": [ROLE],
                           "readers": [{"role_arn": ROLE, "domains": ["churn"],
                                        "sensitivity": ["internal", "confidential"]}]},
        "studio": {"enabled": True, "users": ["ada", "grace-h"]}}))
    config = load_stage_config("test", path)
    assert config.lake_formation.readers[0].sensitivity == ["internal", "confidential"]
    assert config.studio.users == ["ada", "grace-h"]


def test_studio_needs_the_lake_and_an_isolated_network(tmp_path) -> None:
    problems = _problems(tmp_path, {"studio": {"enabled": True}})
    assert any("studio.enabled" in p and "lake_formation.enabled: true" in p for p in problems)
    assert any("studio.enabled" in p and "network.isolate: true" in p for p in problems)


@pytest.mark.parametrize(("section", "expected"), [
    ({"lake_formation": {"enabled": True, "readers": [{"role_arn": "data-scientist"}]}},
     "'lake_formation.readers[0].role_arn': 'data-scientist' is not an IAM role ARN"),
    ({"lake_formation": {"enabled": True, "readers": [{"role_arn": ROLE,
                                                       "domains": ["sales"]}]}},
     "'lake_formation.readers[0].domains[0]': 'sales' is not a use case of this stage"),
    ({"lake_formation": {"enabled": True, "readers": [{"role_arn": ROLE,
                                                       "sensitivity": ["secret"]}]}},
     "'lake_formation.readers[0].sensitivity[0]': 'secret' is not a sensitivity level"),
    ({"lake_formation": {"enabled": True, "default_sensitivity": "public"}},
     "'lake_formation.default_sensitivity': 'public' is not one of sensitivity_levels"),
    ({"lake_formation": {"enabled": True, "sensitivity_tag": "domain"}},
     "'lake_formation.sensitivity_tag': is the same key as domain_tag"),
    ({"lake_formation": {"enabled": True, "sensitivity_levels": ["internal"]}},
     "churn's glue schema marks column 'customer_id' as 'confidential', not a level"),
    ({"studio": {"users": ["-ada"], "idle_timeout_minutes": 5}},
     "'studio.users[0]': '-ada' is not a user profile name"),
    ({"studio": {"idle_timeout_minutes": 5}}, "'studio.idle_timeout_minutes': 5"),
])
def test_mistakes_name_the_key_and_what_is_allowed(tmp_path, section: dict,
                                                   expected: str) -> None:
    problems = _problems(tmp_path, section)
    assert any(expected in p for p in problems), problems
