"""The AutoML branch as synthesized (the `serverless` variant's churn trains with Autopilot,
tests/conftest.py): its states, what CreateAutoMLJobV2 is sent, and the permissions of the
state machine and of the AutoML job's role, least privilege."""

from __future__ import annotations

import json

STAGE = "serverless"
MACHINE = "mlplatform-serverless-churn-training"


def _policies(synthesized) -> list[dict]:
    return [r for path in synthesized[STAGE].templates
            for r in json.loads(path.read_text())["Resources"].values()
            if r["Type"] == "AWS::IAM::Policy"]


def test_autopilot_replaces_training_and_is_polled_until_it_ends(definitions):
    states = definitions[STAGE][MACHINE]["States"]
    assert "Train model" not in states and "Tune hyperparameters?" not in states
    assert states["Preprocess data"]["Next"] == "Start AutoML job"
    start = states["Start AutoML job"]
    assert start["Resource"].endswith(":states:::aws-sdk:sagemaker:createAutoMLJobV2")
    assert start["Next"] == "Wait for AutoML job"
    assert states["Wait for AutoML job"]["Next"] == "Describe AutoML job"
    finished = states["AutoML job finished?"]
    assert finished["Default"] == "Wait for AutoML job"
    assert {c["Next"] for c in finished["Choices"]} == {
        "Candidate kind?", "Explain AutoML failure", "Explain AutoML stop"}
    assert states["Evaluate candidate"]["Next"] == "Use candidate model"
    assert states["Use candidate model"]["Next"] == "Read evaluation"
    # The gate registers the model the branch created (no second Create model).
    gate = states["Quality gate"]["Choices"][0]["Next"]
    assert gate == "Register model package"
    register = states[gate]["Parameters"]["InferenceSpecification"]
    assert register["Containers.$"] == "$.model.containers"


def test_the_autopilot_request_encrypts_everything_and_reads_the_raw_splits(definitions):
    request = definitions[STAGE][MACHINE]["States"]["Start AutoML job"]["Parameters"]
    assert request["AutoMLProblemTypeConfig"] == {
        "TabularJobConfig.$": "$.automl.tabular_job_config"}
    assert request["AutoMLJobObjective.$"] == "$.automl.objective"
    assert request["OutputDataConfig"]["KmsKeyId"]
    assert request["SecurityConfig"]["VolumeKmsKeyId"] == request["OutputDataConfig"]["KmsKeyId"]
    assert request["SecurityConfig"]["EnableInterContainerTrafficEncryption"] is True
    channels = {c["ChannelType"]: c for c in request["AutoMLJobInputDataConfig"]}
    assert set(channels) == {"training", "validation"}
    assert "train/" in channels["training"]["DataSource"]["S3DataSource"]["S3Uri.$"]
    transform = definitions[STAGE][MACHINE]["States"][
        "Transform test split with candidate"]["Parameters"]
    assert transform["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input"}


def test_the_state_machine_may_run_only_the_stages_automl_jobs(synthesized):
    statements = [s for p in _policies(synthesized)
                  for s in p["Properties"]["PolicyDocument"]["Statement"]
                  if "sagemaker:CreateAutoMLJobV2" in json.dumps(s)]
    assert statements
    for statement in statements:
        assert "automl-job/mlplatform-serverless-*" in json.dumps(statement["Resource"])


def test_the_automl_job_role_creates_only_the_stages_jobs_and_passes_only_itself(synthesized):
    (policy,) = [p for p in _policies(synthesized)
                 if "AutoMLJobRolePolicy" in json.dumps(p["Properties"]["PolicyName"])]
    jobs, passing = policy["Properties"]["PolicyDocument"]["Statement"]
    assert "sagemaker:CreateTrainingJob" in jobs["Action"]
    assert all(r["Fn::Join"][1][-1].endswith(":processing-job/mlplatform-serverless-*")
               or "/mlplatform-serverless-*" in r["Fn::Join"][1][-1] for r in jobs["Resource"])
    assert passing["Action"] == "iam:PassRole"
    assert passing["Condition"] == {"StringEquals": {
        "iam:PassedToService": "sagemaker.amazonaws.com"}}
