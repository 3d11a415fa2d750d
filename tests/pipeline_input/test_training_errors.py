"""Training pipeline input errors: each class of mistake, reported on the key path."""

from __future__ import annotations

import copy

import pytest

from runtime_scripts.pipeline_input import InvalidPipelineInput, resolve

from .events import TRAINING_DEFAULTS, TRAINING_PLATFORM, error, event, training


def input_error(user_input):
    return error(InvalidPipelineInput, training, user_input)


# --- errors, each naming its key -----------------------------------------------------------------
def test_unknown_top_level_key_lists_the_allowed_keys():
    exc = input_error({"trainig": {}})
    assert str(exc).startswith("input key 'trainig': unknown key")
    assert str(exc).endswith(
        "(allowed: data, processing, preprocessing, training, tuning, automl, quality_gate, "
        "training_rules, registry)")
    assert 'did you mean "training"?' in str(exc)


def test_exact_range_message():
    assert str(input_error({"tuning": {"max_jobs": 501}})) == \
        "input key 'tuning.max_jobs': 501 is out of range (allowed: 1 .. 500)"


def test_input_that_is_not_an_object():
    for bad in ([], "training", None, 3):
        exc = error(InvalidPipelineInput, resolve, event("training", bad))
        assert str(exc).startswith("input: must be a JSON object")


def test_several_problems_are_reported_together():
    exc = input_error({"training": {"instance_count": 0, "instace_type": "ml.m5.xlarge"}})
    assert exc.keys == ["training.instace_type", "training.instance_count"]
    assert "; " in str(exc)


@pytest.mark.parametrize(("user_input", "key", "fragment"), [
    # unknown keys, nested
    ({"training": {"instance_typ": "ml.m5.large"}}, "training.instance_typ", "unknown key"),
    ({"tuning": {"ranges": {"continuous": [{"name": "eta", "min": 0.1, "max": 0.2,
                                            "scale": "Linear"}]}}},
     "tuning.ranges.continuous[0].scale", "unknown key"),
    ({"tuning": {"warm_start": {"type": "TransferLearning", "parents": ["a"], "x": 1}}},
     "tuning.warm_start.x", "unknown key"),
    # wrong types
    ({"training": {"instance_count": "2"}}, "training.instance_count", "must be an integer"),
    ({"training": {"use_spot": "true"}}, "training.use_spot", "must be a boolean"),
    ({"training": {"use_spot": None}}, "training.use_spot", "got null"),
    ({"training": 5}, "training", "must be an object"),
    ({"tuning": {"ranges": []}}, "tuning.ranges", "must be an object"),
    ({"data": {"raw_s3_uri": 5}}, "data.raw_s3_uri", "must be an S3 URI string"),
    ({"training": {"hyperparameters": {"max_depth": 6}}}, "training.hyperparameters.max_depth",
     "SageMaker passes strings"),
    ({"tuning": {"static_hyperparameters": ["a"]}}, "tuning.static_hyperparameters",
     "must be an object of strings"),
    ({"tuning": {"max_jobs": 10.0}}, "tuning.max_jobs", "must be an integer"),
    # bool is not an int
    ({"tuning": {"max_jobs": True}}, "tuning.max_jobs", "got boolean true"),
    ({"processing": {"instance_count": False}}, "processing.instance_count", "boolean"),
    ({"quality_gate": {"conditions": [{"metric": "auc", "comparison": ">=", "threshold": True}]}},
     "quality_gate.conditions[0].threshold", "must be a number"),
    ({"quality_gate": {"conditions": [{"metric": "auc", "comparison": ">=",
                                       "threshold": 10**400}]}},
     "quality_gate.conditions[0].threshold", "not a finite number"),
    # ranges
    ({"tuning": {"max_parallel_jobs": 11}}, "tuning.max_parallel_jobs", "1 .. 10"),
    ({"tuning": {"max_jobs": 0}}, "tuning.max_jobs", "1 .. 500"),
    ({"tuning": {"max_jobs": 1}}, "tuning.max_jobs", "must not exceed max_jobs (1)"),
    ({"tuning": {"max_runtime_seconds": 60}}, "tuning.max_runtime_seconds", "120 .. 15768000"),
    ({"training": {"max_runtime_seconds": 2_419_201}}, "training.max_runtime_seconds",
     "60 .. 2419200"),
    ({"processing": {"max_runtime_seconds": 777_601}}, "processing.max_runtime_seconds",
     "60 .. 777600"),
    ({"processing": {"volume_size_gb": 0}}, "processing.volume_size_gb", "1 .. 16384"),
    ({"quality_gate": {"conditions": [{"metric": "auc", "comparison": ">=", "threshold": 1.5}]}},
     "quality_gate.conditions[0].threshold", "0.0 .. 1.0"),
    # enums
    ({"quality_gate": {"conditions": [{"metric": "speed", "comparison": ">=", "threshold": 1}]}},
     "quality_gate.conditions[0].metric", "auc, pr_auc"),
    # the gate of the first release: one metric and threshold
    ({"quality_gate": {"metric": "auc", "threshold": 0.9}}, "quality_gate.metric",
     "unknown key"),
    ({"tuning": {"strategy": "bayesian"}}, "tuning.strategy", 'did you mean "Bayesian"?'),
    ({"registry": {"approval_status": "Rejected"}}, "registry.approval_status",
     "Approved, PendingManualApproval"),
    ({"tuning": {"objective_metric": "auc"}}, "tuning.objective_metric", "validation:auc"),
    ({"registry": {"description": "x" * 1001}}, "registry.description", "at most 1000"),
    ({"registry": {"description": "two\nlines"}}, "registry.description", "control characters"),
    # S3 URIs
    ({"data": {"raw_s3_uri": "https://bucket.s3.amazonaws.com/x"}}, "data.raw_s3_uri",
     "is not an S3 URI"),
    ({"data": {"raw_s3_uri": "s3://"}}, "data.raw_s3_uri", "is not an S3 URI"),
    ({"data": {"raw_s3_uri": "s3://ab/x"}}, "data.raw_s3_uri", "2 characters long"),
    ({"data": {"curated_s3_uri": "s3://My_Bucket/x"}}, "data.curated_s3_uri",
     "not a valid bucket name"),
    ({"data": {"raw_s3_uri": "s3://my..bucket/x"}}, "data.raw_s3_uri", "adjacent periods"),
    ({"data": {"raw_s3_uri": "s3://192.168.10.1/x"}}, "data.raw_s3_uri", "IP address"),
    ({"data": {"raw_s3_uri": "s3://data-bucket-/x"}}, "data.raw_s3_uri", "not a valid"),
    ({"data": {"dataset_spec_s3_uri": "s3://xn--bucket/dataset.json"}},
     "data.dataset_spec_s3_uri", "reserves"),
    # instance types
    ({"training": {"instance_type": "m5.xlarge"}}, "training.instance_type", "ml.m5.xlarge"),
    ({"processing": {"instance_type": "ml.M5.large"}}, "processing.instance_type", "ml.*"),
    # spot needs enough wait
    ({"training": {"max_wait_seconds": 1800}}, "training.max_wait_seconds",
     "MaxWaitTimeInSeconds >= MaxRuntimeInSeconds"),
    ({"training": {"max_runtime_seconds": 10000}}, "training.max_runtime_seconds",
     "max_wait_seconds (7200) must be >= max_runtime_seconds (10000)"),
    # warm start
    ({"tuning": {"warm_start": {"type": "TransferLearning",
                                "parents": [f"churn-tune-{i}" for i in range(6)]}}},
     "tuning.warm_start.parents", "has 6 items (allowed: 1 .. 5 items)"),
    ({"tuning": {"warm_start": {"type": "TransferLearning", "parents": []}}},
     "tuning.warm_start.parents", "has 0 items"),
    ({"tuning": {"warm_start": {"type": "TransferLearning", "parents": ["x" * 33]}}},
     "tuning.warm_start.parents[0]", "1-32 letters"),
    ({"tuning": {"warm_start": {"type": "TransferLearning", "parents": ["a", "a"]}}},
     "tuning.warm_start.parents", "more than once"),
    ({"tuning": {"warm_start": {"type": "Identical", "parents": ["a"]}}},
     "tuning.warm_start.type", "IdenticalDataAndAlgorithm, TransferLearning"),
    # ranges and strategies
    ({"tuning": {"strategy": "Grid"}}, "tuning.ranges.continuous", "only categorical"),
    ({"tuning": {"ranges": {"continuous": [{"name": "eta", "min": 0.01, "max": 0.3}],
                            "categorical": [{"name": "eta", "values": ["0.1"]}]}}},
     "tuning.ranges.categorical[0].name", "already tuned by tuning.ranges.continuous[0]"),
    ({"tuning": {"static_hyperparameters": {"max_depth": "4"}}},
     "tuning.ranges.integer[0].name", "also in tuning.static_hyperparameters"),
    ({"tuning": {"ranges": {"continuous": [{"name": "eta", "min": 0, "max": 0.3,
                                            "scaling": "Logarithmic"}]}}},
     "tuning.ranges.continuous[0].min", "logarithmic scaling needs all values > 0"),
    ({"tuning": {"ranges": {"integer": [{"name": "d", "min": 0, "max": 9,
                                         "scaling": "Logarithmic"}]}}},
     "tuning.ranges.integer[0].min", "min > 0"),
    ({"tuning": {"ranges": {"continuous": [{"name": "subsample", "min": 0.5, "max": 1,
                                            "scaling": "ReverseLogarithmic"}]}}},
     "tuning.ranges.continuous[0].max", "0 <= min < max < 1"),
    ({"tuning": {"ranges": {"integer": [{"name": "d", "min": 1, "max": 9,
                                         "scaling": "ReverseLogarithmic"}]}}},
     "tuning.ranges.integer[0].scaling", "Auto, Linear, Logarithmic"),
    ({"tuning": {"ranges": {"continuous": [{"name": "eta", "min": 0.3, "max": 0.3}]}}},
     "tuning.ranges.continuous[0].min", "must be less than max"),
    ({"tuning": {"ranges": {"integer": [{"name": "d", "min": 1.5, "max": 9}]}}},
     "tuning.ranges.integer[0].min", "must be an integer"),
    ({"tuning": {"ranges": {"categorical": [{"name": "c", "values": []}]}}},
     "tuning.ranges.categorical[0].values", "has 0 items"),
    ({"tuning": {"ranges": {"categorical": [{"name": "c", "values": [1, 2]}]}}},
     "tuning.ranges.categorical[0].values[0]", "must be a string"),
    ({"tuning": {"ranges": {"categorical": [{"name": "c", "values": ["1", "1"]}]}}},
     "tuning.ranges.categorical[0].values", "more than once"),
    ({"tuning": {"ranges": {"categorical": [{"name": f"h{i}", "values": ["1"]}
                                            for i in range(31)]}}},
     "tuning.ranges", "has 31 ranges (allowed: at most 30"),
    ({"tuning": {"enabled": True, "ranges": {}}}, "tuning.ranges", "at least one range"),
    ({"tuning": {"enabled": True, "strategy": "Grid", "ranges": {"categorical": [
        {"name": "a", "values": ["1", "2", "3", "4"]},
        {"name": "b", "values": ["1", "2", "3"]}]}}},
     "tuning.ranges", "12 combinations needs 12 training jobs, more than tuning.max_jobs (10)"),
    ({"tuning": {"enabled": True, "strategy": "Grid", "max_jobs": 2, "ranges": {"categorical": [
        {"name": "a", "values": ["1", "2", "3"]}]}}}, "tuning.max_jobs", "tuning.max_jobs >= 3"),
    ({"tuning": {"strategy": "Hyperband", "early_stopping": "Auto"}}, "tuning.early_stopping",
     "TrainingJobEarlyStoppingType Off"),
    ({"tuning": {"strategy": "Grid", "early_stopping": "Auto", "ranges": {
        "categorical": [{"name": "a", "values": ["1"]}]}}}, "tuning.early_stopping",
     "not allowed with strategy Grid"),
    ({"tuning": {"hyperband": {"max_resource": 100}}}, "tuning.hyperband",
     "only used with strategy Hyperband"),
    ({"tuning": {"strategy": "Hyperband", "hyperband": {"min_resource": 50,
                                                        "max_resource": 10}}},
     "tuning.hyperband.min_resource", "must not exceed max_resource"),
    ({"tuning": {"enabled": True, "strategy": "Hyperband"}}, "tuning.hyperband.max_resource",
     "is required with strategy Hyperband"),
    ({"tuning": {"hyperband": {"max_resource": 20001}, "strategy": "Hyperband"}},
     "tuning.hyperband.max_resource", "1 .. 20000"),
])
def test_error_names_the_key(user_input, key, fragment):
    exc = input_error(user_input)
    assert key in exc.keys, str(exc)
    assert f"input key '{key}'" in str(exc)
    assert fragment in str(exc)


def test_cross_field_problem_is_reported_on_the_key_the_user_wrote():
    assert input_error({"tuning": {"max_parallel_jobs": 5, "max_jobs": 3}}).keys == [
        "tuning.max_parallel_jobs"]
    assert input_error({"tuning": {"max_jobs": 1}}).keys == ["tuning.max_jobs"]


# --- what the use case allows (the state machine's platform values) ------------------------------
def test_a_tuning_objective_the_training_jobs_do_not_report_is_refused():
    exc = input_error({"tuning": {"enabled": True, "objective_metric": "validation:rmse"}})
    assert exc.keys == ["tuning.objective_metric"]
    assert 'not a metric the training jobs of use case "churn" report' in str(exc)
    assert "validation:aucpr" in str(exc)  # the allowed ones are listed
    assert training({"tuning": {"objective_metric": "validation:logloss",
                                "objective_type": "Minimize"}})


def test_a_hyperparameter_the_use_case_pins_cannot_change():
    """A built-in algorithm's objective: the repacked model is served as the use case's."""
    pinned = {**TRAINING_PLATFORM, "objective_metrics": ["validation:auc"],
              "pinned_hyperparameters": {"objective": "binary:logistic"}}
    defaults = copy.deepcopy(TRAINING_DEFAULTS)
    defaults["training"]["hyperparameters"]["objective"] = "binary:logistic"
    ok = training({}, defaults=defaults, platform=pinned)
    assert ok["training"]["hyperparameters"]["objective"] == "binary:logistic"
    for change, key in (("reg:squarederror", "training.hyperparameters.objective"),
                        (None, "training.hyperparameters.objective")):
        exc = error(InvalidPipelineInput, training,
                    {"training": {"hyperparameters": {"objective": change}}},
                    defaults=defaults, platform=pinned)
        assert key in exc.keys, str(exc)
        assert 'use case "churn" needs objective "binary:logistic"' in str(exc)
    # Static tuning hyperparameters are the job's too.
    exc = error(InvalidPipelineInput, training,
                {"tuning": {"static_hyperparameters": {"objective": "reg:linear"}}},
                defaults=defaults, platform=pinned)
    assert exc.keys == ["tuning.static_hyperparameters.objective"]
