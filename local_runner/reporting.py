"""What `mlplatform run` prints: a live line per state, then the results or the failure."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from local_runner.local_run import ExecutionResult, StateStep

MARKS = {"running": "…", "succeeded": "✓", "failed": "✗"}


class LiveView:
    """One line per state when it ends (with its duration); the running state on a TTY."""

    def __init__(self, stream=sys.stdout) -> None:
        self.stream = stream
        self.tty = stream.isatty()

    def show(self, step: StateStep) -> None:
        if step.status == "running":
            if self.tty:
                self.stream.write(f"\r  {MARKS['running']} {step.name} ...\033[K")
                self.stream.flush()
            return
        prefix = "\r" if self.tty else ""
        duration = f"{step.duration:6.1f} s" if step.duration is not None else ""
        self.stream.write(f"{prefix}  {MARKS[step.status]} {step.name:<40} {duration}\033[K\n"
                          if self.tty else
                          f"  {MARKS[step.status]} {step.name:<40} {duration}\n")
        self.stream.flush()


def _find(value, key: str):
    """The first value under `key` anywhere in a JSON document."""
    if isinstance(value, dict):
        if key in value:
            return value[key]
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = _find(item, key)
            if found is not None:
                return found
    return None


def print_summary(result: ExecutionResult, files: list[Path], folder: Path) -> None:
    print(f"  {result.status} in {result.seconds:.1f} s "
          f"({len(result.path)} states: {' → '.join(result.path)})")
    outcome = _find(result.output, "outcome")
    if isinstance(outcome, dict) and outcome.get("reason"):
        print(f"  outcome: {outcome.get('status', '')} {outcome['reason']}")
    metrics = _find(result.output, "metrics")
    if isinstance(metrics, dict):
        print("  metrics: " + ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                                        for k, v in metrics.items()))
    for key in ("registered", "package"):
        arn = _find(result.output, key)
        if isinstance(arn, dict) and arn.get("arn"):
            print(f"  model package: {arn['arn']}")
    interesting = [f for f in files if f.name in ("report.html", "evaluation.json",
                                                   "model.tar.gz") or f.suffix == ".out"]
    for path in interesting:
        print(f"  {path.name:<16} {path}")
    print(f"  all artefacts: {folder} ({len(files)} files)")


def print_metrics_side_by_side(results: list[ExecutionResult]) -> None:
    """The metrics of every execution that evaluated something (evaluation.json under
    `$.evaluation.document`): the training run's test split next to a batch scored against its
    labels, one column each."""
    columns = []
    for result in results:
        document = ((result.output or {}).get("evaluation") or {}).get("document")
        if isinstance(document, dict) and isinstance(document.get("metrics"), dict):
            what = "labelled batch" if document.get("data", {}).get("source") == "predictions" \
                else "test split"
            columns.append((f"{result.pipeline}: {what}, {document['rows']['total']} rows",
                            document["metrics"]))
    if len(columns) < 2:
        return  # one evaluation is already printed with its execution
    width = max(len(title) for title, _ in columns) + 2
    names = max(len("metrics"), *map(len, columns[0][1]))
    print(f"\n  {'metrics':<{names}}" + "".join(f"{title:>{width}}" for title, _ in columns))
    for name in columns[0][1]:
        values = [metrics.get(name) for _, metrics in columns]
        print(f"  {name:<{names}}" + "".join(f"{v:>{width}.4f}" if isinstance(v, float) else
                                            f"{'':>{width}}" for v in values))


def readable_cause(cause: str | None) -> str:
    """The human part of a cause: a job's FailureReason, a Lambda's errorMessage, else as is."""
    try:
        document = json.loads(cause or "")
    except json.JSONDecodeError:
        return cause or ""
    if isinstance(document, dict):
        return document.get("FailureReason") or document.get("errorMessage") or cause
    return cause or ""


def print_failure(result: ExecutionResult, sagemaker) -> None:
    failed = [s.name for s in result.steps if s.status == "failed"]
    # The state whose error the execution ended with: before the Fail state it was routed to.
    origin = failed[-2] if len(failed) > 1 else (failed[-1] if failed else "?")
    print(f"  {result.status}: state {origin!r} failed")
    print(f"  error: {result.error}")
    print(f"  cause: {readable_cause(result.cause)}")
    failed_jobs = [job for kind in sagemaker.state.jobs.values() for job in kind.values()
                   if any(str(v) == "Failed" for k, v in job.items() if k.endswith("Status"))]
    if failed_jobs and failed_jobs[-1].get("LogTail"):
        print("  job log (last lines):")
        for line in failed_jobs[-1]["LogTail"].splitlines()[-15:]:
            print(f"    {line}")
