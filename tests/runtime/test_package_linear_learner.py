"""`process package` for a model of SageMaker's built-in Linear Learner: its zipped MXNet
checkpoint (model_algo-1: fc0_weight, fc0_bias) becomes the bundle's booster, an XGBoost
gblinear one that predicts exactly link(w . x + b); evaluation scores it against the gate a
stage training with Linear Learner gets, and the shared server's predictor serves it. The
model is made by Linear Learner's local emulation on the session pipeline's churn splits."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import xgboost

from local_runner.stand_ins.builtin_training import train_builtin
from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.manifest import load_manifest
from runtime_scripts.common.model_bundle import is_linear, load_bundle, resolve_model_dir
from runtime_scripts.common.serving.predict import make_predictor
from runtime_scripts.common.tabular import linear_learner
from runtime_scripts.use_cases import testing
from tests.runtime.conftest import Pipeline, ok, run_entry, stage_evaluation
from tests.runtime.test_package import read_split

CHURN = load_manifest("churn").with_builtin("linear-learner")
LINEAR = CHURN.image.builtin_training


@dataclass
class Repacked:
    model_file: Path  # the emulation's model_algo-1
    packaged: Path  # the package job's output folder (model.tar.gz)
    summary: dict


def _package(root: Path, model: Path, pipeline: Pipeline):
    ml = testing.stage_processing(root, {
        contract.PROCESSING_INPUT_MODEL: model,
        contract.PROCESSING_INPUT_TRANSFORM: pipeline.ml.processing_output("transform")})
    return ml, run_entry("process", "package", root=root)


@pytest.fixture(scope="module")
def repacked(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Repacked:
    root = tmp_path_factory.mktemp("linear")
    archive = train_builtin("linear-learner", root / "container", pipeline.root,
                                    LINEAR.hyperparameters, LINEAR.content_type, root / "staged")
    ml, result = _package(root / "package", archive, pipeline)
    return Repacked(root / "container" / "model" / "model_algo-1",
                    ml.processing_output(contract.PROCESSING_OUTPUT_PACKAGED),
                    json.loads(ok(result).stdout.splitlines()[-1]))


def test_the_bundle_predicts_the_logistic_of_the_checkpoints_weights(repacked, pipeline,
                                                                     tmp_path):
    bundle = load_bundle(resolve_model_dir(repacked.packaged, tmp_path), CHURN)
    assert is_linear(bundle.booster) and repacked.summary["best_iteration"] is None
    parameters = linear_learner.read_parameters(repacked.model_file)
    x, _ = read_split(pipeline.ml, contract.PROCESSING_OUTPUT_TEST)
    margin = x @ parameters["fc0_weight"].ravel() + parameters["fc0_bias"][0]
    predicted = bundle.booster.predict(xgboost.DMatrix(x))
    assert predicted == pytest.approx(1 / (1 + np.exp(-margin)), abs=1e-5)
    # The shared server's predictor (in-place prediction is for trees only).
    serve = make_predictor(bundle.booster, x[:4].astype(np.float32))
    assert serve(x[:8].astype(np.float32)) == pytest.approx(predicted[:8], abs=1e-6)


def test_evaluation_scores_it_against_the_linear_models_gate(repacked, pipeline, tmp_path):
    stage_evaluation(tmp_path, repacked.packaged,
                     pipeline.ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    gate = [a for c in CHURN.gate for a in ("--gate", f"{c.metric}{c.comparison}"
                                                      f"{c.threshold!r}")]
    ok(run_entry("process", "evaluate", *gate, root=tmp_path))
    out = contract.MlPaths(tmp_path).processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
    document = json.loads((out / contract.EVALUATION_FILE).read_text())
    assert document["model"]["booster"] == "gblinear" and document["feature_importance"] == []
    assert document["quality_gate"]["passed"], document["quality_gate"]
    assert "a linear model of" in (out / contract.REPORT_FILE).read_text()


def test_a_model_algo_that_is_not_a_zipped_checkpoint_is_named(tmp_path):
    model_file = tmp_path / "model_algo-1"
    model_file.write_bytes(b"\x12\x01" + bytes(30))  # an NDArray file's start (K-Means, PCA)
    with pytest.raises(JobError, match="is not a ZIP archive: built-in Linear Learner saves "
                                       "its MXNet checkpoint zipped"):
        linear_learner.booster_of(model_file, 3, "binary:logistic")


@pytest.mark.parametrize(("weight", "bias", "words"), [
    (np.ones((1, 3)), np.zeros(1), "fc0_weight has shape [1, 3]"),  # another run's width
    (np.ones((2, 4)), np.zeros(2), "fc0_weight has shape [2, 4]"),  # a multiclass model
])
def test_weights_of_another_shape_are_refused(tmp_path, weight, bias, words):
    model_file = tmp_path / "model_algo-1"
    model_file.write_bytes(linear_learner.checkpoint_bytes(weight, bias, {}))
    with pytest.raises(JobError, match=re.escape(words)):
        linear_learner.booster_of(model_file, 4 if weight.shape[0] == 1 else 8,
                                  "binary:logistic")
