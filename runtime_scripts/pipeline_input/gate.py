"""The training pipeline's quality gate: a list of conditions on evaluation metrics, all of which
must hold for the model to be registered.

How the state machine evaluates N conditions: a Choice state cannot read a metric whose name is
data (JSONPath has no dynamic keys) nor build the list of failures for the notice, and a Map of
28-way Choices plus intrinsic arithmetic would be many states for a few comparisons. So this
validator writes each condition in one fixed form, `metric>=threshold`, as arguments of the
evaluation job (`quality_gate.arguments`); the job, which computed the metrics, judges them and
records every condition with its value in evaluation.json; the Choice state reads one boolean,
`quality_gate.passed`, and the rejection quotes `quality_gate.failed`. No Lambda function, and
the verdict sits in the document the model package's ModelMetrics points at.
"""

from __future__ import annotations

from typing import Any

from .. import contract
from .errors import Problem
from .origin import Origin
from .schema import Enum, Float, ListOf, Obj

METRICS = contract.EVALUATION_METRICS
LOWER_IS_BETTER = contract.LOWER_IS_BETTER
COMPARISONS = contract.GATE_COMPARISONS
MAX_CONDITIONS = contract.GATE_MAX_CONDITIONS
UNBOUNDED = ("log_loss",)  # every other metric lies in [0, 1]
# The model package records the conditions as one CustomerMetadataProperties value: at most 256
# characters of letters, digits, spaces and _.:/=+-@ (no '<' or '>', hence the words).
METADATA_VALUE_MAX = 256
_WORDS = {">=": "at least", ">": "above", "<=": "at most", "<": "below"}

SCHEMA = Obj({
    "conditions": ListOf(Obj({"metric": Enum(METRICS), "comparison": Enum(COMPARISONS),
                              "threshold": Float(0.0)}), 1, MAX_CONDITIONS),
})


def check(gate: dict[str, Any], origin: Origin, out: list[Problem]) -> None:
    seen: set[tuple[str, str]] = set()
    for i, condition in enumerate(gate["conditions"]):
        key = f"quality_gate.conditions[{i}]"
        metric, comparison, threshold = (condition[k] for k in ("metric", "comparison",
                                                                "threshold"))
        better = ("<=", "<") if metric in LOWER_IS_BETTER else (">=", ">")
        if comparison not in better:
            # A condition on the wrong side would pass the worse models: refuse it by name.
            out.append(Problem(f"{key}.comparison", f"{metric} is better when "
                               f"{'lower' if metric in LOWER_IS_BETTER else 'higher'}: "
                               f"{metric} {comparison} {threshold:g} would pass worse models",
                               " or ".join(better)))
        if metric not in UNBOUNDED and threshold > 1:
            out.append(Problem(f"{key}.threshold", f"{threshold:g} is out of range for {metric}",
                               "0.0 .. 1.0"))
        if (metric, comparison) in seen:
            out.append(Problem(key, f"repeats {metric} {comparison}: give each bound once"))
        seen.add((metric, comparison))
    summary = metadata_summary(gate["conditions"])
    if len(summary) > METADATA_VALUE_MAX:
        out.append(Problem(origin.pick("quality_gate.conditions"),
                           f"the conditions take {len(summary)} characters written out "
                           f"({summary!r}); the model package records them in one metadata "
                           f"value of at most {METADATA_VALUE_MAX}", "fewer conditions"))


def derive(gate: dict[str, Any]) -> dict[str, Any]:
    arguments: list[str] = []
    for condition in gate["conditions"]:
        arguments += ["--gate", f"{condition['metric']}{condition['comparison']}"
                                f"{condition['threshold']!r}"]
    return {**gate, "arguments": arguments, "summary": metadata_summary(gate["conditions"])}


def metadata_summary(conditions: list[dict[str, Any]]) -> str:
    """'auc at least 0.85 / recall at least 0.5': the conditions as the model package keeps them."""
    return " / ".join(f"{c['metric']} {_WORDS[c['comparison']]} {c['threshold']!r}"
                      for c in conditions)
