"""The quality gate's input: conditions validated against the use case's own metrics (the
state machine's `platform.gate_metrics`), then written in the fixed forms the evaluation job
(arguments) and the model registry (metadata) take."""

from __future__ import annotations

import re

import botocore.session
import pytest

from runtime_scripts.common.quality_gate import Condition
from runtime_scripts.pipeline_input import InvalidPipelineDefaults, InvalidPipelineInput
from runtime_scripts.pipeline_input.gate import derive

from .events import (
    CHANNEL_SUPPORT,
    IMAGE_SPECIFICATION,
    PLATFORM,
    TRAINING_DEFAULTS,
    TRAINING_PLATFORM,
    error,
    training,
)

# A regression use case's platform and defaults: other metrics, other directions and ranges.
REGRESSION_PLATFORM = {
    **PLATFORM, "use_case": "prices", "model_package_group": "mlplatform-dev-prices",
    "gate_metrics": [
        {"name": "rmse", "higher_is_better": False, "minimum": 0.0, "maximum": None},
        {"name": "r2", "higher_is_better": True, "minimum": None, "maximum": 1.0}],
    "gate_requires_one_of": [],
    "objective_metrics": ["validation:rmse"],
    "pinned_hyperparameters": {},
    "training_instance_family": "cpu",
    "script_mode_hyperparameters": {},
    "data_wrangler_flows": "s3://mlplatform-dev-artifacts-123456789012/data-wrangler/prices/",
    "dataset_spec_columns": {"target": "price", "id_columns": [], "features": ["area"]},
    "channels": CHANNEL_SUPPORT,
    "own_algorithm": None,
    **IMAGE_SPECIFICATION,
}
REGRESSION_DEFAULTS = {
    **TRAINING_DEFAULTS,
    "tuning": {**TRAINING_DEFAULTS["tuning"], "objective_metric": "validation:rmse",
               "objective_type": "Minimize"},
    "quality_gate": {"conditions": [{"metric": "rmse", "comparison": "<=", "threshold": 30000},
                                    {"metric": "r2", "comparison": ">=", "threshold": 0.8}]},
}


def regression(user_input=None):
    return training(user_input, defaults=REGRESSION_DEFAULTS, platform=REGRESSION_PLATFORM)


def cond(metric, comparison, threshold):
    return {"metric": metric, "comparison": comparison, "threshold": threshold}


def gate_input(*conditions):
    return {"quality_gate": {"conditions": list(conditions)}}


def test_conditions_become_evaluation_arguments_and_a_registry_summary():
    out = training(gate_input(cond("auc", ">=", 0.9), cond("recall", ">=", 0.5),
                              cond("log_loss", "<", 0.3)))["quality_gate"]
    assert out["arguments"] == ["--gate", "auc>=0.9", "--gate", "recall>=0.5",
                                "--gate", "log_loss<0.3"]
    # The job reads back exactly the conditions that were asked for.
    parsed = [Condition.parse(a) for a in out["arguments"][1::2]]
    assert [(c.metric, c.comparison, c.threshold) for c in parsed] == [
        ("auc", ">=", 0.9), ("recall", ">=", 0.5), ("log_loss", "<", 0.3)]
    assert out["summary"] == "auc at least 0.9 / recall at least 0.5 / log_loss below 0.3"


def test_the_summary_is_a_valid_customer_metadata_value():
    shape = botocore.session.get_session().get_service_model("sagemaker") \
        .shape_for("CustomerMetadataValue")
    summary = training({})["quality_gate"]["summary"]
    pattern = shape.metadata["pattern"].replace("\\p{L}", "a-zA-Z").replace("\\p{Z}", " ") \
        .replace("\\p{N}", "0-9").replace("${1,256}", "$")  # the Java classes, for ASCII text
    assert re.fullmatch(pattern, summary)
    assert 1 <= len(summary) <= shape.metadata["max"]


@pytest.mark.parametrize(("conditions", "key", "words"), [
    ([cond("recall", "<", 0.5)], "quality_gate.conditions[0].comparison",
     "recall is better when higher: recall < 0.5 would pass worse models"),
    ([cond("ece", ">=", 0.1)], "quality_gate.conditions[0].comparison", "better when lower"),
    ([cond("auc", ">=", 0.9), cond("auc", ">=", 0.8)], "quality_gate.conditions[1]",
     "repeats auc >="),
    ([], "quality_gate.conditions", "has 0 items"),
    ([cond("f1", ">=", 0.5)] * 9, "quality_gate.conditions", "has 9 items"),
])
def test_a_condition_that_cannot_mean_what_it_says_is_refused(conditions, key, words):
    from runtime_scripts.pipeline_input import PipelineInputError

    with pytest.raises(PipelineInputError) as error:
        training(gate_input(*conditions))
    assert any(p.key == key and words in p.problem for p in error.value.problems), \
        error.value.problems


def test_conditions_too_long_to_record_are_refused_before_any_job():
    from runtime_scripts.pipeline_input import PipelineInputError

    long = [cond(m, ">=", 0.123456789012) for m in ("auc", "pr_auc", "accuracy", "precision",
                                                     "recall", "f1")]
    long += [cond("log_loss", "<=", 0.123456789012), cond("brier", "<=", 0.123456789012)]
    with pytest.raises(PipelineInputError, match="one metadata value of at most 256"):
        training(gate_input(*long))


@pytest.mark.parametrize("metric", TRAINING_PLATFORM["gate_metrics"],
                         ids=lambda m: m["name"])
def test_every_metric_round_trips_through_the_evaluation_jobs_parser(metric):
    comparison = ">" if metric["higher_is_better"] else "<="
    arguments = derive({"conditions": [cond(metric["name"], comparison, 0.25)]})["arguments"]
    parsed = Condition.parse(arguments[1])
    assert (parsed.metric, parsed.comparison, parsed.threshold) == \
        (metric["name"], comparison, 0.25)


# --- the use case's own metrics ------------------------------------------------------------------
def test_a_regression_use_case_gates_on_its_own_metrics_and_ranges():
    out = regression(gate_input(cond("rmse", "<", 25000.5), cond("r2", ">=", -0.25)))
    assert out["quality_gate"]["arguments"] == ["--gate", "rmse<25000.5", "--gate", "r2>=-0.25"]
    assert out["quality_gate"]["summary"] == "rmse below 25000.5 / r2 at least -0.25"


@pytest.mark.parametrize(("conditions", "key", "words"), [
    # churn's metric, which this use case does not compute
    ([cond("auc", ">=", 0.9)], "quality_gate.conditions[0].metric",
     '"auc" is not a metric use case "prices" can be gated on'),
    ([cond("rmse", ">=", 100.0)], "quality_gate.conditions[0].comparison",
     "rmse is better when lower"),
    ([cond("r2", ">=", 1.5)], "quality_gate.conditions[0].threshold", "out of range for r2"),
    ([cond("rmse", "<=", -1.0)], "quality_gate.conditions[0].threshold", "out of range for rmse"),
])
def test_a_regression_gate_is_judged_by_the_use_cases_metrics(conditions, key, words):
    problems = error(InvalidPipelineInput, regression, gate_input(*conditions)).problems
    assert any(p.key == key and words in p.problem for p in problems), problems


def test_churns_gate_needs_a_condition_on_precision_recall_or_f1():
    problems = error(InvalidPipelineInput, training,
                     gate_input(cond("auc", ">=", 0.9), cond("log_loss", "<=", 0.4))).problems
    assert [p.key for p in problems] == ["quality_gate.conditions"]
    assert "no condition on precision, recall, f1" in problems[0].problem
    # The regression use case names no such metrics: any of its conditions will do.
    regression(gate_input(cond("r2", ">=", 0.7)))


def test_defaults_gated_on_another_use_cases_metric_are_a_deploy_problem():
    """churn's defaults under the regression use case's platform: the stage built them wrong."""
    message = str(error(InvalidPipelineDefaults, training, {}, platform=REGRESSION_PLATFORM))
    assert '"auc" is not a metric use case "prices" can be gated on' in message
