"""Merge semantics, bad stage defaults (a deploy bug, not the user's) and a broken event."""

from __future__ import annotations

import copy

import pytest

from runtime_scripts.pipeline_input import (
    InvalidPipelineDefaults,
    InvalidPipelineInput,
    Problem,
    resolve,
)
from runtime_scripts.pipeline_input.errors import MAX_PROBLEMS_SHOWN
from runtime_scripts.pipeline_input.training import SCHEMA

from .events import TRAINING_DEFAULTS, TRAINING_PLATFORM, error, event, with_changes


# --- merge ----------------------------------------------------------------------------------------
def test_objects_merge_and_everything_else_replaces():
    base = copy.deepcopy(TRAINING_DEFAULTS)
    merged = SCHEMA.merge(base, {
        "training": {"instance_count": 2},
        "tuning": {"warm_start": {"type": "TransferLearning", "parents": ["p1"]},
                   "max_runtime_seconds": None},
        "typo": {"x": 1},
    })
    assert merged["training"]["instance_count"] == 2
    assert merged["training"]["instance_type"] == "ml.m5.xlarge"
    assert merged["tuning"]["warm_start"] == {"type": "TransferLearning", "parents": ["p1"]}
    assert merged["typo"] == {"x": 1}  # carried through so validation names it
    assert base == TRAINING_DEFAULTS  # the defaults are not modified


def test_lists_replace_and_warm_start_objects_merge():
    defaults = with_changes(TRAINING_DEFAULTS, "tuning",
                            warm_start={"type": "IdenticalDataAndAlgorithm", "parents": ["a"]})
    out = resolve(event("training", {"tuning": {"warm_start": {"parents": ["b", "c"]}}},
                        defaults=defaults))
    assert out["tuning"]["warm_start"] == {"type": "IdenticalDataAndAlgorithm",
                                           "parents": ["b", "c"]}
    out = resolve(event("training", {"tuning": {"warm_start": None}}, defaults=defaults))
    assert out["tuning"]["use_warm_start"] is False


def test_hyperparameter_maps_can_be_replaced_by_a_wrong_type_and_are_then_rejected():
    exc = error(InvalidPipelineInput, resolve,
                event("training", {"training": {"hyperparameters": None}}))
    assert exc.keys == ["training.hyperparameters"]


# --- defaults -------------------------------------------------------------------------------------
def test_a_bad_stage_default_is_a_deploy_error_naming_default():
    defaults = with_changes(TRAINING_DEFAULTS, "tuning", max_jobs=900)
    exc = error(InvalidPipelineDefaults, resolve, event("training", {}, defaults=defaults))
    assert str(exc) == "default key 'tuning.max_jobs': 900 is out of range (allowed: 1 .. 500)"
    assert not isinstance(exc, InvalidPipelineInput)  # the state machine must not catch it


def test_defaults_are_checked_even_when_the_input_overrides_the_bad_value():
    defaults = with_changes(TRAINING_DEFAULTS, "training", instance_type="m5.large")
    error(InvalidPipelineDefaults, resolve,
          event("training", {"training": {"instance_type": "ml.m5.large"}}, defaults=defaults))


def test_defaults_must_hold_every_non_nullable_key():
    defaults = copy.deepcopy(TRAINING_DEFAULTS)
    del defaults["tuning"]["max_jobs"]
    exc = error(InvalidPipelineDefaults, resolve, event("training", {}, defaults=defaults))
    assert str(exc) == "default key 'tuning.max_jobs' is required"


def test_an_absent_nullable_default_is_null():
    """CDK drops null values from the payload template, so null defaults arrive absent."""
    defaults = copy.deepcopy(TRAINING_DEFAULTS)
    del defaults["tuning"]["hyperband"]
    del defaults["data"]["dataset_spec_s3_uri"]
    resolved = resolve(event("training", {}, defaults=defaults))
    assert resolved["tuning"]["hyperband"] is None
    assert resolved["data"]["dataset_spec_s3_uri"] is None


def test_cross_field_rules_apply_to_defaults():
    defaults = with_changes(TRAINING_DEFAULTS, "training", max_wait_seconds=600)
    exc = error(InvalidPipelineDefaults, resolve, event("training", {}, defaults=defaults))
    assert exc.keys == ["training.max_wait_seconds"]
    assert str(exc).startswith("default key")


# --- the event itself -----------------------------------------------------------------------------
@pytest.mark.parametrize(("mutate", "fragment"), [
    (lambda e: e.update(pipeline="inference"), "event key 'pipeline'"),
    (lambda e: e.pop("platform"), "event key 'platform' is required"),
    (lambda e: e.pop("execution_name"), "event key 'execution_name' is required"),
    (lambda e: e.update(extra=1), "event key 'extra': unknown key"),
    (lambda e: e.update(execution_name="a/b"), "cannot be used in S3 paths"),
    (lambda e: e.update(execution_name=""), "must not be empty"),
    (lambda e: e.update(execution_name="x" * 81), "at most 80"),
    (lambda e: e.update(defaults=[]), "event key 'defaults': must be an object"),
    (lambda e: e["platform"].update(artifacts_bucket="Bad_Bucket"),
     "event key 'platform.artifacts_bucket'"),
    (lambda e: e["platform"].update(model_package_group="bad group"),
     "event key 'platform.model_package_group'"),
    (lambda e: e["platform"].pop("resource_prefix"),
     "event key 'platform.resource_prefix' is required"),
])
def test_a_broken_event_is_a_deploy_error(mutate, fragment):
    ev = event("training", {})
    mutate(ev)
    exc = error(InvalidPipelineDefaults, resolve, ev)
    assert fragment in str(exc)


def test_event_must_be_an_object():
    assert str(error(InvalidPipelineDefaults, resolve, "x")).startswith("event: must be")


def test_missing_input_means_empty_input():
    ev = event("training", {})
    del ev["input"]
    assert resolve(ev)["platform"] == TRAINING_PLATFORM


# --- messages -------------------------------------------------------------------------------------
def test_long_lists_of_problems_are_cut_short():
    exc = InvalidPipelineInput([Problem(f"k{i}", "bad") for i in range(MAX_PROBLEMS_SHOWN + 3)])
    assert str(exc).endswith("; and 3 more problems")
    assert len(exc.problems) == MAX_PROBLEMS_SHOWN + 3


def test_long_values_are_abbreviated_in_messages():
    exc = error(InvalidPipelineInput, resolve,
                event("training", {"data": {"raw_s3_uri": "gs://" + "x" * 500}}))
    assert len(str(exc)) < 250


def test_absurdly_nested_input_is_rejected_without_a_recursion_error():
    nested: list = []
    for _ in range(5000):
        nested = [nested]
    exc = error(InvalidPipelineInput, resolve, event("training", {"typo": nested}))
    assert str(exc) == "input: is nested more than 32 levels deep"


@pytest.mark.parametrize("use_case", ["", "churn/eu", "churn eu", "x" * 64])
def test_a_use_case_name_unfit_for_job_names_and_s3_folders_is_a_deploy_bug(use_case):
    ev = event("training", {}, platform={**TRAINING_PLATFORM, "use_case": use_case})
    assert error(InvalidPipelineDefaults, resolve, ev).keys == ["platform.use_case"]
