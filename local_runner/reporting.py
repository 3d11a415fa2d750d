"""What `mlplatform run` prints after an execution: its results or its failure; and the same
results as the execution's summary.md in its results folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

from config.problems import display_path
from local_runner.definitions import split_address
from local_runner.local_run import ExecutionResult

# The artefacts a person opens first, by file name (or suffix), in this order.
HIGHLIGHTS = ("report.html", "evaluation.json", "model.tar.gz", ".out")
REPORT = "report.html"
SUMMARY = "summary.md"


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


def result_lines(result: ExecutionResult) -> list[str]:
    """What the execution's output says: its outcome, metrics and model package."""
    lines = []
    outcome = _find(result.output, "outcome")
    if isinstance(outcome, dict) and outcome.get("reason"):
        lines.append(f"outcome: {outcome.get('status', '')} {outcome['reason']}")
    metrics = _find(result.output, "metrics")
    if isinstance(metrics, dict):
        lines.append("metrics: " + ", ".join(
            f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()))
    for key in ("registered", "package"):
        arn = _find(result.output, key)
        if isinstance(arn, dict) and arn.get("arn"):
            lines.append(f"model package: {arn['arn']}")
    return lines


def highlights(files: list[Path]) -> list[tuple[str, Path, int]]:
    """(name, path, count) of the artefacts a person opens first; a name that several files
    share (one model per tuning trial) is shown once, with the folder that holds them all."""
    def rank(path: Path) -> int | None:
        return next((i for i, h in enumerate(HIGHLIGHTS)
                     if path.name == h or (h.startswith(".") and path.suffix == h)), None)

    shown: dict[str, list[Path]] = {}
    for path in sorted((f for f in files if rank(f) is not None), key=rank):
        shown.setdefault(path.name, []).append(path)
    return [(name, paths[0] if len(paths) == 1 else Path(os.path.commonpath(paths)), len(paths))
            for name, paths in shown.items()]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def find_report(files: list[Path]) -> Path | None:
    return next((f for f in files if f.name == REPORT), None)


def print_summary(result: ExecutionResult, files: list[Path], folder: Path,
                  tables: list[list[str]] = ()) -> None:
    """After a succeeded execution: its results, its tuning trials, where its artefacts are."""
    print(f"  {result.status} in {result.seconds:.1f} s ({len(result.steps)} states)")
    for line in result_lines(result):
        print(f"  {line}")
    for table in tables:
        print(f"  {table[0]}")
        for line in table[1:]:
            print(f"    {line}")
    shown = highlights(files)
    width = max([16, *(len(name) for name, _, _ in shown)])
    for name, path, count in shown:
        where = display_path(path) + (f"/ ({_count(count, 'file')})" if count > 1 else "")
        print(f"  {name:<{width}} {where}")
    if files:
        print(f"  {'all artefacts':<{width}} {display_path(folder)}/ "
              f"({_count(len(files), 'file')}, listed in {SUMMARY})")
    else:
        print(f"  {'summary':<{width}} {display_path(folder / SUMMARY)}")


def write_summary(result: ExecutionResult, files: list[Path], folder: Path,
                  tables: list[list[str]] = ()) -> Path:
    """summary.md in the execution's folder: the states it ran, its results and trials, links
    to its artefacts."""
    lines = [f"# {result.pipeline}: {result.name}", "",
             f"{result.status} in {result.seconds:.1f} s.", "",
             "| state | result | seconds |", "|---|---|---|"]
    for step in result.steps:
        note = f" ({step.error})" if step.error and step.status != "succeeded" else ""
        seconds = f"{step.duration:.1f}" if step.duration is not None else ""
        lines.append(f"| {step.name} | {step.status}{note} | {seconds} |")
    if result.status != "SUCCEEDED":
        lines += ["", f"error: {result.error}", "", f"cause: {readable_cause(result.cause)}"]
    results = result_lines(result)
    if results:
        lines += ["", "## Results", "", *(f"- {line}" for line in results)]
    for table in tables:
        lines += ["", "## Tuning", "", table[0], "", "```text", *table[1:], "```"]
    if files:
        lines += ["", "## Artefacts", ""]
        for path in sorted(files):
            relative = path.relative_to(folder).as_posix()
            lines.append(f"- [{relative}]({relative})")
    folder.mkdir(parents=True, exist_ok=True)
    summary = folder / SUMMARY
    summary.write_text("\n".join(lines) + "\n")
    return summary


def print_metrics_side_by_side(results: list[ExecutionResult]) -> None:
    """Per use case, the metrics of every execution that evaluated something (evaluation.json
    under `$.evaluation.document`): the training run's test split next to a batch scored
    against its labels, one column each. Use cases differ in their metrics: one table each."""
    tables: dict[str | None, list[tuple[str, dict]]] = {}
    for result in results:
        document = ((result.output or {}).get("evaluation") or {}).get("document")
        if isinstance(document, dict) and isinstance(document.get("metrics"), dict):
            what = "labelled batch" if document.get("data", {}).get("source") == "predictions" \
                else "test split"
            tables.setdefault(split_address(result.pipeline)[0], []).append(
                (f"{result.pipeline}: {what}, {document['rows']['total']} rows",
                 document["metrics"]))
    for columns in tables.values():
        if len(columns) >= 2:  # one evaluation is already printed with its execution
            _print_columns(columns)


def _print_columns(columns: list[tuple[str, dict]]) -> None:
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


def failed_state(result: ExecutionResult) -> str:
    """The state the execution's error came from: the last one that failed, or, when that is
    the Fail state a Catch routed to, the last state before it that caught this same error
    (else the last that caught any)."""
    failing = [s for s in result.steps if s.status in ("failed", "caught")]
    if not failing:
        return "?"
    last = failing[-1]
    caught = [s for s in failing[:-1] if s.status == "caught"]
    if last.kind != "Fail" or not caught:
        return last.name
    same = [s for s in caught if s.error == result.error]
    return (same or caught)[-1].name


def print_failure(result: ExecutionResult, sagemaker) -> None:
    print(f"  {result.status}: state {failed_state(result)!r} failed")
    print(f"  error: {result.error}")
    print(f"  cause: {readable_cause(result.cause)}")
    failed_jobs = [job for kind in sagemaker.state.jobs.values() for job in kind.values()
                   if any(str(v) == "Failed" for k, v in job.items() if k.endswith("Status"))]
    if failed_jobs and failed_jobs[-1].get("LogTail"):
        print("  job log (last lines):")
        for line in failed_jobs[-1]["LogTail"].splitlines()[-15:]:
            print(f"    {line}")
