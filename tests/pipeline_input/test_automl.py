"""The `automl` section of the training input (the AutoML branch): what reaches
CreateAutoMLJobV2, and bad values refused in the first state with the allowed ones."""

from __future__ import annotations

import pytest

from runtime_scripts import contract
from runtime_scripts.pipeline_input import InvalidPipelineInput

from .events import EXECUTION, TRAINING_PLATFORM, error, training

AUTOML_PLATFORM = {**TRAINING_PLATFORM,
                   "automl": {"problem_type": "BinaryClassification", "target": "churn"}}


def automl(user_input: dict | None = None) -> dict:
    return training({"automl": user_input or {}}, platform=AUTOML_PLATFORM)["automl"]


def test_the_request_parts_follow_the_input_and_the_use_case():
    out = automl({"mode": "HYPERPARAMETER_TUNING", "objective_metric": "AUC",
                  "max_candidates": 5, "max_runtime_per_training_job_seconds": 600})
    assert out["tabular_job_config"] == {
        "ProblemType": "BinaryClassification", "TargetAttributeName": "churn",
        "Mode": "HYPERPARAMETER_TUNING",
        "CompletionCriteria": {"MaxCandidates": 5, "MaxAutoMLJobRuntimeInSeconds": 14400,
                               "MaxRuntimePerTrainingJobInSeconds": 600}}
    assert out["objective"] == {"MetricName": "AUC"}
    assert out["classifier"] is True
    assert out["inference_output"] == {"SAGEMAKER_INFERENCE_OUTPUT":
                                       contract.AUTOML_CLASSIFIER_OUTPUT}
    assert out["evaluation_arguments"] == ["--candidate", "--gate", "auc>=0.85",
                                           "--gate", "recall>=0.5"]
    assert out["output_s3_uri"].endswith(f"/runs/churn/{EXECUTION}/automl/output/")


def test_defaults_take_autopilots_objective_and_leave_out_the_per_job_limit():
    out = automl()
    assert out["objective"] == {"MetricName": "F1"}  # Autopilot's default for binary
    assert "MaxRuntimePerTrainingJobInSeconds" not in out["tabular_job_config"][
        "CompletionCriteria"]


@pytest.mark.parametrize(("section", "expected"), [
    ({"objective_metric": "RMSE"}, "'automl.objective_metric': \"RMSE\" is not an Autopilot "
                                   "objective for BinaryClassification"),
    ({"mode": "AUTO"}, "'automl.mode'"),
    ({"max_candidates": 751}, "'automl.max_candidates'"),
    ({"max_runtime_seconds": 60}, "'automl.max_runtime_seconds'"),
    ({"max_runtime_per_training_job_seconds": 20000},
     "'automl.max_runtime_per_training_job_seconds': 20000 exceeds max_runtime_seconds"),
])
def test_bad_values_are_refused_naming_what_is_allowed(section, expected):
    message = str(error(InvalidPipelineInput, automl, section))
    assert expected in message
    if "objective_metric" in section:
        assert "F1, Accuracy, AUC, BalancedAccuracy, Precision, Recall" in message


def test_a_state_machine_without_the_branch_ignores_the_section():
    out = training({"automl": {"objective_metric": "RMSE"}})["automl"]
    assert out["enabled"] is False


def test_an_algorithm_resource_is_refused_where_autopilot_trains():
    message = str(error(InvalidPipelineInput, training,
                        {"training": {"algorithm_name": "someone-elses-algorithm"}},
                        platform=AUTOML_PLATFORM))
    assert "'training.algorithm_name': is an algorithm resource: this state machine trains " \
           "with Autopilot" in message
    # Where the branch is not deployed, the same input trains with that algorithm resource.
    assert training({"training": {"algorithm_name": "someone-elses-algorithm"}})[
        "training"]["algorithm_specification"]["AlgorithmName"] == "someone-elses-algorithm"
