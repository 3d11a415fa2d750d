"""Checks every synthesized state machine of every stage must pass: valid ASL, every transition
names a state (moto only finds a dangling one at run time), every Task retries transient errors
only (by name, or by the cause of a generic name) and catches everything else into the failure
path."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ALL_STAGES

ROOT = Path(__file__).resolve().parents[2]
NOT_TRANSIENT = {"States.ALL", "States.TaskFailed", "States.Timeout"}
FAILURE_PATH = "Notify failure"  # the notifier retries but cannot catch into itself


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_definitions_pass_the_asl_validator(definitions, stage, tmp_path):
    paths = []
    for name, asl in definitions[stage].items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(asl))
        paths += ["--json-path", str(path)]
    # One validator process per stage: each reports every file it was given, by path.
    result = subprocess.run(["npx", "--no-install", "asl-validator", *paths],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" is valid") == len(definitions[stage]), result.stdout


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_every_transition_names_a_state(definitions, stage):
    for name, asl in definitions[stage].items():
        for state_name, state in asl["States"].items():
            targets = [state.get("Next"), state.get("Default")]
            targets += [c["Next"] for c in state.get("Catch", []) + state.get("Choices", [])]
            for target in filter(None, targets):
                assert target in asl["States"], f"{name}: {state_name} -> {target}"


# What Step Functions reports for any refused call of these integrations, whatever its cause
# (a throttle and a bad request alike): optimized integrations name the AWS SDK for Java 1.x
# base exception (AWS's example SageMaker task retries SageMaker.AmazonSageMakerException),
# aws-sdk ones the 2.x base exception (S3.S3Exception) for every code the model lacks.
GENERIC = {":states:::sagemaker:": "SageMaker.AmazonSageMakerException",
           ":states:::glue:": "Glue.AWSGlueException",
           ":states:::sns:": "SNS.AmazonSNSException",
           ":states:::aws-sdk:sagemaker:": "SageMaker.SageMakerException",
           ":states:::aws-sdk:s3:": "S3.S3Exception",
           ":states:::aws-sdk:applicationautoscaling:":
               "ApplicationAutoScaling.ApplicationAutoScalingException",
           ":states:::aws-sdk:sfn:": "Sfn.SfnException"}
# States that handle a refused call themselves: state -> where a non-transient one goes.
OWN_HANDLER = {"Describe endpoint": "Endpoint missing?", FAILURE_PATH: "Pipeline failed"}


def _generic(state: dict) -> str | None:
    return next((name for prefix, name in GENERIC.items() if prefix in state["Resource"]), None)


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_every_task_retries_transient_errors_only_and_catches_to_the_failure_path(
        definitions, stage):
    # training, batch, deployment, and the retraining gate where Model Monitor is on
    assert len(definitions[stage]) >= 3
    generic_names = set(GENERIC.values())
    for name, asl in definitions[stage].items():
        for state_name, state in asl["States"].items():
            if state["Type"] != "Task":
                continue
            where = f"{name}: {state_name}"
            retried = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
            assert retried or _generic(state), f"{where} retries nothing"
            assert not retried & NOT_TRANSIENT, f"{where} retries non-transient errors"
            # A generic name carries validation errors too: never retried by name.
            assert not retried & generic_names, f"{where} retries a generic error name"
            if state_name == FAILURE_PATH:
                continue
            catches = state.get("Catch", [])
            # States.ALL comes last: a state may catch a specific error first.
            assert catches and catches[-1] == {"ErrorEquals": ["States.ALL"],
                                               "ResultPath": "$.error",
                                               "Next": FAILURE_PATH}, where


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_a_refused_call_under_a_generic_name_is_retried_only_when_its_cause_is_transient(
        definitions, stage):
    """The generic name is caught first (States.TaskFailed, which a job's catcher matches,
    would take it otherwise) into a Choice that reads the cause: a throttle or a server-side
    error, with attempts left, waits and makes the same call again; anything else goes to the
    failure path (or the state's own handler)."""
    loops = 0
    for name, asl in definitions[stage].items():
        states = asl["States"]
        for state_name, state in states.items():
            generic = state["Type"] == "Task" and _generic(state)
            if not generic:
                continue
            loops += 1
            where = f"{name}: {state_name}"
            first = state["Catch"][0]
            assert first["ErrorEquals"] == [generic], where
            decide = states[first["Next"]]
            fallback = OWN_HANDLER.get(state_name, FAILURE_PATH)
            assert decide["Type"] == "Choice" and decide["Default"] == fallback, where
            cause = f"{first['ResultPath']}.Cause"
            patterns = [c["StringMatches"] for rule in decide["Choices"] if "Not" in rule
                        for c in rule["Not"].get("Or", []) if c["Variable"] == cause]
            assert "*; Error Code: ThrottlingException;*" in patterns, where
            assert not any("ValidationException" in p for p in patterns), where
            assert all(rule["Next"] == fallback for rule in decide["Choices"]
                       if "Not" in rule or rule.get("IsPresent") is False
                       and rule["Variable"] == cause), where
            bound = next(r for r in decide["Choices"] if "NumericLessThan" in r)
            assert 2 <= bound["NumericLessThan"] <= 10, where
            count = states[bound["Next"]]
            assert count["Type"] == "Pass" and bound["Variable"] == \
                f"{count['ResultPath']}.attempt", where
            back_off = states[count["Next"]]
            assert back_off["Type"] == "Wait" and back_off["Next"] == state_name, where
            assert back_off["SecondsPath"] == f"{count['ResultPath']}.wait_seconds", where
    assert loops >= 10


def _sagemaker_jobs(asl: dict) -> dict[str, dict]:
    return {name: state for name, state in asl["States"].items()
            if state["Type"] == "Task" and ":sagemaker:create" in state["Resource"]
            and state["Resource"].endswith(".sync")}


def _job_name_path(job: dict) -> str:
    (path,) = [v for k, v in job["Parameters"].items() if k.endswith("JobName.$")]
    return path


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_every_sagemaker_job_retries_transient_failures_as_a_new_job(definitions, stage):
    """A failed .sync job is States.TaskFailed, which Retry must not match: each job catches it
    first into a bounded loop that reads the failure reason, takes the next attempt's job name,
    waits, and runs the job again; everything else reaches the failure path."""
    jobs = 0
    for name, asl in definitions[stage].items():
        states = asl["States"]
        for job_name, job in _sagemaker_jobs(asl).items():
            jobs += 1
            where = f"{name}: {job_name}"
            refused, first = job["Catch"][:2]  # a refused create call is caught first
            assert refused["ErrorEquals"] == ["SageMaker.AmazonSageMakerException"], where
            assert first["ErrorEquals"] == ["States.TaskFailed"], where
            assert first["ResultPath"] == "$.error", where
            left = states[first["Next"]]
            assert left["Type"] == "Choice" and left["Default"] == FAILURE_PATH, where
            (rule,) = left["Choices"]
            bound = next(c for c in rule["And"] if "NumericLessThan" in c)
            read = states[rule["Next"]]
            assert read["Parameters"]["last_failure.$"] == "States.StringToJson($.error.Cause)"
            transient = states[read["Next"]]
            assert transient["Default"] == FAILURE_PATH, where
            reasons = [c["StringMatches"] for c in transient["Choices"][-1]["Or"]]
            assert "CapacityError:*" in reasons, where
            next_attempt = states[transient["Choices"][-1]["Next"]]
            # The job reads its name from where the retry writes the next attempt's name.
            assert next_attempt["ResultPath"] == _job_name_path(job), where
            back_off = states[next_attempt["Next"]]
            assert back_off["Type"] == "Wait" and back_off["Next"] == job_name, where
            assert bound["Variable"] == f"{read['ResultPath']}.attempt", where
            assert bound["NumericLessThan"] >= 2, where
    assert jobs >= 5  # preprocessing, training, two tuning states, evaluation, transform, ...
