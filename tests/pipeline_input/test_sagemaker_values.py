"""Values SageMaker rejects only when a job is created, refused in the first state instead:
execution names and data locations that become tag and metadata values, warm start parents that
are no tuning job names, resource prefixes that IAM's job-name scoping cannot keep whole."""

from __future__ import annotations

import pytest

from config import RESOURCE_PREFIX_MAX, ConfigError
from runtime_scripts.pipeline_input import InvalidPipelineDefaults, InvalidPipelineInput, names
from runtime_scripts.pipeline_input.values import TAG_VALUE_MAX, tag_value_problem

from .events import TRAINING_PLATFORM, batch, error, training


@pytest.mark.parametrize("name", ["june-retrain(v2)!", "it's-june", "run!", "a+b=c&d",
                                  "café-e\u0301", "emoji-\U0001F600"])
def test_execution_names_sagemaker_tags_cannot_hold_are_refused_first(name):
    exc = error(InvalidPipelineInput, training, {}, execution_name=name)
    message = str(exc)
    assert message.startswith("execution name: ")
    assert "SageMaker tags and model package metadata cannot hold" in message
    assert "(allowed: at most 256 letters, digits, spaces and _ . : / = + - @" in message


@pytest.mark.parametrize("name", ["june_retrain.v2", "réentraînement-été-2026", "日本語-run",
                                  "a=b+c@d", "x" * 80, "é" * 80])
def test_names_with_letters_digits_and_tag_symbols_run(name):
    out = training({}, execution_name=name)
    assert out["run"]["execution_name"] == name  # verbatim: the tags lead back to the execution


def test_the_rule_is_sagemakers_tag_value_pattern():
    # TagValue: ([\p{L}\p{Z}\p{N}_.:/=+\-@]*), at most 256 (botocore's sagemaker model).
    assert tag_value_problem("Ünïcödé 12 _.:/=+-@") is None
    assert tag_value_problem("x" * TAG_VALUE_MAX) is None
    assert "257 characters" in tag_value_problem("x" * (TAG_VALUE_MAX + 1))
    for char in "()!'&,#\u0301\u200d\t":  # punctuation, a combining mark, a joiner, a control
        assert tag_value_problem(f"a{char}b"), repr(char)


def test_a_data_location_that_becomes_a_tag_must_be_a_tag_value():
    exc = error(InvalidPipelineInput, training,
                {"data": {"raw_s3_uri": "s3://mlplatform-dev-raw-123456789012/churn (copy)/"}})
    assert exc.keys == ["data.raw_s3_uri"]
    assert "'data' tag" in str(exc)
    long_uri = "s3://mlplatform-dev-raw-123456789012/" + "k" * 230
    assert "characters long" in str(error(InvalidPipelineInput, batch,
                                          {"data": {"input_s3_uri": long_uri}}))
    # With Glue, the curated copy is what preprocessing reads and the tags name.
    exc = error(InvalidPipelineInput, training, {"data": {
        "run_glue": True, "curated_s3_uri": "s3://mlplatform-dev-curated-123456789012/a&b/"}})
    assert exc.keys == ["data.curated_s3_uri"]


def test_a_description_createmodelpackage_rejects_is_refused_first():
    # EntityDescription: [\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*; U+200D (a format character)
    # joins the emoji, so SageMaker would reject the package after training was paid for.
    exc = error(InvalidPipelineInput, training,
                {"registry": {"description": "June retrain \U0001F469\u200d\U0001F4bb"}})
    assert exc.keys == ["registry.description"]
    assert "U+200D" in str(exc)
    ok = training({"registry": {"description": "Été: retrain (v2) — 95% \U0001F389, ok?"}})
    assert ok["registry"]["description"].startswith("Été")


def test_warm_start_parents_longer_than_a_tuning_job_name_are_refused():
    # '-*' in SageMaker's pattern repeats freely, so the pattern alone passes this 35-character
    # name; CreateHyperParameterTuningJob rejects it (HyperParameterTuningJobName: max 32).
    parent = "a-" * 17 + "a"
    exc = error(InvalidPipelineInput, training, {"tuning": {
        "enabled": True, "warm_start": {"type": "TransferLearning", "parents": [parent]}}})
    assert exc.keys == ["tuning.warm_start.parents[0]"]
    assert "35 characters: SageMaker tuning job names have at most 32" in str(exc)
    ok = training({"tuning": {"enabled": True, "warm_start": {
        "type": "TransferLearning", "parents": ["a" * names.TUNING_NAME_MAX]}}})
    assert ok["tuning"]["use_warm_start"]


def test_a_resource_prefix_iam_scoping_cannot_keep_whole_is_a_deploy_bug():
    prefix = "p" * (names.MAX_SCOPED_PREFIX + 1)
    exc = error(InvalidPipelineDefaults, training, {},
                platform={**TRAINING_PLATFORM, "resource_prefix": prefix})
    assert exc.keys == ["platform.resource_prefix"]
    # At the limit, even the tuning job name keeps '<prefix>-' whole.
    prefix = "p" * names.MAX_SCOPED_PREFIX
    out = training({}, platform={**TRAINING_PLATFORM, "resource_prefix": prefix})
    assert all(name.startswith(f"{prefix}-") for name in out["run"]["job_names"].values())


def test_config_refuses_a_project_stage_prefix_over_the_same_limit(tmp_path):
    from tests.infra.test_config import _load

    assert RESOURCE_PREFIX_MAX == names.MAX_SCOPED_PREFIX  # the one limit, not a copy
    project = "p" * (names.MAX_SCOPED_PREFIX - len("-test") + 1)  # 'ppp...-test': one too many
    use_cases = [{"name": "churn"}]
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, {"project_name": project, "use_cases": use_cases})
    assert caught.value.key == "project_name"
    assert f"at most {names.MAX_SCOPED_PREFIX}" in str(caught.value)
    assert "IAM policies scoped to that prefix" in str(caught.value)
    config = _load(tmp_path, {"project_name": project[:-1], "use_cases": use_cases})
    assert len(config.resource_prefix) == names.MAX_SCOPED_PREFIX
