"""Stand-in for SageMaker Debugger's rule containers (a labelled emulation, not Debugger).

On AWS, each rule of a training job's DebugRuleConfigurations and ProfilerRuleConfigurations
runs in a rule container beside the job, and DescribeTrainingJob reports its status
(DebugRuleEvaluationStatuses, ProfilerRuleEvaluationStatuses). Here, once the local job ended,
the rules Debugger shares with the platform's curve rules (LossNotDecreasing, Overfit) are
evaluated for real over the training curve the job wrote (output/data/training_curve.jsonl),
on its first train/validation pair of loss metrics, with Debugger's default parameters; every
other rule (TreeDepth reads tensors, ProfilerReport system metrics, neither of which exists
here) is reported Stopped, saying so. Each status is labelled an emulation.
"""

from __future__ import annotations

from pathlib import Path

from local_runner.stand_ins import EMULATED
from runtime_scripts.common import training_rules
from runtime_scripts.common.training_rules import CurveRule

LOSS_WORDS = ("loss", "rmse", "mae", "error")
MEMBERS = (("DebugRuleConfigurations", "DebugRuleEvaluationStatuses"),
           ("ProfilerRuleConfigurations", "ProfilerRuleEvaluationStatuses"))


def _loss_pair(curve: list[dict]) -> tuple[str, str] | None:
    names = list(curve[0]) if curve else []
    for name in names:
        data, _, metric = name.partition(":")
        if data == "train" and any(w in metric for w in LOSS_WORDS) and \
                f"validation:{metric}" in names:
            return name, f"validation:{metric}"
    return None


def _status(rule: str, curve: list[dict] | None) -> dict:
    pair = _loss_pair(curve or [])
    if rule in training_rules.EVALUATORS and pair:
        status = training_rules.EVALUATORS[rule](
            CurveRule(rule, loss=pair[0], validation_loss=pair[1]), curve or [])
        return {"RuleConfigurationName": rule, "RuleEvaluationStatus":
                status.RuleEvaluationStatus,
                "StatusDetails": f"{EMULATED} Debugger's rule evaluated locally on the "
                                 f"training curve: {status.StatusDetails}"[:1024]}
    return {"RuleConfigurationName": rule, "RuleEvaluationStatus": "Stopped",
            "StatusDetails": f"{EMULATED} Debugger's {rule} rule container is AWS-only and "
                             "reads what only SageMaker collects; not evaluated locally"}


def rule_statuses(request: dict, workdir: Path) -> dict[str, list[dict]]:
    """The DescribeTrainingJob members for the rules `request` attached ({} without any),
    from the curve the job wrote under `workdir` (its first host's)."""
    if not any(request.get(member) for member, _ in MEMBERS):
        return {}
    found = sorted(workdir.rglob(training_rules.CURVE_FILE))
    curve = training_rules.read_curve(found[0]) if found else None
    return {statuses: [_status(r["RuleConfigurationName"], curve)
                       for r in request.get(member) or []]
            for member, statuses in MEMBERS if request.get(member)}
