"""Training rules: what a use case asks SageMaker Debugger (or the platform's own rule job) to
watch during training, and the platform's evaluation of the rules over a training curve.

Two kinds, because SageMaker's built-in Debugger rules read tensors that only an smdebug hook
emits, and smdebug supports no current framework version (its last release targets PyTorch 1.12
/ TensorFlow 2.9); SageMaker's built-in XGBoost algorithm emits them itself:
- `builtin`: Debugger built-in rules (names as in `smdebug_rulesconfig`, e.g. Overfit,
  TreeDepth) attached to the training job (DebugRuleConfigurations) when it runs the built-in
  algorithm. SageMaker runs each in its own rule container beside the job and reports
  DebugRuleEvaluationStatuses (NoIssuesFound / IssuesFound / Error) in DescribeTrainingJob.
- `curve`: rules over the `#metrics` curve every script-mode training script already logs (the
  same values, one record per step, in output/data/training_curve.jsonl): the platform's rule
  job (`process training-rules`, a processing job after training) evaluates them here, with the
  semantics of the Debugger rules of the same name, and reports statuses of the same shape.

This module imports only the standard library (the manifest imports it)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

CURVE_FILE = "training_curve.jsonl"  # under the training job's output data dir
# DescribeTrainingJob's RuleEvaluationStatus values (botocore: RuleEvaluationStatus).
NO_ISSUES = "NoIssuesFound"
ISSUES = "IssuesFound"
ERROR = "Error"
# Debugger built-in rules that apply to SageMaker's built-in XGBoost algorithm (AWS's list of
# built-in rules: the XGBoost scope plus the rules valid for deep learning frameworks and XGBoost).
XGBOOST_BUILTIN_RULES = ("Overfit", "Overtraining", "LossNotDecreasing", "SimilarAcrossRuns",
                         "AllZero", "ClassImbalance", "Confusion", "FeatureImportanceOverweight",
                         "TreeDepth", "CreateXgboostReport")
# AWS allows at most 20 Debugger rules (and 20 profiler rules) per training job.
MAX_RULES = 20
CURVE_RULES = ("LossNotDecreasing", "Overfit")


@dataclass(frozen=True)
class CurveRule:
    """A rule over the training curve. `LossNotDecreasing`: `loss` must fall by at least
    `diff_percent` % every `num_steps` steps (Debugger's parameters of that name). `Overfit`:
    `validation_loss` rising more than `ratio_threshold` (relative) above its best so far while
    `loss` (the training loss) keeps falling, for `patience` consecutive steps."""

    name: Literal["LossNotDecreasing", "Overfit"]
    loss: str  # the curve's training loss, e.g. "train:logloss"
    validation_loss: str = ""  # Overfit: e.g. "validation:logloss"
    num_steps: int = 10
    diff_percent: float = 0.1
    patience: int = 5
    ratio_threshold: float = 0.1
    start_step: int = 0

    def problem(self, training_metrics: tuple[str, ...]) -> str | None:
        if self.name not in CURVE_RULES:
            return f"curve rule {self.name!r} is none of {', '.join(CURVE_RULES)}"
        needed = [self.loss] + ([self.validation_loss] if self.name == "Overfit" else [])
        unknown = [m for m in needed if m not in training_metrics]
        if unknown or not all(needed):
            return (f"curve rule {self.name} reads {', '.join(needed)}: name metrics of its "
                    f"training_metrics ({', '.join(training_metrics)})")
        if self.num_steps < 1 or self.patience < 1 or self.start_step < 0:
            return f"curve rule {self.name}: num_steps and patience >= 1, start_step >= 0"
        if not (self.diff_percent >= 0 and self.ratio_threshold >= 0):
            return f"curve rule {self.name}: diff_percent and ratio_threshold >= 0"
        return None


@dataclass(frozen=True)
class TrainingRules:
    """The manifest's `training_rules`. `builtin`: Debugger rules for the built-in algorithm
    (each in XGBOOST_BUILTIN_RULES); `curve`: the platform's rules in script mode; `profiler`:
    Debugger's ProfilerReport rule, which reads the system metrics SageMaker collects from any
    container (CPU, GPU, memory, I/O), framework metrics only where smdebug runs."""

    builtin: tuple[str, ...] = ()
    curve: tuple[CurveRule, ...] = ()
    profiler: bool = True

    def problem(self, training_metrics: tuple[str, ...], builtin_algorithm: bool) -> str | None:
        if len(self.builtin) > MAX_RULES or len(self.curve) > MAX_RULES:
            return f"at most {MAX_RULES} rules of each kind (SageMaker's limit per job)"
        if self.builtin and not builtin_algorithm:
            return ("builtin rules need image.builtin_training: Debugger's built-in rules read "
                    "tensors that only the built-in algorithm (or an smdebug hook) emits")
        unknown = [r for r in self.builtin if r not in XGBOOST_BUILTIN_RULES]
        if unknown:
            return (f"builtin rules {', '.join(unknown)} do not apply to the built-in XGBoost "
                    f"algorithm: use {', '.join(XGBOOST_BUILTIN_RULES)}")
        names = [r.name for r in self.curve]
        if len(set(names)) != len(names):
            return "each curve rule once"
        for rule in self.curve:
            problem = rule.problem(training_metrics)
            if problem:
                return problem
        return None


# --- evaluation over a curve ---------------------------------------------------------------------
@dataclass
class Status:
    """One entry of DebugRuleEvaluationStatuses, as DescribeTrainingJob reports it."""

    RuleConfigurationName: str
    RuleEvaluationStatus: str
    StatusDetails: str = ""


def read_curve(path: Path) -> list[dict[str, float]]:
    """The records of training_curve.jsonl, in step order."""
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in records if isinstance(r, dict)]


def _series(curve: list[dict[str, float]], name: str, start: int) -> list[float]:
    return [float(r[name]) for r in curve[start:] if isinstance(r.get(name), int | float)
            and math.isfinite(float(r[name]))]


def loss_not_decreasing(rule: CurveRule, curve: list[dict[str, float]]) -> Status:
    loss = _series(curve, rule.loss, rule.start_step)
    if len(loss) <= rule.num_steps:
        return Status(rule.name, NO_ISSUES, f"{len(loss)} steps of {rule.loss}: fewer than "
                      f"num_steps={rule.num_steps}, nothing to compare")
    for end in range(rule.num_steps, len(loss), rule.num_steps):
        before, now = loss[end - rule.num_steps], loss[end]
        needed = abs(before) * rule.diff_percent / 100
        if before - now < needed:
            return Status(rule.name, ISSUES,
                          f"{rule.loss} went from {before:.6g} to {now:.6g} over steps "
                          f"{rule.start_step + end - rule.num_steps + 1}.."
                          f"{rule.start_step + end + 1}: less than the {rule.diff_percent:g}% "
                          f"decrease required every {rule.num_steps} steps")
    return Status(rule.name, NO_ISSUES, f"{rule.loss} fell every {rule.num_steps} steps")


def overfit(rule: CurveRule, curve: list[dict[str, float]]) -> Status:
    pairs = [(float(r[rule.loss]), float(r[rule.validation_loss])) for r in
             curve[rule.start_step:] if rule.loss in r and rule.validation_loss in r]
    best_validation, train_at_best, run = math.inf, math.inf, 0
    for step, (train, validation) in enumerate(pairs):
        if validation < best_validation:
            best_validation, train_at_best, run = validation, train, 0
            continue
        rising = validation > best_validation + abs(best_validation) * rule.ratio_threshold
        run = run + 1 if rising and train < train_at_best else 0
        if run >= rule.patience:
            return Status(rule.name, ISSUES,
                          f"{rule.validation_loss} rose to {validation:.6g}, more than "
                          f"{rule.ratio_threshold:.0%} above its best {best_validation:.6g}, "
                          f"for {rule.patience} steps up to step {rule.start_step + step + 1} "
                          f"while {rule.loss} kept falling ({train:.6g})")
    return Status(rule.name, NO_ISSUES, f"{rule.validation_loss} stayed within "
                  f"{rule.ratio_threshold:.0%} of its best while {rule.loss} fell")


EVALUATORS = {"LossNotDecreasing": loss_not_decreasing, "Overfit": overfit}


def evaluate(rules: Iterable[CurveRule], curve: list[dict[str, float]]) -> list[Status]:
    """Every curve rule's status; a rule whose metric the curve lacks is an Error, as a
    Debugger rule whose tensors are missing."""
    statuses = []
    for rule in rules:
        needed = [rule.loss] + ([rule.validation_loss] if rule.name == "Overfit" else [])
        missing = [m for m in needed if not _series(curve, m, 0)]
        if missing:
            statuses.append(Status(rule.name, ERROR, f"the training curve has no "
                                   f"{', '.join(missing)}"))
        else:
            statuses.append(EVALUATORS[rule.name](rule, curve))
    return statuses


@dataclass
class Verdict:
    """What the rule job writes (rules.json): every rule's status, AWS's and the platform's."""

    statuses: list[dict] = field(default_factory=list)

    @property
    def issues(self) -> list[dict]:
        return [s for s in self.statuses if s["RuleEvaluationStatus"] in (ISSUES, ERROR)]

    def document(self) -> dict:
        issues = self.issues
        summary = "; ".join(f"{s['RuleConfigurationName']}: {s['RuleEvaluationStatus']}"
                            for s in issues) or "no issues found"
        return {"statuses": self.statuses, "issues_found": bool(issues), "summary": summary}


def append_curve(output_data: Path, step: int, metrics: dict[str, float]) -> None:
    """One step of the training curve (what its `#metrics` line says), for the rule job."""
    output_data.mkdir(parents=True, exist_ok=True)
    with (output_data / CURVE_FILE).open("a") as handle:
        handle.write(json.dumps({"step": step, **metrics}) + "\n")
