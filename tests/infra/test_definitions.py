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
