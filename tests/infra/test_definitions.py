"""Checks every synthesized state machine of every stage must pass: valid ASL, every transition
names a state (moto only finds a dangling one at run time), every Task retries transient errors
only and catches everything else into the failure path."""

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


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_every_task_retries_transient_errors_only_and_catches_to_the_failure_path(
        definitions, stage):
    # training, batch, deployment, and the retraining gate where Model Monitor is on
    assert len(definitions[stage]) >= 3
    for name, asl in definitions[stage].items():
        for state_name, state in asl["States"].items():
            if state["Type"] != "Task":
                continue
            where = f"{name}: {state_name}"
            retried = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
            assert retried, f"{where} has no Retry"
            assert not retried & NOT_TRANSIENT, f"{where} retries non-transient errors"
            if state_name == FAILURE_PATH:
                continue
            catches = state.get("Catch", [])
            # States.ALL comes last: a state may catch a specific error first.
            assert catches and catches[-1] == {"ErrorEquals": ["States.ALL"],
                                               "ResultPath": "$.error",
                                               "Next": FAILURE_PATH}, where


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
            first = job["Catch"][0]
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
