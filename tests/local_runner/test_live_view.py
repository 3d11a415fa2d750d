"""A long state shows that it is alive: its elapsed time and its jobs' progress (a tuning job's
finished trials and best objective so far), rewritten in place on a terminal, as periodic
lines in a log."""

from __future__ import annotations

import io

from local_runner.live_view import PERIODIC_SECONDS, LiveView, elapsed, job_progress
from local_runner.local_run import StateStep


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def tuning_progress(done: int, best: float | None) -> dict:
    job = {"HyperParameterTuningJobName": "tune", "HyperParameterTuningJobStatus": "InProgress",
           "TrainingJobStatusCounters": {"Completed": done, "NonRetryableError": 0},
           "LocalTrialsPlanned": 4}
    if best is not None:
        job["BestTrainingJob"] = {"FinalHyperParameterTuningJobObjectiveMetric": {
            "MetricName": "validation:auc", "Type": "Maximize", "Value": best}}
    return job


def test_a_tuning_jobs_progress_reads_as_trials_and_best_objective():
    assert job_progress([tuning_progress(2, 0.94181)]) == "2/4 trials, best validation:auc 0.9418"
    assert job_progress([tuning_progress(0, None)]) == "0/4 trials"
    assert job_progress([{"TrainingJobName": "t", "Status": "InProgress"}]) == ""
    assert (elapsed(7.94), elapsed(75)) == ("7.9 s", "1 min 15 s")


def test_in_a_log_a_running_state_adds_a_line_when_it_progresses_and_periodically():
    clock, stream, jobs = Clock(), io.StringIO(), []
    view = LiveView(stream, progress=lambda: jobs, clock=clock)
    step = StateStep("Tune hyperparameters", "running", 0.0)
    view.show(step)
    clock.now += 5
    view.tick(step)
    assert stream.getvalue() == ""  # nothing new to say yet
    jobs[:] = [tuning_progress(1, 0.9386)]
    clock.now += 3
    view.tick(step)
    view.tick(step)  # the same progress again: no second line
    assert stream.getvalue() == ("  … Tune hyperparameters running for 8.0 s: 1/4 trials, best "
                                 "validation:auc 0.9386\n")
    clock.now += PERIODIC_SECONDS
    view.tick(step)
    assert stream.getvalue().splitlines()[-1] == (
        "  … Tune hyperparameters running for 38.0 s: 1/4 trials, best validation:auc 0.9386")
    view.show(StateStep("Tune hyperparameters", "succeeded", 0.0, 63.6))
    assert stream.getvalue().splitlines()[-1].split() == ["✓", "Tune", "hyperparameters",
                                                          "63.6", "s"]


def test_on_a_terminal_the_running_line_is_rewritten_with_the_elapsed_time():
    clock, stream = Clock(), Terminal()
    view = LiveView(stream, progress=lambda: [tuning_progress(2, 0.9418)], clock=clock)
    step = StateStep("Train model", "running", 0.0)
    view.show(step)
    clock.now += 12.5
    view.tick(step)
    assert stream.getvalue().endswith(
        "\r  … Train model ... 12.5 s, 2/4 trials, best validation:auc 0.9418\033[K")
    assert "\n" not in stream.getvalue()
