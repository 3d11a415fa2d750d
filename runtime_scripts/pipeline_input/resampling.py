"""What the resampling pipelines' inputs share (cross-validation; the backtest reuses it): the
distributed Map's settings, the gate on statistics over folds or windows, and the refusal of a
pipeline the use case's manifest does not allow."""

from __future__ import annotations

from typing import Any

from .. import contract
from .errors import InvalidPipelineInput, Problem, render
from .gate import gated_metric, metadata_summary
from .schema import Enum, Float, Int, ListOf, Nullable, Obj, Str

# The distributed Map over the items (folds, windows): how many run at once, and the share of
# them that may fail before the Map fails (Step Functions' MaxConcurrency and
# ToleratedFailurePercentage; the statistics are then over the items that succeeded).
FAN_OUT_FIELDS = {
    "max_concurrency": Int(1, contract.MAP_MAX_CONCURRENCY),
    "tolerated_failure_percentage": Float(0, contract.MAP_MAX_TOLERATED_FAILURE_PERCENTAGE),
}
_METRIC_NAME = Str(max_len=64)
GATE = Obj({"conditions": ListOf(Obj({
    "metric": _METRIC_NAME, "statistic": Enum(contract.RESAMPLING_STATISTICS),
    "comparison": Enum(contract.GATE_COMPARISONS), "threshold": Float()}),
    1, contract.GATE_MAX_CONDITIONS)})
# The manifest's `refusal` when it does not allow the pipeline (null: allowed).
PLATFORM_FIELDS = {"refusal": Nullable(Str(max_len=1000))}


def refuse_if_not_allowed(platform: dict[str, Any], pipeline: str) -> None:
    if platform.get("refusal"):
        raise InvalidPipelineInput([Problem("", f"use case {render(platform['use_case'])} "
                                            f"does not allow {pipeline}: {platform['refusal']}",
                                            f"a use case whose manifest allows {pipeline}")])


def check_gate(gate: dict[str, Any], platform: dict[str, Any], out: list[Problem]) -> None:
    """Each condition on a metric the use case gates on (platform.gate_metrics): a mean, min
    or max on the metric's better side and within its range, a spread (std) bounded from above
    by a number >= 0."""
    for i, condition in enumerate(gate["conditions"]):
        key = f"quality_gate.conditions[{i}]"
        name, statistic = condition["metric"], condition["statistic"]
        comparison, threshold = condition["comparison"], condition["threshold"]
        metric = gated_metric(key, name, platform, out)
        if metric is None:
            continue
        if statistic == "std":
            if comparison not in ("<=", "<"):
                out.append(Problem(f"{key}.comparison", f"a spread is bounded from above: "
                                   f"{name} std {comparison} {threshold:g} would pass the "
                                   "less stable models", "<= or <"))
            if threshold < 0:
                out.append(Problem(f"{key}.threshold", f"{threshold:g}: a standard deviation "
                                   "is never negative", ">= 0"))
            continue
        better = (">=", ">") if metric["higher_is_better"] else ("<=", "<")
        if comparison not in better:
            out.append(Problem(f"{key}.comparison", f"{name} is better when "
                               f"{'higher' if metric['higher_is_better'] else 'lower'}: "
                               f"{name} {statistic} {comparison} {threshold:g} would pass worse "
                               "models", " or ".join(better)))
        low, high = metric["minimum"], metric["maximum"]
        if (low is not None and threshold < low) or (high is not None and threshold > high):
            out.append(Problem(f"{key}.threshold", f"{threshold:g} is out of range for {name}",
                               f"{'' if low is None else low} .. "
                               f"{'' if high is None else high}".strip()))


def gate_summary(gate: dict[str, Any]) -> str:
    """'auc mean at least 0.85 / auc std at most 0.03': the conditions as a registered model
    package records them (gate.metadata_summary's words)."""
    return metadata_summary([{**c, "metric": f"{c['metric']} {c['statistic']}"}
                             for c in gate["conditions"]])


def gate_arguments(gate: dict[str, Any]) -> list[str]:
    """`--gate auc:mean>=0.85 ...`: the aggregate job judges the conditions (as the evaluation
    job judges the training pipeline's, pipeline_input/gate.py says why)."""
    arguments: list[str] = []
    for c in gate["conditions"]:
        arguments += ["--gate", f"{c['metric']}:{c['statistic']}{c['comparison']}"
                                f"{c['threshold']!r}"]
    return arguments
