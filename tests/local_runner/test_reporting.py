"""What `mlplatform run` shows: the states from execution history events, the failure report,
the results, the tuning trials, the run's summary.md and the results folder."""

from __future__ import annotations

import datetime as dt
import io
import json
import os

from local_runner.live_view import LiveView
from local_runner.local_run import ExecutionResult, StateStep, _track
from local_runner.reporting import (
    failed_state,
    print_failure,
    print_summary,
    readable_cause,
    write_summary,
)
from local_runner.results_folder import ResultsFolder
from local_runner.tuning_report import trial_table

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _events(*specs):
    """(event type, state name, or the error of a failed event) -> history events."""
    events = []
    for i, (kind, name) in enumerate(specs):
        event = {"type": kind, "timestamp": T0 + dt.timedelta(seconds=i)}
        if kind.endswith("StateEntered"):
            event["stateEnteredEventDetails"] = {"name": name}
        if kind.endswith("StateExited"):
            event["stateExitedEventDetails"] = {"name": name}
        if kind == "TaskFailed" and name:
            event["taskFailedEventDetails"] = {"error": name, "cause": "..."}
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


def test_a_caught_failure_is_shown_as_caught_and_the_failure_names_its_origin(capsys):
    steps, shown = _follow(_events(
        ("TaskStateEntered", "Train"), ("TaskFailed", None), ("TaskStateExited", "Train"),
        ("TaskStateEntered", "Notify failure"), ("TaskSucceeded", None),
        ("TaskStateExited", "Notify failure"), ("FailStateEntered", "Pipeline failed"),
        ("ExecutionFailed", None)))
    assert [s for s in shown if s[1] != "running"] == [
        ("Train", "caught"), ("Notify failure", "succeeded"), ("Pipeline failed", "failed")]
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


def test_the_origin_is_the_state_that_caught_the_executions_error_not_an_expected_one():
    steps, _ = _follow(_events(
        ("TaskStateEntered", "Describe endpoint"), ("TaskFailed", "ResourceNotFound"),
        ("TaskStateExited", "Describe endpoint"),
        ("TaskStateEntered", "Create endpoint"), ("TaskFailed", "States.TaskFailed"),
        ("TaskStateExited", "Create endpoint"),
        ("TaskStateEntered", "Deregister"), ("TaskFailed", "Other.Error"),
        ("TaskStateExited", "Deregister"),
        ("FailStateEntered", "Pipeline failed"), ("ExecutionFailed", None)))
    result = ExecutionResult("deployment", "run", "arn", "FAILED", None, "States.TaskFailed",
                             "", [], 1.0, list(steps.values()))
    assert failed_state(result) == "Create endpoint"


def test_a_caught_error_in_a_succeeded_run_shows_no_failure_mark():
    """A deployment's "Describe endpoint" fails with an expected error when there is no
    endpoint yet, and its Catch routes to "Create endpoint": not a failure."""
    stream = io.StringIO()
    view = LiveView(stream)
    steps: dict = {}
    for event in _events(("TaskStateEntered", "Describe endpoint"),
                         ("TaskFailed", "SageMaker.SageMakerException"),
                         ("TaskStateExited", "Describe endpoint"),
                         ("ChoiceStateEntered", "Endpoint missing?"),
                         ("ChoiceStateExited", "Endpoint missing?")):
        _track(event, steps, view.show)
    out = stream.getvalue()
    assert "✗" not in out
    assert "↪ Describe endpoint" in out and "(caught SageMaker.SageMakerException)" in out
    assert "✓ Endpoint missing?" in out


def test_a_lambda_cause_shows_its_message():
    cause = json.dumps({"errorType": "InvalidPipelineInput", "errorMessage": "input key 'x'"})
    assert readable_cause(cause) == "input key 'x'"
    assert readable_cause("plain text") == "plain text"


# --- results and the run's summary ----------------------------------------------------------------
TUNING = {
    "HyperParameterTuningJobName": "mlplatform-dev-tune-x",
    "HyperParameterTuningJobConfig": {"HyperParameterTuningJobObjective": {
        "Type": "Maximize", "MetricName": "validation:auc"}},
    "BestTrainingJob": {"TrainingJobName": "mlplatform-dev-tune-x-002-bbbb"},
}
TRIALS = [("mlplatform-dev-tune-x-001-aaaa", {"eta": "0.2", "max_depth": "3"}, 0.9386, "Completed"),
          ("mlplatform-dev-tune-x-002-bbbb", {"eta": "0.025", "max_depth": "8"}, 0.9418,
           "Completed"),
          ("mlplatform-dev-tune-x-003-cccc", {"eta": "0.1", "max_depth": "5"}, None, "Failed")]


def test_the_trial_table_lists_every_trial_and_marks_the_best():
    title, header, *rows = trial_table(TUNING, TRIALS)
    assert title == ("tuning job mlplatform-dev-tune-x: 3 trials, maximize validation:auc "
                     "(★ best)")
    assert header.split() == ["trial", "eta", "max_depth", "validation:auc"]
    assert [row.split() for row in rows] == [["1", "0.2", "3", "0.9386"],
                                             ["★", "2", "0.025", "8", "0.9418"],
                                             ["3", "0.1", "5", "failed"]]
    assert len({row.index("0.") for row in rows[:2]}) == 1  # the columns line up


def _succeeded(steps=()) -> ExecutionResult:
    output = {"evaluation": {"metrics": {"auc": 0.95}}, "registered": {"arn": "arn:pkg/1"}}
    return ExecutionResult("training", "local-training-1", "arn", "SUCCEEDED", output, None,
                           None, [], 12.3, list(steps))


def test_a_summary_lists_no_state_names_and_no_empty_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    steps = [StateStep(f"State {i}", "succeeded", 0.0, 0.1) for i in range(5)]
    print_summary(_succeeded(steps), [], tmp_path / "local_out" / "local-training-1")
    out = capsys.readouterr().out
    assert "SUCCEEDED in 12.3 s (5 states)" in out
    assert "→" not in out and "State 1" not in out
    assert "0 files" not in out and "all artefacts" not in out
    assert "metrics: auc=0.9500" in out and "model package: arn:pkg/1" in out


def test_a_summary_shows_short_paths_and_one_line_per_kind_of_artefact(tmp_path, capsys,
                                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "local_out" / "local-training-1"
    files = [folder / "evaluation" / "report.html", folder / "evaluation" / "evaluation.json",
             *(folder / "training" / f"trial-{i}" / "output" / "model.tar.gz" for i in (1, 2))]
    print_summary(_succeeded(), files, folder)
    lines = capsys.readouterr().out.splitlines()
    assert "  report.html      local_out/local-training-1/evaluation/report.html" in lines
    assert "  model.tar.gz     local_out/local-training-1/training/ (2 files)" in lines
    assert ("  all artefacts    local_out/local-training-1/ (4 files, listed in summary.md)"
            in lines)


def test_the_runs_summary_file_holds_its_states_results_trials_and_links(tmp_path):
    folder = tmp_path / "local-training-1"
    report = folder / "evaluation" / "report.html"
    report.parent.mkdir(parents=True)
    report.write_text("<html/>")
    steps = [StateStep("Describe endpoint", "caught", 0.0, 0.1, "Task", "ResourceNotFound"),
             StateStep("Tune hyperparameters", "succeeded", 0.0, 63.6, "Task")]
    summary = write_summary(_succeeded(steps), [report], folder, [trial_table(TUNING, TRIALS)])
    text = summary.read_text()
    assert summary == folder / "summary.md"
    assert "| Describe endpoint | caught (ResourceNotFound) | 0.1 |" in text
    assert "| Tune hyperparameters | succeeded | 63.6 |" in text
    assert "- metrics: auc=0.9500" in text
    assert "## Tuning" in text and "★  2" in text
    assert "- [evaluation/report.html](evaluation/report.html)" in text


def test_latest_links_each_pipeline_of_the_last_run_only(tmp_path):
    results = ResultsFolder(tmp_path)
    first = [tmp_path / "local-training-1", tmp_path / "local-batch-inference-1"]
    for folder in first:
        (folder / "output").mkdir(parents=True)
    results.start_run()
    results.link_latest("training", first[0])
    results.link_latest("batch-inference", first[1])
    assert (tmp_path / "latest" / "batch-inference" / "output").is_dir()

    second = tmp_path / "local-training-2"
    (second / "evaluation").mkdir(parents=True)
    results.start_run()
    results.link_latest("training", second)
    assert sorted(p.name for p in results.latest.iterdir()) == ["training"]
    assert (results.latest / "training").resolve() == second.resolve()
    assert os.readlink(results.latest / "training") == "../local-training-2"
    assert first[0].is_dir()  # the earlier run's results stay
