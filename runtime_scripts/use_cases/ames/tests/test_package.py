"""`process package` for ames: a model of SageMaker's built-in XGBoost (objective
reg:squarederror, as the manifest asks for it) becomes this image's bundle and passes the gate;
a classifier's, or a decision threshold, is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost

from local_runner.stand_ins.builtin_training import train_builtin
from runtime_scripts import contract
from runtime_scripts.common.model_bundle import load_bundle, resolve_model_dir
from runtime_scripts.use_cases.ames.manifest import MANIFEST
from runtime_scripts.use_cases.ames.tests.conftest import AmesRun, entry, gate_arguments
from runtime_scripts.use_cases.ames.tests.test_bad_input import failure
from runtime_scripts.use_cases.testing import (
    make_model_archive,
    ok,
    stage_evaluation,
    stage_processing,
)

# What the built-in algorithm writes is UBJSON without a suffix, as this test means to.
pytestmark = pytest.mark.filterwarnings("ignore:.*Saving model in the UBJSON format")

BUILTIN = MANIFEST.image.builtin_training


def stage_package(root, model, transform) -> contract.MlPaths:
    return stage_processing(root, {contract.PROCESSING_INPUT_MODEL: model,
                                   contract.PROCESSING_INPUT_TRANSFORM: transform})


def packaged_archive(ml: contract.MlPaths) -> Path:
    packaged = ml.processing_output(contract.PROCESSING_OUTPUT_PACKAGED)
    return packaged / contract.PACKAGED_MODEL_ARCHIVE


def builtin_model(ames: AmesRun, into, params: dict) -> None:
    """What the built-in algorithm writes: `xgboost-model` (UBJSON) in model.tar.gz, trained
    with early stopping on the same encoded splits."""
    def split(name: str) -> xgboost.DMatrix:
        frame = pd.read_csv(ames.ml.processing_output(name) / contract.SPLIT_FILE, header=None)
        return xgboost.DMatrix(frame.iloc[:, 1:].to_numpy(np.float32), label=frame[0])

    booster = xgboost.train({**params, "max_depth": 5, "eta": 0.1, "nthread": 1, "seed": 0},
                            split("train"), num_boost_round=1000,
                            evals=[(split("validation"), "validation")],
                            early_stopping_rounds=20, verbose_eval=False)
    folder = into / "builtin"
    folder.mkdir()
    booster.save_model(folder / contract.BUILTIN_MODEL_FILE)
    make_model_archive(folder, into / "staged")


def test_a_builtin_regression_model_is_repacked_and_passes_the_gate(ames: AmesRun,
                                                                    tmp_path) -> None:
    assert BUILTIN is not None
    builtin_model(ames, tmp_path, BUILTIN.hyperparameters)
    ml = stage_package(tmp_path / "root", tmp_path / "staged",
                       ames.ml.processing_output(contract.PROCESSING_OUTPUT_TRANSFORM))
    summary = json.loads(ok(entry("process", "package", root=ml.root)).stdout.splitlines()[-1])
    assert "decision_threshold" not in summary and summary["best_iteration"] is not None
    bundle = load_bundle(resolve_model_dir(packaged_archive(ml).parent, tmp_path / "bundle"))
    assert bundle.task.problem_type == "regression" and bundle.threshold is None
    stage_evaluation(tmp_path / "eval", packaged_archive(ml).parent,
                     ames.ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    ok(entry("process", "evaluate", *gate_arguments(), root=tmp_path / "eval"))
    out = contract.MlPaths(tmp_path / "eval").processing_output(
        contract.PROCESSING_OUTPUT_EVALUATION)
    assert json.loads((out / contract.EVALUATION_FILE).read_text())["quality_gate"]["passed"]


def test_a_builtin_classifier_is_refused(ames: AmesRun, tmp_path) -> None:
    frame = pd.read_csv(ames.ml.processing_output("train") / contract.SPLIT_FILE, header=None)
    data = xgboost.DMatrix(frame.iloc[:, 1:].to_numpy(np.float32),
                           label=frame[0] > frame[0].median())  # dear or cheap
    folder = tmp_path / "builtin"
    folder.mkdir()
    xgboost.train({"objective": "binary:logistic", "nthread": 1}, data, 2).save_model(
        folder / contract.BUILTIN_MODEL_FILE)
    ml = stage_package(tmp_path / "root", make_model_archive(folder, tmp_path / "staged"),
                       ames.ml.processing_output(contract.PROCESSING_OUTPUT_TRANSFORM))
    assert ("objective 'binary:logistic': use case 'ames' is regression, whose models are "
            "trained with reg:squarederror; set the hyperparameter objective=reg:squarederror"
            ) in failure(entry("process", "package", root=ml.root), ml)


def test_a_decision_threshold_is_refused_before_any_model_is_read(ames: AmesRun,
                                                                 tmp_path) -> None:
    (tmp_path / "staged").mkdir()
    ml = stage_package(tmp_path / "root", tmp_path / "staged",
                       ames.ml.processing_output(contract.PROCESSING_OUTPUT_TRANSFORM))
    result = entry("process", "package", "--decision-threshold", "0.4", root=ml.root)
    assert "--decision-threshold labels a classifier's probabilities" in failure(result, ml)


def test_a_builtin_linear_learner_regressor_is_repacked_and_passes_the_gate(ames: AmesRun,
                                                                          tmp_path) -> None:
    """training.builtin_algorithm "linear-learner": its emulation trains on the same splits,
    `process package` repacks its checkpoint, evaluation judges it by the use case's gate."""
    linear = MANIFEST.with_builtin("linear-learner")
    builtin = linear.image.builtin_training
    assert builtin.hyperparameters["predictor_type"] == "regressor" and linear.gate == MANIFEST.gate
    staged = train_builtin("linear-learner", tmp_path / "container", ames.root,
                           builtin.hyperparameters, builtin.content_type, tmp_path / "staged")
    ml = stage_package(tmp_path / "root", staged,
                       ames.ml.processing_output(contract.PROCESSING_OUTPUT_TRANSFORM))
    summary = json.loads(ok(entry("process", "package", root=ml.root)).stdout.splitlines()[-1])
    assert summary["rounds"] == 1 and "decision_threshold" not in summary
    stage_evaluation(tmp_path / "eval", packaged_archive(ml).parent,
                     ames.ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    ok(entry("process", "evaluate", *gate_arguments(linear.gate), root=tmp_path / "eval"))
    out = contract.MlPaths(tmp_path / "eval").processing_output(
        contract.PROCESSING_OUTPUT_EVALUATION)
    document = json.loads((out / contract.EVALUATION_FILE).read_text())
    assert document["model"]["booster"] == "gblinear"
    assert document["quality_gate"]["passed"], document["quality_gate"]
