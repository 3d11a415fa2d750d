"""`training.builtin_algorithm`: a stage trains a use case with one of the built-in algorithms
its manifest offers (image.builtin_training, the default, or image.builtin_alternatives), and
everything the stage derives follows that choice: image, hyperparameters, tuning, gate, the
pinned hyperparameters and the Debugger rules. Config loads only: no synth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import ConfigError, load_stage_config
from ml_constructs.pipeline_defaults import (
    batch_defaults,
    labels_refusal,
    pinned_hyperparameters,
)
from ml_constructs.training_rules import training_rule_props

LINEAR = {"algorithm": "builtin", "builtin_algorithm": "linear-learner"}


def _load(tmp_path: Path, *entries: dict):
    path = tmp_path / "stage.json"
    path.write_text(json.dumps({"use_cases": list(entries)}))
    return load_stage_config("test", path)


def _error(tmp_path: Path, entry: dict) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, entry)
    return error.value


def test_linear_learner_trains_churn_as_a_binary_classifier_and_ames_as_a_regressor(tmp_path):
    churn, ames = _load(tmp_path, {"name": "churn", "training": LINEAR},
                        {"name": "ames", "training": LINEAR}).use_cases
    for use_case, predictor in ((churn, "binary_classifier"), (ames, "regressor")):
        assert use_case.manifest.image.builtin_training.framework == "linear-learner"
        # Its own names only: the use case's (XGBoost's num_round, eta, ...) would be refused.
        assert use_case.hyperparameters["predictor_type"] == predictor
        assert "num_round" not in use_case.hyperparameters
        assert use_case.static_tuning_hyperparameters["predictor_type"] == predictor
        assert "num_round" not in use_case.static_tuning_hyperparameters
        assert use_case.objective == ("validation:objective_loss", "Minimize")
        assert {r["name"] for r in use_case.manifest.tuning.ranges["continuous"]} == {
            "wd", "l1", "learning_rate"}
        assert pinned_hyperparameters(use_case) == {"predictor_type": predictor}
        # Debugger's built-in rules are XGBoost's: none for Linear Learner, even when asked.
        assert use_case.manifest.training_rules.builtin == ()
    # ames's wd is its default, and a tuned hyperparameter is never also a static one.
    assert ames.hyperparameters["wd"] == "0.01"
    assert "wd" not in ames.static_tuning_hyperparameters
    # churn's gate for a linear model; ames keeps its own.
    assert [(c.metric, c.threshold) for c in churn.gate] == [("auc", 0.8), ("recall", 0.5)]
    assert [(c.metric, c.threshold) for c in ames.gate] == [("r2", 0.8), ("mae", 20000.0)]


def test_the_default_built_in_algorithm_is_unchanged(tmp_path):
    (churn,) = _load(tmp_path, {"name": "churn", "training": {"algorithm": "builtin"}}).use_cases
    assert churn.manifest.image.builtin_training.framework == "xgboost"
    assert churn.hyperparameters["objective"] == "binary:logistic"
    assert "num_round" in churn.hyperparameters
    assert training_rule_props(churn, region="eu-west-1")["sharded_training"] is False


@pytest.mark.parametrize(("training", "words"), [
    ({"algorithm": "builtin", "builtin_algorithm": "kmeans"},
     "'kmeans' is not a built-in algorithm use case 'churn' trains with (it offers xgboost, "
     "linear-learner)"),
    ({"builtin_algorithm": "linear-learner"},
     "names the built-in algorithm to train with: only with algorithm \"builtin\""),
    ({**LINEAR, "hyperparameters": {"predictor_type": "regressor"}},
     "'regressor' is not what use case 'churn' serves"),
])
def test_a_wrong_choice_is_named_with_its_fix(tmp_path, training, words):
    error = _error(tmp_path, {"name": "churn", "training": training})
    assert words in str(error)
    assert error.key.startswith("use_cases[0].training.")


def test_a_batch_served_by_the_builtin_container_refuses_labels_in_its_first_state(tmp_path):
    (served,) = _load(tmp_path, {"name": "personas", "training": {"algorithm": "builtin"},
                                 "serving": {"container": "builtin"},
                                 "monitoring": {"enabled": False}}).use_cases
    assert labels_refusal(served) == (
        "the model is served from built-in kmeans's own container, which answers its own "
        "JSON (closest_cluster, distance_to_cluster) without the rows' ids: the use case's "
        "evaluation job cannot pair its answers with labels")
    (own,) = _load(tmp_path, {"name": "ames", "training": LINEAR}).use_cases
    assert labels_refusal(own) is None


def test_a_batch_through_the_serial_pipeline_sends_raw_csv_and_asks_for_json_lines():
    """The first container takes the use case's raw rows; the built-in answers one JSON line
    per record (a JSON document per request would not split back into records)."""
    config = load_stage_config("pricing")
    (ames,) = config.use_cases
    data = batch_defaults(config, ames, raw_bucket="raw")["data"]
    assert (data["content_type"], data["accept"], data["split_type"]) == (
        "text/csv", "application/jsonlines", "Line")
    dev = load_stage_config("dev")
    assert batch_defaults(dev, dev.use_cases[0], raw_bucket="raw")["data"]["accept"] is None
