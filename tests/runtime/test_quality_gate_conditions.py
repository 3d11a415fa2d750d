"""The evaluation job judges a gate condition against the use case's own metrics: a metric it
does not compute, a comparison on the worse side or a threshold out of the metric's range is
refused by name before anything is scored."""

from __future__ import annotations

import pytest

from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.manifest import load_manifest
from runtime_scripts.common.quality_gate import Condition

CHURN = load_manifest("churn")


@pytest.mark.parametrize(("text", "words"), [
    ("log_loss>=0.1", "log_loss is better when lower, so '>=' would pass worse models"),
    ("auc<0.99", "auc is better when higher, so '<' would pass worse models: use >= or >"),
    ("recall>=1.5", "threshold 1.5 is outside the range of recall, 0 .. 1"),
    ("rmse<=1000", "unknown metric 'rmse' (use case 'churn' gates on auc, pr_auc, accuracy"),
])
def test_a_condition_the_use_case_cannot_judge_is_refused(text, words) -> None:
    with pytest.raises(JobError) as caught:
        Condition.parse(text, CHURN)
    assert words in str(caught.value)


def test_conditions_on_the_better_side_within_range_are_kept() -> None:
    assert [Condition.parse(t, CHURN) for t in ("auc>=0.85", "log_loss<0.4", "ece<=0.05")] == [
        Condition("auc", ">=", 0.85), Condition("log_loss", "<", 0.4),
        Condition("ece", "<=", 0.05)]
