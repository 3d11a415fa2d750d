"""Training pipeline input: defaults from {}, overrides at several depths, derived values."""

from __future__ import annotations

import copy
import json

from runtime_scripts.pipeline_input import handler
from runtime_scripts.pipeline_input.values import SAGEMAKER_NAME, TUNING_JOB_NAME

from .events import EXECUTION, PLATFORM, TRAINING_DEFAULTS, TRAINING_PLATFORM, event, training

PREFIX = f"s3://{PLATFORM['artifacts_bucket']}/runs/churn/{EXECUTION}/"


# --- happy path ----------------------------------------------------------------------------------
def test_empty_input_gives_the_stage_defaults_and_derived_values():
    out = training({})
    for section in ("data", "registry"):
        assert out[section] == TRAINING_DEFAULTS[section]
    processing = out["processing"]
    assert processing.pop("cluster_config") == {
        "InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30,
        "VolumeKmsKeyId": TRAINING_PLATFORM["volume_kms_key"]}
    assert processing == TRAINING_DEFAULTS["processing"]
    assert out["quality_gate"]["conditions"] == TRAINING_DEFAULTS["quality_gate"]["conditions"]
    assert out["training"]["instance_type"] == "ml.m5.xlarge"
    assert out["platform"] == TRAINING_PLATFORM
    run = out["run"]
    assert run["pipeline"] == "training"
    assert run["execution_name"] == EXECUTION
    assert run["prefix"] == PREFIX
    assert run["s3"] == {
        "preprocessing_input": "s3://mlplatform-dev-raw-123456789012/churn/",
        "train": f"{PREFIX}preprocessing/train/",
        "validation": f"{PREFIX}preprocessing/validation/",
        "test": f"{PREFIX}preprocessing/test/",
        "baseline": f"{PREFIX}preprocessing/baseline/",
        "transform": f"{PREFIX}preprocessing/transform/",
        "automl": f"{PREFIX}preprocessing/automl/",
        "model_output": f"{PREFIX}training/",
        "checkpoints": f"{PREFIX}checkpoints/",
        "packaged": f"{PREFIX}packaged/",
        "evaluation": f"{PREFIX}evaluation/",
        "evaluation_bucket": PLATFORM["artifacts_bucket"],
        "evaluation_key": f"runs/churn/{EXECUTION}/evaluation/evaluation.json",
        "debug_output": f"{PREFIX}debugger/",
        "training_rules": f"{PREFIX}training-rules/",
        "training_rules_key": f"runs/churn/{EXECUTION}/training-rules/rules.json",
    }
    assert run["job_names"] == {
        "preprocessing": f"mlplatform-dev-churn-prep-{EXECUTION}",
        "training": f"mlplatform-dev-churn-train-{EXECUTION}",
        "tuning": run["job_names"]["tuning"],
        "package": f"mlplatform-dev-churn-pkg-{EXECUTION}",
        "evaluation": f"mlplatform-dev-churn-eval-{EXECUTION}",
        "model": f"mlplatform-dev-churn-model-{EXECUTION}",
        "data_wrangler": f"mlplatform-dev-churn-dw-{EXECUTION}",
        "training_rules": f"mlplatform-dev-churn-rules-{EXECUTION}",
        "automl": run["job_names"]["automl"],  # 32 characters at most, like a tuning job
        "candidate_transform": f"mlplatform-dev-churn-cand-{EXECUTION}",
    }
    assert TUNING_JOB_NAME.match(run["job_names"]["automl"])
    assert run["data_wrangler"] == {"enabled": False}
    assert TUNING_JOB_NAME.match(run["job_names"]["tuning"])
    assert all(SAGEMAKER_NAME.match(n) for n in run["job_names"].values())


def test_empty_input_tuning_pieces_are_in_the_api_shape():
    tuning = training({})["tuning"]
    assert tuning["parameter_ranges"] == {
        "ContinuousParameterRanges": [
            {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.3", "ScalingType": "Logarithmic"}],
        "IntegerParameterRanges": [
            {"Name": "max_depth", "MinValue": "3", "MaxValue": "10", "ScalingType": "Auto"}],
        "CategoricalParameterRanges": [],
    }
    assert tuning["resource_limits"] == {"MaxNumberOfTrainingJobs": 10,
                                         "MaxParallelTrainingJobs": 2}
    assert tuning["objective"] == {"MetricName": "validation:auc", "Type": "Maximize"}
    assert tuning["warm_start_config"] is None and tuning["use_warm_start"] is False
    assert tuning["strategy_config"] is None and tuning["has_strategy_config"] is False
    # Tuned names drop out of the static set; the rest of training.hyperparameters stays.
    assert tuning["effective_static_hyperparameters"] == {"num_round": "1000",
                                                          "early_stopping_rounds": "20"}


def test_handler_matches_resolve_is_json_and_leaves_the_event_alone():
    ev = event("training", {"training": {"hyperparameters": {"eta": "0.2"}}})
    before = copy.deepcopy(ev)
    out = handler(ev, None)
    assert ev == before
    assert json.loads(json.dumps(out)) == out
    out["training"]["hyperparameters"]["eta"] = "mutated"
    assert ev == before


def test_stopping_condition_with_spot_has_max_wait():
    assert training({})["training"]["stopping_condition"] == {
        "MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}


def test_stopping_condition_without_spot_has_no_max_wait():
    # AWS rejects MaxWaitTimeInSeconds without managed spot; a short wait is then irrelevant.
    out = training({"training": {"use_spot": False, "max_wait_seconds": 60}})
    assert out["training"]["stopping_condition"] == {"MaxRuntimeInSeconds": 3600}


def test_run_glue_preprocesses_the_curated_data():
    out = training({"data": {"run_glue": True}})
    assert out["run"]["s3"]["preprocessing_input"] == TRAINING_DEFAULTS["data"]["curated_s3_uri"]


# --- overrides at several depths -----------------------------------------------------------------
def test_overrides_merge_into_the_defaults_at_every_depth():
    out = training({
        "processing": {"instance_count": 2},
        "training": {"hyperparameters": {"max_depth": "7", "subsample": "0.8"}},
        "tuning": {"max_runtime_seconds": 7200},
        "quality_gate": {"conditions": [{"metric": "f1", "comparison": ">", "threshold": 1}]},
    })
    assert out["processing"]["cluster_config"]["InstanceCount"] == 2
    assert {k: v for k, v in out["processing"].items() if k != "cluster_config"} == \
        {**TRAINING_DEFAULTS["processing"], "instance_count": 2}
    # Hyperparameters merge key by key.
    assert out["training"]["hyperparameters"] == {
        "num_round": "1000", "max_depth": "7", "eta": "0.1", "early_stopping_rounds": "20",
        "subsample": "0.8"}
    assert out["tuning"]["resource_limits"]["MaxRuntimeInSeconds"] == 7200
    # A list replaces the default list as a whole; an integer threshold becomes a float.
    assert out["quality_gate"]["conditions"] == [
        {"metric": "f1", "comparison": ">", "threshold": 1.0}]
    assert isinstance(out["quality_gate"]["conditions"][0]["threshold"], float)


def test_null_removes_a_default_hyperparameter():
    out = training({"training": {"hyperparameters": {"early_stopping_rounds": None}}})
    assert "early_stopping_rounds" not in out["training"]["hyperparameters"]


def test_ranges_are_replaced_as_a_whole_and_missing_kinds_are_empty():
    out = training({"tuning": {"enabled": True, "ranges": {
        "categorical": [{"name": "max_depth", "values": ["4", "6"]}]}}})
    assert out["tuning"]["ranges"] == {
        "continuous": [], "integer": [],
        "categorical": [{"name": "max_depth", "values": ["4", "6"]}]}
    assert out["tuning"]["parameter_ranges"]["CategoricalParameterRanges"] == [
        {"Name": "max_depth", "Values": ["4", "6"]}]


def test_range_scaling_defaults_to_auto_and_numbers_become_plain_strings():
    out = training({"tuning": {"ranges": {"continuous": [
        {"name": "alpha", "min": 0.00001, "max": 10}]}}})
    assert out["tuning"]["parameter_ranges"]["ContinuousParameterRanges"] == [
        {"Name": "alpha", "MinValue": "0.00001", "MaxValue": "10", "ScalingType": "Auto"}]


def test_warm_start_and_hyperband_derive_their_api_configs():
    out = training({"tuning": {
        "enabled": True, "strategy": "Hyperband", "max_runtime_seconds": 86400,
        "hyperband": {"min_resource": 10, "max_resource": 300},
        "warm_start": {"type": "TransferLearning", "parents": ["churn-tune-a", "churn-tune-b"]},
    }})
    tuning = out["tuning"]
    assert tuning["strategy_config"] == {
        "HyperbandStrategyConfig": {"MinResource": 10, "MaxResource": 300}}
    assert tuning["has_strategy_config"] is True
    assert tuning["warm_start_config"] == {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "churn-tune-a"},
                                           {"HyperParameterTuningJobName": "churn-tune-b"}],
        "WarmStartType": "TransferLearning"}
    assert tuning["use_warm_start"] is True
    assert tuning["resource_limits"]["MaxRuntimeInSeconds"] == 86400


def test_hyperband_max_resource_may_be_inferred_from_an_epochs_hyperparameter():
    out = training({"tuning": {"enabled": True, "strategy": "Hyperband",
                               "static_hyperparameters": {"epochs": "50"}}})
    assert out["tuning"]["strategy_config"] == {"HyperbandStrategyConfig": {}}


def test_grid_runs_exactly_one_job_per_combination():
    out = training({"tuning": {"enabled": True, "strategy": "Grid", "max_jobs": 20, "ranges": {
        "categorical": [{"name": "max_depth", "values": ["3", "5", "7"]},
                        {"name": "eta", "values": ["0.05", "0.1"]}]}}})
    assert out["tuning"]["resource_limits"] == {"MaxNumberOfTrainingJobs": 6,
                                                "MaxParallelTrainingJobs": 2}


def test_two_use_cases_run_under_their_own_folders_and_job_names():
    """Both use cases' training state machines may run an execution of the same name."""
    other = {**TRAINING_PLATFORM, "use_case": "ames", "model_package_group": "mlplatform-dev-ames"}
    churn, ames = training({}, execution_name="nightly"), training(
        {}, execution_name="nightly", platform=other)
    assert churn["run"]["prefix"].endswith("/runs/churn/nightly/")
    assert ames["run"]["prefix"].endswith("/runs/ames/nightly/")
    assert ames["run"]["s3"]["evaluation_key"] == "runs/ames/nightly/evaluation/evaluation.json"
    assert not set(churn["run"]["job_names"].values()) & set(ames["run"]["job_names"].values())
    assert ames["run"]["job_names"]["training"] == "mlplatform-dev-ames-train-nightly"
