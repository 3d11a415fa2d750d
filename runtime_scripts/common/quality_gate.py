"""The quality gate: conditions on evaluation metrics that must all hold for a model to be
registered. The evaluation job judges them (`--gate auc>=0.85`, one argument per condition, as
the pipeline's input validator writes them) next to the metrics it computed, and records the
verdict in evaluation.json; the training pipeline's Choice state reads `quality_gate.passed`.
Which metrics a condition may name, and on which side of its threshold they are better, is the
use case's manifest (`metrics`).
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Any

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.manifest import UseCaseManifest

_COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
_NUMBER = r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
_CONDITION = re.compile(rf"^\s*([a-z_][a-z0-9_]*)\s*(>=|<=|>|<)\s*({_NUMBER})\s*$")


@dataclass(frozen=True)
class Condition:
    metric: str
    comparison: str
    threshold: float

    @classmethod
    def parse(cls, text: str, manifest: UseCaseManifest | None = None) -> Condition:
        """`metric>=number`; with the use case's `manifest` (as the evaluation job passes it)
        the metric must be one it gates on, compared on its better side, within its range."""
        match = _CONDITION.match(text)
        if not match:
            raise JobError(f"quality gate condition {text!r} is not 'metric>=number' (comparisons: "
                           f"{', '.join(contract.GATE_COMPARISONS)})")
        metric, comparison, threshold = match.group(1), match.group(2), float(match.group(3))
        if manifest is None:
            return cls(metric, comparison, threshold)
        if metric not in manifest.gateable_metrics:
            raise JobError(f"quality gate condition {text!r}: unknown metric {metric!r} "
                           f"(use case {manifest.name!r} gates on "
                           f"{', '.join(manifest.gateable_metrics)})")
        problem = manifest.metric(metric).gate_problem(comparison, threshold)
        if problem:
            raise JobError(f"quality gate condition {text!r}: {problem}")
        return cls(metric, comparison, threshold)

    def __str__(self) -> str:
        return f"{self.metric} {self.comparison} {self.threshold:g}"


def judge(conditions: list[Condition], metrics: dict[str, float]) -> dict[str, Any]:
    """The verdict: every condition with the value it saw; passed only if all of them hold."""
    results = []
    for condition in conditions:
        value = metrics[condition.metric]
        holds = math.isfinite(value) and _COMPARE[condition.comparison](value,
                                                                         condition.threshold)
        results.append({"metric": condition.metric, "comparison": condition.comparison,
                        "threshold": condition.threshold, "value": value, "passed": holds})
    failed = [r for r in results if not r["passed"]]
    return {
        "passed": not failed,
        "conditions": results,
        # One line for the rejection notice: every condition that failed, with its value.
        "failed": "; ".join(f"{r['metric']} {r['value']:.4f} is not {r['comparison']} "
                            f"{r['threshold']:g}" for r in failed),
    }
