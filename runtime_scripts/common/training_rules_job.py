"""Training rules job (`process training-rules`): the use case's training rules, judged after
its training job, into one rules.json the training pipeline reads.

Inputs (processing job layout, root redirectable with ML_ROOT):
    processing/input/training_output/output.tar.gz   script mode: the training job's output
                                                     data, with its training_curve.jsonl
    --no-curve                                       the built-in algorithm: no curve rules
    --debugger-statuses JSON, --profiler-statuses JSON   training.debugger: what
        DescribeTrainingJob reported (DebugRuleEvaluationStatuses,
        ProfilerRuleEvaluationStatuses) once SageMaker's rule containers finished
Output: processing/output/training_rules/rules.json
    {statuses: [{RuleConfigurationName, RuleEvaluationStatus, StatusDetails, source}],
     profiler: [...], issues_found, summary}
The curve rules are evaluated here (common/training_rules.py); the Debugger statuses are taken
as SageMaker reported them. Profiler statuses are listed but decide nothing: ProfilerReport
reports suggestions (bottlenecks, utilisation), not a broken model.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
from pathlib import Path

from runtime_scripts import contract
from runtime_scripts.common import training_rules
from runtime_scripts.common.jobio import JobError, atomic_outputs, run_job
from runtime_scripts.common.manifest import current_use_case


def curve_of(paths: contract.MlPaths, scratch: Path) -> list[dict] | None:
    """The training curve in the training job's output.tar.gz, or None without that input."""
    folder = paths.processing_input(contract.PROCESSING_INPUT_TRAINING_OUTPUT)
    archives = sorted(folder.rglob("output.tar.gz")) if folder.is_dir() else []
    if not archives:
        return None
    with tarfile.open(archives[0]) as tar:
        tar.extractall(scratch, filter="data")
    found = sorted(scratch.rglob(training_rules.CURVE_FILE))
    return training_rules.read_curve(found[0]) if found else []


def _statuses(text: str | None, option: str) -> list[dict]:
    if not text:
        return []
    try:
        statuses = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JobError(f"{option} is not JSON: {exc}") from None
    if not isinstance(statuses, list) or not all(
            isinstance(s, dict) and "RuleConfigurationName" in s for s in statuses):
        raise JobError(f"{option} must be DescribeTrainingJob's list of rule statuses")
    return [{"RuleConfigurationName": s["RuleConfigurationName"],
             "RuleEvaluationStatus": s.get("RuleEvaluationStatus", ""),
             "StatusDetails": s.get("StatusDetails", ""), "source": "SageMaker Debugger"}
            for s in statuses]


def judge(paths: contract.MlPaths, debugger: list[dict], profiler: list[dict], *,
          curve_rules: bool = True) -> dict:
    rules = current_use_case().training_rules
    statuses = list(debugger)
    with tempfile.TemporaryDirectory() as scratch:
        curve = curve_of(paths, Path(scratch))
    if rules.curve and curve_rules:
        if curve is None:
            raise JobError(f"the use case has curve rules but no training output under "
                           f"{paths.processing_input(contract.PROCESSING_INPUT_TRAINING_OUTPUT)}"
                           ": map the training job's output.tar.gz to the training_output input")
        statuses += [{**vars(s), "source": "platform rule job (training curve)"}
                     for s in training_rules.evaluate(rules.curve, curve)]
    document = training_rules.Verdict(statuses).document()
    document["profiler"] = profiler
    document["curve_steps"] = len(curve or [])
    target = paths.processing_output(contract.PROCESSING_OUTPUT_TRAINING_RULES)
    with atomic_outputs({"rules": target}) as out:
        (out["rules"] / contract.TRAINING_RULES_FILE).write_text(json.dumps(document, indent=2))
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="process training-rules",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--debugger-statuses", default=None)
    parser.add_argument("--profiler-statuses", default=None)
    parser.add_argument("--no-curve", action="store_true",
                        help="judge no curve rules (the built-in algorithm writes no curve)")
    args = parser.parse_args(argv)
    paths = contract.MlPaths.from_env()

    def job() -> None:
        document = judge(paths, _statuses(args.debugger_statuses, "--debugger-statuses"),
                         _statuses(args.profiler_statuses, "--profiler-statuses"),
                         curve_rules=not args.no_curve)
        print(json.dumps({"training_rules": document["summary"]}), flush=True)

    return run_job(job, paths.exit_message, "training-rules")


if __name__ == "__main__":
    sys.exit(main())
