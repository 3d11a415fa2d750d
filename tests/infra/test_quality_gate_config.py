"""The quality gate of each use case a stage deploys: at least two conditions, one that a model
never predicting the positive class fails (the manifest's gate_requires_one_of), each on one of
the use case's metrics and asking for the better side of it (the manifest's directions)."""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest

from config import ConfigError, GateCondition, available_stages, load_stage_config
from runtime_scripts import contract
from runtime_scripts.common.manifest import GateCondition as ManifestCondition
from runtime_scripts.common.manifest import Metric, load_manifest

KEY = "use_cases[0].quality_gate.conditions"


def _gate(tmp_path, conditions, **stage):
    path = tmp_path / "stage.json"
    path.write_text(json.dumps({**stage, "use_cases": [
        {"name": "churn", "quality_gate": {"conditions": conditions}}]}))
    return load_stage_config("test", path)


def cond(metric, comparison, threshold):
    return {"metric": metric, "comparison": comparison, "threshold": threshold}


@pytest.mark.parametrize("stage", available_stages())
def test_every_use_case_gates_on_two_conditions_and_on_what_its_manifest_requires(stage):
    """(A classifier's manifest requires one on the positive class; a regression's none.)"""
    for use_case in load_stage_config(stage).use_cases:
        gate, manifest = use_case.gate, use_case.manifest
        assert len(gate) >= contract.GATE_MIN_CONDITIONS
        if manifest.gate_requires_one_of:
            assert any(c.metric in manifest.gate_requires_one_of for c in gate)
        assert {c.metric for c in gate} <= set(manifest.gateable_metrics)


def test_a_use_case_without_a_gate_gets_its_manifests(tmp_path):
    path = tmp_path / "stage.json"
    path.write_text(json.dumps({"use_cases": [{"name": "churn"}]}))
    config = load_stage_config("test", path)
    manifest = load_manifest("churn")
    assert [(c.metric, c.comparison, c.threshold) for c in config.use_cases[0].gate] == [
        (c.metric, c.comparison, c.threshold) for c in manifest.gate]


def test_the_gate_comparisons_are_the_contracts():
    hints = typing.get_type_hints(GateCondition)
    assert typing.get_args(hints["comparison"]) == contract.GATE_COMPARISONS


@pytest.mark.parametrize(("conditions", "key", "words"), [
    ([cond("auc", ">=", 0.9)], KEY, "has 1 conditions"),
    ([cond("auc", ">=", 0.9), cond("pr_auc", ">=", 0.5)], KEY,
     "no condition on precision, recall, f1"),
    ([cond("auc", ">=", 0.9), cond("recall", "<=", 0.5)], f"{KEY}[1].comparison",
     "recall is better when higher, so '<=' would pass worse models"),
    ([cond("log_loss", ">", 0.2), cond("recall", ">=", 0.5)], f"{KEY}[0].comparison",
     "log_loss is better when lower"),
    ([cond("auc", "=>", 0.9), cond("recall", ">=", 0.5)], f"{KEY}[0].comparison",
     ">=, >, <=, <"),
    ([cond("auc", ">=", 0.9)] * 4 + [cond("recall", ">=", 0.5)] * 5, KEY, "2 .. 8"),
    ([cond("rmse", "<=", 0.9), cond("recall", ">=", 0.5)], f"{KEY}[0].metric",
     "not a metric use case 'churn' can be gated on"),
])
def test_a_gate_that_could_pass_a_useless_model_is_refused_by_name(tmp_path, conditions, key,
                                                                   words):
    with pytest.raises(ConfigError) as error:
        _gate(tmp_path, conditions)
    assert error.value.key == key, str(error.value)
    assert words in str(error.value)


def test_a_loss_may_be_bounded_above_one(tmp_path):
    config = _gate(tmp_path, [cond("log_loss", "<=", 1.5), cond("f1", ">", 0.4)])
    assert [c.threshold for c in config.use_cases[0].gate] == [1.5, 0.4]


def test_a_condition_without_a_threshold_is_reported_with_the_files_other_problems(tmp_path):
    with pytest.raises(ConfigError) as error:
        _gate(tmp_path, [{"metric": "auc", "comparison": ">="}, cond("recall", ">=", 0.5)],
              tuning={"max_jobs": 501})
    keys = {p.key for p in error.value.problems}
    assert {f"{KEY}[0].threshold", "tuning.max_jobs"} <= keys
    assert "is required" in str(error.value)


def test_the_gate_rules_come_from_the_manifest_not_from_churn(tmp_path, monkeypatch):
    """A regression use case: its own metrics and directions, and no positive-class rule."""
    regression = dataclasses.replace(
        load_manifest("churn"), name="prices", problem_type="regression",
        metrics=(Metric("rmse", higher_is_better=False, maximum=None),
                 Metric("r2", higher_is_better=True, minimum=None)),
        gate=(ManifestCondition("rmse", "<=", 30000.0), ManifestCondition("r2", ">=", 0.8)),
        gate_requires_one_of=())
    monkeypatch.setattr("config.use_cases.load_manifest",
                        lambda name: regression if name == "prices" else load_manifest(name))

    def load(conditions):
        path = tmp_path / "stage.json"
        entry = {"name": "prices"}
        if conditions is not None:
            entry["quality_gate"] = {"conditions": conditions}
        path.write_text(json.dumps({"use_cases": [entry]}))
        return load_stage_config("test", path)

    assert [c.metric for c in load(None).use_cases[0].gate] == ["rmse", "r2"]
    assert load([cond("rmse", "<", 25000), cond("r2", ">", 0.9)]).use_cases[0].gate
    with pytest.raises(ConfigError) as error:
        load([cond("rmse", ">=", 25000), cond("auc", ">=", 0.9)])
    assert {p.key for p in error.value.problems} == {f"{KEY}[0].comparison", f"{KEY}[1].metric"}
    assert "rmse is better when lower" in str(error.value)
    assert "(allowed: rmse, r2)" in str(error.value)
