"""Early stopping must not leave the model under-fit. With a small learning rate (the low end of
the default tuning range) AUC stops improving after a few dozen trees while the probabilities
still huddle near the base rate: stopped on AUC, that model flagged no churner at all. The
default stops on log loss, which keeps improving until the probabilities are calibrated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime_scripts import contract
from tests.runtime.conftest import Pipeline, ok, run_entry, stage_evaluation, stage_training

SLOW_LEARNING = {"eta": "0.01", "num_round": "1000", "nthread": "1"}


def train_and_evaluate(pipeline: Pipeline, root: Path, hps: dict[str, str]) -> dict:
    stage_training(root, pipeline.root, hps)
    ok(run_entry("train", root=root))
    evaluation = root / "evaluation"
    stage_evaluation(evaluation, contract.MlPaths(root).model,
                     pipeline.ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    ok(run_entry("process", "evaluate", root=evaluation))
    out = contract.MlPaths(evaluation).processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
    return json.loads((out / contract.EVALUATION_FILE).read_text())


@pytest.fixture(scope="module")
def stopped_on_auc(pipeline: Pipeline, tmp_path_factory) -> dict:
    return train_and_evaluate(pipeline, tmp_path_factory.mktemp("auc"),
                              {**SLOW_LEARNING, "eval_metric": "auc"})


def test_the_default_early_stopping_keeps_a_calibrated_model(pipeline: Pipeline, tmp_path: Path,
                                                              stopped_on_auc: dict) -> None:
    default = train_and_evaluate(pipeline, tmp_path, SLOW_LEARNING)
    assert default["model"]["eval_metric"] == "validation:logloss"
    # Stopped on AUC: ranks about as well, yet never predicts churn and is badly calibrated.
    assert stopped_on_auc["metrics"]["recall"] == 0.0
    assert stopped_on_auc["metrics"]["ece"] > 0.1
    assert default["model"]["num_boosted_rounds"] > 5 * stopped_on_auc["model"][
        "num_boosted_rounds"]
    assert default["metrics"]["auc"] >= 0.93
    assert default["metrics"]["recall"] >= 0.7
    assert default["metrics"]["ece"] < 0.05
    assert default["metrics"]["brier"] < stopped_on_auc["metrics"]["brier"] / 2
