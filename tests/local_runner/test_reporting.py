"""The live view and failure report of `mlplatform run`, from execution history events."""

from __future__ import annotations

import datetime as dt
import json

from local_runner.local_run import ExecutionResult, StateStep, _track
from local_runner.reporting import print_failure, readable_cause

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _events(*specs):
    events = []
    for i, (kind, name) in enumerate(specs):
        event = {"type": kind, "timestamp": T0 + dt.timedelta(seconds=i)}
        if kind.endswith("StateEntered"):
            event["stateEnteredEventDetails"] = {"name": name}
        if kind.endswith("StateExited"):
            event["stateExitedEventDetails"] = {"name": name}
        events.append(event)
    return events


def _follow(events) -> tuple[dict, list[tuple[str, str]]]:
    steps: dict[str, StateStep] = {}
    shown: list[tuple[str, str]] = []
    for event in events:
        _track(event, steps, lambda step: shown.append((step.name, step.status)))
    return steps, shown


def test_a_retried_attempt_that_succeeds_is_reported_once_as_succeeded():
    _, shown = _follow(_events(("TaskStateEntered", "Train"), ("TaskFailed", None),
                               ("TaskSucceeded", None), ("TaskStateExited", "Train")))
    assert shown == [("Train", "running"), ("Train", "succeeded")]


def test_a_caught_failure_is_reported_as_failed_and_names_the_origin(capsys):
    steps, shown = _follow(_events(
        ("TaskStateEntered", "Train"), ("TaskFailed", None), ("TaskStateExited", "Train"),
        ("TaskStateEntered", "Notify failure"), ("TaskSucceeded", None),
        ("TaskStateExited", "Notify failure"), ("FailStateEntered", "Pipeline failed"),
        ("ExecutionFailed", None)))
    assert [s for s in shown if s[1] != "running"] == [
        ("Train", "failed"), ("Notify failure", "succeeded"), ("Pipeline failed", "failed")]
    cause = json.dumps({"TrainingJobName": "t", "FailureReason": "unknown hyperparameter 'x'"})
    result = ExecutionResult("training", "run", "arn", "FAILED", None, "States.TaskFailed",
                             cause, [], 1.0, list(steps.values()))

    class NoJobs:
        class state:
            jobs: dict = {}

    print_failure(result, NoJobs)
    out = capsys.readouterr().out
    assert "state 'Train' failed" in out
    assert "cause: unknown hyperparameter 'x'" in out


def test_a_lambda_cause_shows_its_message():
    cause = json.dumps({"errorType": "InvalidPipelineInput", "errorMessage": "input key 'x'"})
    assert readable_cause(cause) == "input key 'x'"
    assert readable_cause("plain text") == "plain text"
