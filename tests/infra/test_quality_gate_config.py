"""The quality gate of a stage: at least two conditions, one that a model never predicting the
positive class fails, each asking for the better side of its metric."""

from __future__ import annotations

import json
import typing

import pytest

from config import ConfigError, available_stages, load_stage_config
from config.settings import POSITIVE_CLASS_METRICS, GateCondition
from runtime_scripts import contract


def _gate(tmp_path, conditions):
    path = tmp_path / "stage.json"
    path.write_text(json.dumps({"quality_gate": {"conditions": conditions}}))
    return load_stage_config("test", path)


def cond(metric, comparison, threshold):
    return {"metric": metric, "comparison": comparison, "threshold": threshold}


@pytest.mark.parametrize("stage", available_stages())
def test_every_stage_gates_on_two_conditions_one_of_them_on_the_positive_class(stage):
    conditions = load_stage_config(stage).quality_gate.conditions
    assert len(conditions) >= 2
    assert any(c.metric in POSITIVE_CLASS_METRICS for c in conditions)


def test_the_gate_metrics_and_comparisons_are_the_contracts():
    hints = typing.get_type_hints(GateCondition)
    assert typing.get_args(hints["metric"]) == contract.EVALUATION_METRICS
    assert typing.get_args(hints["comparison"]) == contract.GATE_COMPARISONS


@pytest.mark.parametrize(("conditions", "key", "words"), [
    ([cond("auc", ">=", 0.9)], "quality_gate.conditions", "has 1 conditions"),
    ([cond("auc", ">=", 0.9), cond("pr_auc", ">=", 0.5)], "quality_gate.conditions",
     "no condition on precision, recall or f1"),
    ([cond("auc", ">=", 0.9), cond("recall", "<=", 0.5)], "quality_gate.conditions[1].comparison",
     "recall is better when higher, so '<=' would pass worse models"),
    ([cond("log_loss", ">", 0.2), cond("recall", ">=", 0.5)],
     "quality_gate.conditions[0].comparison", "log_loss is better when lower"),
    ([cond("auc", "=>", 0.9), cond("recall", ">=", 0.5)], "quality_gate.conditions[0].comparison",
     ">=, >, <=, <"),
    ([cond("auc", ">=", 0.9)] * 4 + [cond("recall", ">=", 0.5)] * 5, "quality_gate.conditions",
     "2 .. 8"),
])
def test_a_gate_that_could_pass_a_useless_model_is_refused_by_name(tmp_path, conditions, key,
                                                                   words):
    with pytest.raises(ConfigError) as error:
        _gate(tmp_path, conditions)
    assert error.value.key == key
    assert words in str(error.value)


def test_a_loss_may_be_bounded_above_one(tmp_path):
    config = _gate(tmp_path, [cond("log_loss", "<=", 1.5), cond("f1", ">", 0.4)])
    assert [c.threshold for c in config.quality_gate.conditions] == [1.5, 0.4]


def test_a_condition_without_a_threshold_is_reported_with_the_files_other_problems(tmp_path):
    path = tmp_path / "stage.json"
    path.write_text(json.dumps({"quality_gate": {"conditions": [
        {"metric": "auc", "comparison": ">="}, cond("recall", ">=", 0.5)]},
        "tuning": {"max_jobs": 501}}))
    with pytest.raises(ConfigError) as error:
        load_stage_config("test", path)
    keys = {p.key for p in error.value.problems}
    assert {"quality_gate.conditions[0].threshold", "tuning.max_jobs"} <= keys
    assert "is required" in str(error.value)
