"""The live part of `mlplatform run`: one line per state when it ends, and while a long state runs,
that it is alive: its elapsed time and what SageMaker reports of its jobs (a tuning job's
finished trials and best objective so far). On a terminal the running state is one line
rewritten in place; in a log (CI, a pipe) a line is added when the progress changes, and at
least every PERIODIC_SECONDS."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from local_runner.local_run import StateStep

MARKS = {"running": "…", "succeeded": "✓", "caught": "↪", "failed": "✗"}
PERIODIC_SECONDS = 30.0  # a log's "still running" line
REFRESH_SECONDS = 0.25  # a terminal's running line


def elapsed(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def job_progress(jobs: list[dict]) -> str:
    """What the running jobs' describe outputs say of their progress, in a few words."""
    parts = []
    for job in jobs:
        counters = job.get("TrainingJobStatusCounters")
        if counters is None:
            continue  # a job that reports no progress of its own: the elapsed time says it
        done = counters.get("Completed", 0) + counters.get("NonRetryableError", 0)
        planned = job.get("LocalTrialsPlanned")
        text = f"{done}/{planned} trials" if planned else f"{done} trials"
        best = (job.get("BestTrainingJob") or {}).get(
            "FinalHyperParameterTuningJobObjectiveMetric")
        if best:
            text += f", best {best['MetricName']} {best['Value']:.4f}"
        parts.append(text)
    return "; ".join(parts)


class LiveView:
    def __init__(self, stream=None, *, progress: Callable[[], list[dict]] = list,
                 clock: Callable[[], float] = time.time) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.progress = progress  # the running jobs' describe outputs
        self.clock = clock
        self._started = self.clock()  # when the running state was first seen
        self._last_line = 0.0  # when its line was last written
        self._last_detail = ""

    def show(self, step: StateStep) -> None:
        """A state started (on a terminal: its running line) or ended (its line for good)."""
        if step.status == "running":
            self._started = self._last_line = self.clock()
            self._last_detail = ""
            if self.tty:
                self._write(f"\r  {MARKS['running']} {step.name} ...\033[K")
            return
        duration = f"{step.duration:6.1f} s" if step.duration is not None else ""
        note = f"  (caught {step.error})" if step.status == "caught" and step.error else ""
        line = f"  {MARKS[step.status]} {step.name:<40} {duration}{note}"
        self._write(f"\r{line}\033[K\n" if self.tty else f"{line}\n")

    def tick(self, step: StateStep | None) -> None:
        """The running state, each time the execution is polled."""
        if step is None:
            return
        now = self.clock()
        detail = job_progress(self.progress())
        since = elapsed(now - self._started)
        if self.tty:
            if now - self._last_line >= REFRESH_SECONDS:
                extra = f", {detail}" if detail else ""
                self._write(f"\r  {MARKS['running']} {step.name} ... {since}{extra}\033[K")
                self._last_line = now
        elif detail != self._last_detail or now - self._last_line >= PERIODIC_SECONDS:
            extra = f": {detail}" if detail else ""
            self._write(f"  {MARKS['running']} {step.name} running for {since}{extra}\n")
            self._last_line, self._last_detail = now, detail

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
