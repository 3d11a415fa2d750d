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

Which metrics a gate may use, which way each is better and the range of its thresholds are the
use case's (its manifest's `metrics`): the state machine passes them as `platform.gate_metrics`.
"""

from __future__ import annotations

from typing import Any

from .. import contract
from .errors import Problem, render
from .origin import Origin
from .schema import Bool, Enum, Float, ListOf, Nullable, Obj, Str

COMPARISONS = contract.GATE_COMPARISONS
MAX_CONDITIONS = contract.GATE_MAX_CONDITIONS
# The model package records the conditions as one CustomerMetadataProperties value: at most 256
# characters of letters, digits, spaces and _.:/=+-@ (no '<' or '>', hence the words).
METADATA_VALUE_MAX = contract.MODEL_PACKAGE_METADATA_VALUE_MAX
_WORDS = {">=": "at least", ">": "above", "<=": "at most", "<": "below"}
_METRIC_NAME = Str(max_len=64)

SCHEMA = Obj({
    "conditions": ListOf(Obj({"metric": _METRIC_NAME, "comparison": Enum(COMPARISONS),
                              "threshold": Float()}), 1, MAX_CONDITIONS),
})

# The use case's gateable metrics (its manifest): direction and the range a threshold may take
# (null: unbounded on that side), and the metrics of which a gate must use one (may be empty).
PLATFORM_FIELDS = {
    "gate_metrics": ListOf(Obj({"name": _METRIC_NAME, "higher_is_better": Bool(),
                                "minimum": Nullable(Float()), "maximum": Nullable(Float())}), 1),
    "gate_requires_one_of": ListOf(_METRIC_NAME),
}


def gated_metric(key: str, name: str, platform: dict[str, Any],
                 out: list[Problem]) -> dict[str, Any] | None:
    """The use case's gate metric `name` (platform.gate_metrics), or None with the problem of
    condition `key` naming the metrics it may gate on."""
    metrics = {m["name"]: m for m in platform["gate_metrics"]}
    if name not in metrics:
        out.append(Problem(f"{key}.metric", f"{render(name)} is not a metric use case "
                           f"{render(platform['use_case'])} can be gated on",
                           ", ".join(metrics)))
    return metrics.get(name)


def check(gate: dict[str, Any], platform: dict[str, Any], origin: Origin,
          out: list[Problem]) -> None:
    seen: set[tuple[str, str]] = set()
    for i, condition in enumerate(gate["conditions"]):
        key = f"quality_gate.conditions[{i}]"
        name, comparison, threshold = (condition[k] for k in ("metric", "comparison",
                                                              "threshold"))
        metric = gated_metric(key, name, platform, out)
        if metric is None:
            continue
        higher = metric["higher_is_better"]
        better = (">=", ">") if higher else ("<=", "<")
        if comparison not in better:
            # A condition on the wrong side would pass the worse models: refuse it by name.
            out.append(Problem(f"{key}.comparison", f"{name} is better when "
                               f"{'higher' if higher else 'lower'}: {name} {comparison} "
                               f"{threshold:g} would pass worse models", " or ".join(better)))
        low, high = metric["minimum"], metric["maximum"]
        if (low is not None and threshold < low) or (high is not None and threshold > high):
            out.append(Problem(f"{key}.threshold", f"{threshold:g} is out of range for {name}",
                               f"{'' if low is None else low} .. "
                               f"{'' if high is None else high}".strip()))
        if (name, comparison) in seen:
            out.append(Problem(key, f"repeats {name} {comparison}: give each bound once"))
        seen.add((name, comparison))
    _check_required(gate, platform, origin, out)
    summary = metadata_summary(gate["conditions"])
    if len(summary) > METADATA_VALUE_MAX:
        out.append(Problem(origin.pick("quality_gate.conditions"),
                           f"the conditions take {len(summary)} characters written out "
                           f"({summary!r}); the model package records them in one metadata "
                           f"value of at most {METADATA_VALUE_MAX}", "fewer conditions"))


def _check_required(gate: dict[str, Any], platform: dict[str, Any], origin: Origin,
                    out: list[Problem]) -> None:
    """The use case's rule the stage config applies too: for classification, a gate on a
    ranking metric alone (AUC) once approved a model that never predicted the positive class."""
    required = platform["gate_requires_one_of"]
    if required and not any(c["metric"] in required for c in gate["conditions"]):
        out.append(Problem(origin.pick("quality_gate.conditions"),
                           f"no condition on {', '.join(required)}: use case "
                           f"{render(platform['use_case'])} requires one (a model that never "
                           "predicts the positive class would pass)",
                           f'add one, e.g. {{"metric": "{required[0]}", "comparison": ">=", '
                           '"threshold": 0.5}'))


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
