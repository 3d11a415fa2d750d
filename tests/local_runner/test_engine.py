"""Canaries for the moto adapter: one small state machine per integration it fills in, so a moto
upgrade that breaks a patch fails here, by name, before any pipeline test does."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from moto import mock_aws

from local_runner import engine
from local_runner import local_sagemaker as local_sagemaker_module
from local_runner.executors import JobOutcome, LocalProgram
from local_runner.local_sagemaker import LocalSageMaker
from tests.local_runner.asl_runner import execution_runner

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/local"


class Unhappy(Exception):
    """A Lambda handler's own error class: Step Functions names the error after it."""


def handler(event, context):
    if event.get("fail"):
        raise Unhappy("the input names key 'x'")
    return {"echo": event["value"], "when": "now"}


@pytest.fixture()
def account(tmp_path, monkeypatch):
    def fake_training(request, s3, program, workdir, **kwargs):
        if request["HyperParameters"].get("fail"):
            return JobOutcome("Failed", "hyperparameter 'fail' is not known", "log", {}, None,
                              None)
        return JobOutcome("Completed", None, "log", {"validation:auc": 0.9},
                          f"s3://b/{request['TrainingJobName']}/output/model.tar.gz", None)

    monkeypatch.setattr(local_sagemaker_module.executors, "run_training_job", fake_training)
    glue_runs = []

    def glue(name, request):
        glue_runs.append((name, request))
        return {"Id": "jr_1", "JobName": name, "JobRunState": "SUCCEEDED"}

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        s3 = boto3.client("s3", region_name=REGION)
        sagemaker = LocalSageMaker(s3=s3, program=LocalProgram(bin_dir=tmp_path),
                                   workdir=tmp_path, region=REGION)
        services = engine.LocalServices(sagemaker=sagemaker, glue=glue,
                                        lambdas={"validate": handler}, time_scale=0.001)
        with engine.activate(services):
            run = execution_runner(boto3.client("stepfunctions", region_name=REGION))
            yield run, s3, sagemaker, glue_runs


def _catch_all(next_state: str = "Caught") -> list[dict]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": next_state}]


CAUGHT = {"Caught": {"Type": "Pass", "End": True}}


def test_lambda_runs_the_real_handler_in_process(account):
    run, *_ = account
    ok = run({"Call": {"Type": "Task", "Resource":
                       f"arn:aws:lambda:{REGION}:123456789012:function:validate", "End": True}},
             {"value": 3})
    assert ok["status"] == "SUCCEEDED"
    assert json.loads(ok["output"]) == {"echo": 3, "when": "now"}


def test_lambda_errors_are_named_after_the_exception_class(account):
    run, *_ = account
    failed = run({"Call": {"Type": "Task", "Resource":
                           f"arn:aws:lambda:{REGION}:123456789012:function:validate",
                           "Catch": [{"ErrorEquals": ["Unhappy"], "ResultPath": "$.error",
                                      "Next": "Caught"}], "End": True}, **CAUGHT},
                 {"fail": True})
    assert failed["status"] == "SUCCEEDED"
    error = json.loads(failed["output"])["error"]
    assert error["Error"] == "Unhappy"
    assert json.loads(error["Cause"])["errorMessage"] == "the input names key 'x'"


TRAIN = {"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
         "Parameters": {"TrainingJobName.$": "$.name", "HyperParameters.$": "$.hp",
                        "OutputDataConfig": {"S3OutputPath": "s3://b/"}}}


def test_sagemaker_sync_returns_the_finished_job(account):
    run, _, sagemaker, _ = account
    result = run({"Train": {**TRAIN, "End": True}}, {"name": "job-1", "hp": {}})
    assert result["status"] == "SUCCEEDED"
    output = json.loads(result["output"])
    assert output["TrainingJobStatus"] == "Completed"
    assert output["ModelArtifacts"]["S3ModelArtifacts"] == "s3://b/job-1/output/model.tar.gz"
    assert sagemaker.calls == [("training-job", "job-1")]


def test_a_failed_sync_job_is_states_task_failed_with_the_reason(account):
    run, *_ = account
    result = run({"Train": {**TRAIN, "Catch": _catch_all(), "End": True}, **CAUGHT},
                 {"name": "job-2", "hp": {"fail": "1"}})
    error = json.loads(result["output"])["error"]
    assert error["Error"] == "States.TaskFailed"
    assert json.loads(error["Cause"])["FailureReason"] == "hyperparameter 'fail' is not known"


def test_duplicate_job_names_are_rejected_as_on_aws(account):
    run, *_ = account
    states = {"Train": {**TRAIN, "ResultPath": None, "Next": "Again"},
              "Again": {**TRAIN, "Catch": _catch_all(), "End": True}, **CAUGHT}
    result = run(states, {"name": "job-3", "hp": {}})
    error = json.loads(result["output"])["error"]
    # ValidationException is no exception SageMaker's model defines: the SDK's base one.
    assert error["Error"] == "SageMaker.AmazonSageMakerException"
    assert "already exists" in error["Cause"]
    assert "(Service: AmazonSageMaker; Status Code: 400; Error Code: ValidationException;" \
        in error["Cause"]


def test_a_refused_call_is_named_and_explained_as_each_integration_reports_it(account):
    """A throttled create call: the optimized integration's generic name with the code in the
    cause (SDK for Java 1.x), the aws-sdk one's with only the status (2.x); a code SageMaker's
    model defines keeps its own name. Nothing was created, so nothing was recorded."""
    run, _, sagemaker, _ = account
    sagemaker.inject_faults("createTrainingJob", ["ThrottlingException"])
    sagemaker.inject_faults("createModel", ["ThrottlingException", "ResourceLimitExceeded"])
    model = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:createModel",
             "Parameters": {"ModelName": "m", "ExecutionRoleArn": ROLE,
                            "PrimaryContainer": {"Image": "i", "ModelDataUrl": "s3://b/m"}},
             "ResultPath": None}
    states = {"Train": {**TRAIN, "Catch": _catch_all("Model"), "Next": "Model"},
              "Model": {**model, "Catch": _catch_all("Again"), "End": True},
              "Again": {**model, "Catch": _catch_all("Caught"), "End": True}, **CAUGHT}
    result = run(states, {"name": "job-5", "hp": {}})
    failed = [e["taskFailedEventDetails"] for e in result["history"]
              if e["type"] == "TaskFailed"]
    assert [f["error"] for f in failed] == ["SageMaker.AmazonSageMakerException",
                                            "SageMaker.SageMakerException",
                                            "SageMaker.ResourceLimitExceededException"]
    assert failed[0]["cause"].startswith(
        "Rate exceeded (Service: AmazonSageMaker; Status Code: 400; "
        "Error Code: ThrottlingException; Request ID: ")
    assert failed[1]["cause"].startswith(
        "Rate exceeded (Service: SageMaker, Status Code: 400, Request ID: ")
    assert "training-job" not in sagemaker.state.jobs and not sagemaker.state.models


def test_retry_on_a_sync_task_gets_a_fresh_attempt_on_a_fast_clock(account):
    run, _, sagemaker, _ = account
    sagemaker.inject_faults("createTrainingJob", ["ThrottlingException", "ThrottlingException"])
    retry = [{"ErrorEquals": ["SageMaker.AmazonSageMakerException"], "IntervalSeconds": 60,
              "MaxAttempts": 3, "BackoffRate": 2.0}]
    started = time.monotonic()
    result = run({"Train": {**TRAIN, "Retry": retry, "End": True}}, {"name": "job-4", "hp": {}})
    assert result["status"] == "SUCCEEDED"
    assert time.monotonic() - started < 10  # 60 s + 120 s of backoff, scaled
    assert [e["type"] for e in result["history"]].count("TaskFailed") == 2


def test_aws_sdk_results_are_json_and_errors_use_aws_casing(account):
    run, s3, *_ = account
    s3.create_bucket(Bucket="data", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="data", Key="doc.json", Body=b'{"metrics": {"auc": 0.93}}')
    get = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
           "Parameters": {"Bucket": "data", "Key.$": "$.key"},
           "ResultSelector": {"document.$": "States.StringToJson($.Body)",
                              "modified.$": "$.LastModified"}}
    ok = run({"Get": {**get, "End": True}}, {"key": "doc.json"})
    output = json.loads(ok["output"])
    assert output["document"] == {"metrics": {"auc": 0.93}}
    assert isinstance(output["modified"], str)
    missing = run({"Get": {**get, "Catch": [{"ErrorEquals": ["S3.NoSuchKeyException"],
                                             "ResultPath": "$.error", "Next": "Caught"}],
                           "End": True}, **CAUGHT}, {"key": "absent.json"})
    assert json.loads(missing["output"])["error"]["Error"] == "S3.NoSuchKeyException"


def test_aws_sdk_sagemaker_calls_reach_the_local_registry(account):
    run, _, sagemaker, _ = account
    sagemaker.create_model_package_group("group")
    register = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:createModelPackage",
                "Parameters": {"ModelPackageGroupName": "group", "ModelApprovalStatus": "Approved",
                               "InferenceSpecification": {"Containers": [
                                   {"Image": "i", "ModelDataUrl": "s3://b/m.tar.gz"}]}},
                "Next": "List"}
    listing = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:listModelPackages",
               "Parameters": {"ModelPackageGroupName": "group", "ModelApprovalStatus": "Approved",
                              "SortBy": "CreationTime", "SortOrder": "Descending",
                              "MaxResults": 1}, "End": True}
    result = run({"Register": register, "List": listing})
    packages = json.loads(result["output"])["ModelPackageSummaryList"]
    assert packages[0]["ModelPackageArn"].endswith(":model-package/group/1")


def test_glue_sync_runs_the_local_job(account):
    run, _, _, glue_runs = account
    result = run({"Etl": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
                          "Parameters": {"JobName": "etl", "Arguments": {"--x": "1"}},
                          "End": True}})
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])["JobRunState"] == "SUCCEEDED"
    assert glue_runs == [("etl", {"JobName": "etl", "Arguments": {"--x": "1"}})]


def test_fail_state_reports_a_caught_states_error_and_waits_are_fast(account):
    run, *_ = account
    started = time.monotonic()
    result = run({"Pause": {"Type": "Wait", "Seconds": 300, "Next": "Fail"},
                  "Fail": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}},
                 {"e": "States.TaskFailed", "c": "the job failed"})
    assert time.monotonic() - started < 10
    assert result["status"] == "FAILED"
    failed = [e for e in result["history"] if e["type"] == "ExecutionFailed"][0]
    assert failed["executionFailedEventDetails"] == {"error": "States.TaskFailed",
                                                     "cause": "the job failed"}


def test_a_definite_path_through_an_index_yields_the_value(account):
    run, *_ = account
    result = run({"Pick": {"Type": "Pass", "Parameters": {
        "arn.$": "$.items[0].arn", "all.$": "$.items[*].arn", "last.$": "$.items[1]"},
        "End": True}}, {"items": [{"arn": "a"}, {"arn": "b"}]})
    assert json.loads(result["output"]) == {"arn": "a", "all": ["a", "b"], "last": {"arn": "b"}}


def test_sfn_tasks_use_pascal_case_member_names_both_ways(account):
    """boto3 spells Step Functions' own API in camelCase (`stateMachineArn`); a state machine
    spells it in PascalCase, in its parameters and in the results it reads."""
    run, *_ = account
    result = run({
        "Child?": {"Type": "Choice", "Choices": [
            {"Variable": "$.child", "IsPresent": True, "Next": "Done"}], "Default": "List"},
        "List": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sfn:listExecutions",
                 "Parameters": {"StateMachineArn.$": "$$.StateMachine.Id",
                                "StatusFilter": "RUNNING"},
                 "ResultSelector": {"names.$": "$.Executions[*].Name"},
                 "ResultPath": "$.listed", "Next": "Start"},
        "Start": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
                  "Parameters": {"StateMachineArn.$": "$$.StateMachine.Id", "Name": "child",
                                 "Input": {"child": True}},
                  "ResultSelector": {"arn.$": "$.ExecutionArn"}, "ResultPath": "$.started",
                  "End": True},
        "Done": {"Type": "Pass", "End": True}})
    assert result["status"] == "SUCCEEDED", result.get("cause")
    output = json.loads(result["output"])
    assert output["listed"] == {"names": ["canary"]}
    assert output["started"]["arn"].endswith(":child")


def test_application_autoscaling_is_boto3s_application_autoscaling(account):
    run, *_ = account
    target = {"ServiceNamespace": "sagemaker", "ResourceId": "endpoint/e/variant/AllTraffic",
              "ScalableDimension": "sagemaker:variant:DesiredInstanceCount"}
    result = run({
        "Register": {"Type": "Task", "Resource":
                     "arn:aws:states:::aws-sdk:applicationautoscaling:registerScalableTarget",
                     "Parameters": {**target, "MinCapacity": 1, "MaxCapacity": 3},
                     "ResultPath": None, "Next": "Describe"},
        "Describe": {"Type": "Task", "Resource":
                     "arn:aws:states:::aws-sdk:applicationautoscaling:describeScalableTargets",
                     "Parameters": {"ServiceNamespace": "sagemaker",
                                    "ResourceIds": [target["ResourceId"]]},
                     "ResultSelector": {"max.$": "$.ScalableTargets[0].MaxCapacity"},
                     "End": True}})
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert json.loads(result["output"]) == {"max": 3}
