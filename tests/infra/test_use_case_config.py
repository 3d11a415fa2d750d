"""The `use_cases` section: which use cases a stage deploys, each with overrides merged over the
stage's sections key by key, defaults from its manifest, and every mistake named by its key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import ConfigError, load_stage_config
from runtime_scripts.common.manifest import available_use_cases, load_manifest

# Every use case folder there is: adding one changes what the messages list.
KNOWN = ", ".join(available_use_cases())


def _load(tmp_path: Path, data: dict):
    path = tmp_path / "stage.json"
    path.write_text(json.dumps(data))
    return load_stage_config("test", path)


def _error(tmp_path: Path, data: dict) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, data)
    return error.value


def test_the_committed_stages_deploy_churn():
    for stage in ("dev", "prod"):
        config = load_stage_config(stage)
        assert [u.name for u in config.use_cases] == ["churn"]
        assert config.use_case("churn") is config.use_cases[0]
    with pytest.raises(KeyError, match="deploys no use case 'ames': it deploys churn"):
        load_stage_config("dev").use_case("ames")


def test_an_unknown_use_case_suggests_the_nearest_and_lists_those_that_exist(tmp_path):
    error = _error(tmp_path, {"use_cases": [{"name": "chrun"}]})
    assert error.key == "use_cases[0].name"
    message = str(error)
    assert f"unknown use case 'chrun': known are {KNOWN}" in message
    assert "did you mean 'churn'?" in message
    assert "runtime_scripts/use_cases/<name>/" in message


@pytest.mark.parametrize(("entries", "key", "words"), [
    ([{"name": "Churn_2"}], "use_cases[0].name", "2-12 lowercase letters"),
    ([{"name": "churn"}, {"name": "churn"}], "use_cases[1].name", "'churn' is listed twice"),
    ([{"data_prefix": "churn/"}], "use_cases[0].name", f"is required (allowed: {KNOWN})"),
    (["churn"], "use_cases[0]", "must be an object"),
    ({"name": "churn"}, "use_cases", "must be a list"),
    ([], "use_cases", "no use case is listed: a stage deploys at least one"),
    ([{"name": "churn", "data_prefix": "/churn"}], "use_cases[0].data_prefix",
     "is not an S3 key prefix"),
    ([{"name": "churn", "trainig": {}}], "use_cases[0].trainig",
     "did you mean 'use_cases[0].training'?"),
    ([{"name": "churn", "training": {"use_spot": "yes"}}], "use_cases[0].training.use_spot",
     "must be a boolean"),
    ([{"name": "churn", "training": {"max_runtime_seconds": 10}}],
     "use_cases[0].training.max_runtime_seconds", "60 .. 2419200"),
    ([{"name": "churn", "tuning": {"objective_metric": "validation:acu"}}],
     "use_cases[0].tuning.objective_metric", "did you mean 'validation:auc'?"),
    ([{"name": "churn", "batch_inference": {"volume_size_gb": 50}}],
     "use_cases[0].batch_inference.volume_size_gb", "unknown key"),
])
def test_mistakes_are_keyed_by_the_use_case(tmp_path, entries, key, words):
    error = _error(tmp_path, {"use_cases": entries})
    assert error.key == key, str(error)
    assert words in str(error)


def test_a_stage_without_use_cases_lists_the_use_cases_to_choose_from(tmp_path):
    error = _error(tmp_path, {})
    choices = ", ".join(f'{{"name": "{name}"}}' for name in available_use_cases())
    assert str(error).endswith("config key 'use_cases': no use case is listed: a stage deploys "
                               f"at least one (allowed: {choices})")


def test_a_ci_cd_only_stage_deploys_no_use_case():
    config = load_stage_config("cicd")
    assert config.cicd.enabled and config.use_cases == []


def test_overrides_merge_over_the_stage_key_by_key(tmp_path):
    config = _load(tmp_path, {
        "training": {"instance_type": "ml.m5.2xlarge", "use_spot": True,
                     "max_runtime_seconds": 3600, "max_wait_seconds": 7200},
        "serving": {"initial_instance_count": 2,
                    "autoscaling": {"min_capacity": 2, "max_capacity": 4}},
        "tuning": {"max_jobs": 12},
        "use_cases": [{"name": "churn",
                       "training": {"max_runtime_seconds": 5400},
                       "serving": {"autoscaling": {"max_capacity": 8}}}],
    })
    use_case = config.use_cases[0]
    training = use_case.training
    assert (training.instance_type, training.use_spot, training.max_runtime_seconds,
            training.max_wait_seconds) == ("ml.m5.2xlarge", True, 5400, 7200)
    # Nested sections merge the same way; a section left out is the stage's.
    scaling = use_case.serving.autoscaling
    assert (use_case.serving.initial_instance_count, scaling.min_capacity,
            scaling.max_capacity) == (2, 2, 8)
    assert use_case.tuning == config.tuning and use_case.tuning.max_jobs == 12
    # The stage's own sections are untouched.
    assert config.training.max_runtime_seconds == 3600
    assert config.serving.autoscaling.max_capacity == 4


def test_an_override_is_checked_against_the_merged_section(tmp_path):
    """The stage's spot training waits 7200 s: a use case's longer run must wait longer."""
    error = _error(tmp_path, {
        "training": {"use_spot": True, "max_runtime_seconds": 3600, "max_wait_seconds": 7200},
        "use_cases": [{"name": "churn", "training": {"max_runtime_seconds": 9000}}]})
    assert [p.key for p in error.problems] == ["use_cases[0].training.max_wait_seconds"]
    assert "(allowed: >= 9000)" in str(error)


def test_a_wrong_stage_value_is_reported_once_at_the_stages_key(tmp_path):
    error = _error(tmp_path, {"training": {"instance_type": "m5.xlarge"},
                              "use_cases": [{"name": "churn"}]})
    assert [p.key for p in error.problems] == ["training.instance_type"]


def test_defaults_come_from_the_manifest(tmp_path):
    manifest = load_manifest("churn")
    script = _load(tmp_path, {"training": {"hyperparameters": {"max_depth": "6"}},
                              "use_cases": [{"name": "churn"}]}).use_cases[0]
    assert script.prefix == "churn/"
    assert script.hyperparameters == {**manifest.hyperparameters, "max_depth": "6"}
    assert script.objective == (manifest.tuning.objective_metric,
                                manifest.tuning.objective_type)
    assert script.model_quality_metric == manifest.gate[0].metric
    assert script.static_tuning_hyperparameters == manifest.tuning.static_hyperparameters


def test_builtin_training_uses_the_algorithm_the_manifest_names(tmp_path):
    builtin = load_manifest("churn").image.builtin_training
    use_case = _load(tmp_path, {"use_cases": [
        {"name": "churn", "data_prefix": "customers/churn/",
         "training": {"algorithm": "builtin"}}]}).use_cases[0]
    assert use_case.builtin_training and use_case.prefix == "customers/churn/"
    assert use_case.objective[0] == builtin.objective_metric
    assert builtin.hyperparameters.items() <= use_case.hyperparameters.items()
    assert builtin.hyperparameters.items() <= use_case.static_tuning_hyperparameters.items()


def test_every_problem_of_a_file_is_reported_at_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("stage.json").write_text(json.dumps({
        "tuning": {"max_jobs": 501},
        "use_cases": [
            {"name": "chrun"},
            {"name": "churn", "training": {"max_runtime_seconds": 10},
             "monitoring": {"model_quality_metric": "rmse"},
             "batch_inference": {"max_runtime_seconds": 600}},
            {"name": "churn", "quality_gate": {"conditions": []}},
        ]}))
    with pytest.raises(ConfigError) as error:
        load_stage_config("test", Path("stage.json"))
    assert str(error.value).startswith("stage.json: 8 problems\n")
    assert [p.key for p in error.value.problems] == [
        "use_cases[1].batch_inference.max_runtime_seconds",  # while reading the file
        "tuning.max_jobs",
        "use_cases[0].name",
        "use_cases[1].training.max_runtime_seconds",
        "use_cases[1].monitoring.model_quality_metric",
        "use_cases[2].name",
        "use_cases[2].quality_gate.conditions",  # no conditions: too few, and none on recall
        "use_cases[2].quality_gate.conditions",
    ]


def test_the_readme_example_means_what_the_readme_says(tmp_path):
    section = (Path(__file__).resolve().parents[2] / "README.md").read_text() \
        .split("### Use cases", 1)[1]
    example = section.split("```json\n", 1)[1].split("```", 1)[0]
    use_case = _load(tmp_path, json.loads("{" + example + "}")).use_cases[0]
    training = use_case.training
    assert (training.instance_type, training.use_spot, training.max_runtime_seconds,
            training.max_wait_seconds) == ("ml.m5.xlarge", True, 5400, 7200)
    assert use_case.hyperparameters["max_depth"] == "6"
    assert use_case.serving.autoscaling.max_capacity == 4


def test_two_use_cases_whose_names_would_share_permissions_are_refused(tmp_path):
    # Serving permissions are scoped to '<prefix>-<use case>-*': 'churn' would cover 'churn-eu'.
    error = _error(tmp_path, {"use_cases": [{"name": "churn"}, {"name": "churn-eu"}]})
    overlap = [p for p in error.problems if "begins the other" in str(p)]
    assert [p.key for p in overlap] == ["use_cases[1].name"]
