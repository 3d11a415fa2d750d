"""`process package`: a SageMaker built-in XGBoost model repacked into the runtime image's bundle.

The built-in model is made the way SageMaker's XGBoost 3.0 container makes it: `xgb.train` on the
header-less, label-first CSV splits preprocessing writes, with a validation watchlist and early
stopping, then `save_model(".../xgboost-model")` (UBJSON) tarred into model.tar.gz.
"""

from __future__ import annotations

import json
import pickle
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost

from runtime_scripts import contract
from runtime_scripts.common.model_bundle import load_bundle, resolve_model_dir
from tests.runtime.conftest import (
    Pipeline,
    make_model_archive,
    ok,
    run_entry,
    stage_evaluation,
)

# The built-in container saves "xgboost-model" without an extension: UBJSON, with a warning.
pytestmark = pytest.mark.filterwarnings("ignore:.*Saving model in the UBJSON format:UserWarning")
# `save_model("xgboost-model")` by XGBoost 1.7.6, as SageMaker's XGBoost 1.7-1 container saves it
# (5 rounds, 4 features): XGBoost's legacy binary format.
LEGACY_BINARY_MODEL = Path(__file__).parent / "fixtures" / "xgboost-1.7.6-legacy-binary-model"
# What the platform's builtin defaults send (config/settings.py), on one thread.
BUILTIN_PARAMS = {"objective": "binary:logistic", "eval_metric": "auc", "max_depth": 5,
                  "eta": 0.1, "nthread": 1, "seed": 0}


def read_split(ml: contract.MlPaths, name: str) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(ml.processing_output(name) / contract.SPLIT_FILE, header=None,
                        dtype=np.float32)
    return frame.iloc[:, 1:].to_numpy(), frame.iloc[:, 0].to_numpy()


@dataclass
class BuiltinModel:
    booster: xgboost.Booster
    staged: Path  # a directory holding model.tar.gz, as a processing input stages it


@pytest.fixture(scope="module")
def builtin(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> BuiltinModel:
    x_train, y_train = read_split(pipeline.ml, contract.PROCESSING_OUTPUT_TRAIN)
    x_valid, y_valid = read_split(pipeline.ml, contract.PROCESSING_OUTPUT_VALIDATION)
    dtrain = xgboost.DMatrix(x_train, label=y_train)
    dvalid = xgboost.DMatrix(x_valid, label=y_valid)
    booster = xgboost.train(BUILTIN_PARAMS, dtrain, num_boost_round=300,
                            evals=[(dtrain, "train"), (dvalid, "validation")],
                            early_stopping_rounds=20, verbose_eval=False)
    model_dir = tmp_path_factory.mktemp("builtin-model")
    booster.save_model(model_dir / contract.BUILTIN_MODEL_FILE)  # no extension: UBJSON
    staged = make_model_archive(model_dir, tmp_path_factory.mktemp("builtin-staged"))
    return BuiltinModel(booster, staged)


def stage_package(root: Path, model: Path, transform: Path) -> contract.MlPaths:
    ml = contract.MlPaths(root)
    for name, source in ((contract.PROCESSING_INPUT_MODEL, model),
                         (contract.PROCESSING_INPUT_TRANSFORM, transform)):
        target = ml.processing_input(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(source, target_is_directory=source.is_dir())
    return ml


def packaged_archive(ml: contract.MlPaths) -> Path:
    return (ml.processing_output(contract.PROCESSING_OUTPUT_PACKAGED)
            / contract.PACKAGED_MODEL_ARCHIVE)


@pytest.fixture(scope="module")
def packaged(pipeline: Pipeline, builtin: BuiltinModel,
             tmp_path_factory: pytest.TempPathFactory) -> contract.MlPaths:
    root = tmp_path_factory.mktemp("package")
    ml = stage_package(root, builtin.staged,
                       pipeline.ml.processing_output(contract.PROCESSING_OUTPUT_TRANSFORM))
    result = ok(run_entry("process", "package", root=root))
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["best_iteration"] == builtin.booster.best_iteration
    return ml


def test_packaged_bundle_predicts_as_the_builtin_model_on_the_test_split(
        pipeline: Pipeline, builtin: BuiltinModel, packaged: contract.MlPaths,
        tmp_path: Path) -> None:
    archive = packaged_archive(packaged)
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == sorted(
            [contract.MODEL_FILE, contract.TRANSFORM_FILE, contract.FEATURE_SCHEMA_FILE])
    bundle = load_bundle(resolve_model_dir(archive.parent, tmp_path / "extracted"))
    assert bundle.threshold == 0.5
    assert bundle.schema["target"] == bundle.transform.target

    x_test, _ = read_split(pipeline.ml, contract.PROCESSING_OUTPUT_TEST)
    best = builtin.booster.best_iteration
    expected = builtin.booster.predict(xgboost.DMatrix(x_test), iteration_range=(0, best + 1))
    actual = bundle.booster.predict(xgboost.DMatrix(x_test))
    np.testing.assert_array_equal(actual, expected)
    # Early stopping kept going past the best round; the bundle holds the best round only.
    assert builtin.booster.num_boosted_rounds() > best + 1
    assert bundle.booster.num_boosted_rounds() == best + 1
    assert bundle.booster.attr("best_iteration") == str(best)


def test_evaluation_scores_the_packaged_bundle_like_a_trained_one(
        pipeline: Pipeline, packaged: contract.MlPaths, tmp_path: Path) -> None:
    stage_evaluation(tmp_path, packaged_archive(packaged).parent,
                     pipeline.ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    ok(run_entry("process", "evaluate", root=tmp_path))
    out = contract.MlPaths(tmp_path).processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
    doc = json.loads((out / contract.EVALUATION_FILE).read_text())
    assert doc["data"]["source"] == "raw"  # raw rows through the packaged transform
    assert doc["metrics"]["auc"] >= 0.90


def test_an_extracted_builtin_model_directory_is_accepted(
        pipeline: Pipeline, builtin: BuiltinModel, tmp_path: Path) -> None:
    extracted = tmp_path / "extracted"
    with tarfile.open(builtin.staged / "model.tar.gz") as tar:
        tar.extractall(extracted, filter="data")
    ml = stage_package(tmp_path / "root", extracted,
                       pipeline.ml.processing_output(contract.PROCESSING_OUTPUT_TRANSFORM))
    ok(run_entry("process", "package", "--decision-threshold", "0.4", root=tmp_path / "root"))
    bundle = load_bundle(resolve_model_dir(packaged_archive(ml), tmp_path / "bundle"))
    assert bundle.threshold == 0.4


# --- bad inputs ----------------------------------------------------------------------------------
def _pickled(booster: xgboost.Booster, into: Path) -> None:
    (into / contract.BUILTIN_MODEL_FILE).write_bytes(pickle.dumps(booster))


def _legacy_binary(booster: xgboost.Booster, into: Path) -> None:
    shutil.copyfile(LEGACY_BINARY_MODEL, into / contract.BUILTIN_MODEL_FILE)


def _regression(booster: xgboost.Booster, into: Path) -> None:
    x = np.random.default_rng(0).random((50, booster.num_features()), dtype=np.float32)
    reg = xgboost.train({"nthread": 1}, xgboost.DMatrix(x, label=x[:, 0]), num_boost_round=2)
    reg.save_model(into / contract.BUILTIN_MODEL_FILE)  # the built-in default objective


def _our_bundle(booster: xgboost.Booster, into: Path) -> None:
    booster.save_model(into / contract.MODEL_FILE)


def _other_width(booster: xgboost.Booster, into: Path) -> None:
    x = np.random.default_rng(0).random((50, 3), dtype=np.float32)
    narrow = xgboost.train({"objective": "binary:logistic", "nthread": 1},
                           xgboost.DMatrix(x, label=x[:, 0] > 0.5), num_boost_round=2)
    narrow.save_model(into / contract.BUILTIN_MODEL_FILE)


@pytest.mark.parametrize(("write", "message"), [
    (_pickled, "is a Python pickle"),
    (_legacy_binary, "legacy binary format"),
    (_regression, "objective 'reg:squarederror'"),
    (_our_bundle, "already a bundle"),
    (_other_width, "expects 3 features"),
])
def test_unusable_builtin_models_fail_with_one_clear_line_and_write_nothing(
        pipeline: Pipeline, builtin: BuiltinModel, tmp_path: Path,
        write: Callable[[xgboost.Booster, Path], None], message: str) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    write(builtin.booster, model_dir)
    staged = make_model_archive(model_dir, tmp_path / "staged")
    ml = stage_package(tmp_path / "root", staged,
                       pipeline.ml.processing_output(contract.PROCESSING_OUTPUT_TRANSFORM))
    result = run_entry("process", "package", root=tmp_path / "root")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    reason = ml.exit_message.read_text()
    assert reason.startswith("packaging failed: ") and message in reason, reason
    assert "\n" not in reason
    assert not packaged_archive(ml).exists()


def test_this_xgboost_cannot_load_the_legacy_format_hence_builtin_3_0() -> None:
    """Why ml_constructs/runtime_image.py picks built-in XGBoost 3.0-5 and not 1.7-1."""
    with pytest.raises(xgboost.core.XGBoostError, match="binary format"):
        xgboost.Booster().load_model(LEGACY_BINARY_MODEL)


def test_missing_transform_names_the_file(builtin: BuiltinModel, tmp_path: Path) -> None:
    empty = tmp_path / "transform"
    empty.mkdir()
    ml = stage_package(tmp_path / "root", builtin.staged, empty)
    result = run_entry("process", "package", root=tmp_path / "root")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{contract.TRANSFORM_FILE} does not exist" in ml.exit_message.read_text()
    assert not packaged_archive(ml).exists()


def test_missing_model_input_says_what_to_map(tmp_path: Path) -> None:
    result = run_entry("process", "package", root=tmp_path)
    assert result.returncode == 1
    assert "ModelArtifacts.S3ModelArtifacts" in contract.MlPaths(tmp_path).exit_message.read_text()
