"""The quality gate's input: conditions validated, then written in the fixed forms the evaluation
job (arguments) and the model registry (metadata) take."""

from __future__ import annotations

import re

import botocore.session
import pytest

from runtime_scripts.common.quality_gate import Condition
from runtime_scripts.pipeline_input.gate import LOWER_IS_BETTER, METRICS, derive

from .events import training


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


@pytest.mark.parametrize("metric", METRICS)
def test_every_metric_round_trips_through_the_evaluation_jobs_parser(metric):
    comparison = "<=" if metric in LOWER_IS_BETTER else ">"
    arguments = derive({"conditions": [cond(metric, comparison, 0.25)]})["arguments"]
    parsed = Condition.parse(arguments[1])
    assert (parsed.metric, parsed.comparison, parsed.threshold) == (metric, comparison, 0.25)
