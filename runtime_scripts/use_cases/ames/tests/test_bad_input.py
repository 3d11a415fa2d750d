"""What the ames use case refuses, and how it says so: a spec, a target, hyperparameters,
options and gate conditions that make sense for a classifier only, and a classifier's model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost

from runtime_scripts import contract
from runtime_scripts.common.tabular import hyperparameters
from runtime_scripts.common.tabular.task import task_for
from runtime_scripts.use_cases.ames.manifest import MANIFEST
from runtime_scripts.use_cases.ames.tests.conftest import AmesRun, entry
from runtime_scripts.use_cases.testing import stage_evaluation

SPEC = json.loads(MANIFEST.path(MANIFEST.dataset_spec).read_text())
TASK = task_for(MANIFEST.problem_type)


def failure(result, ml: contract.MlPaths) -> str:
    """The one line a failed job leaves for SageMaker (and prints), with no traceback."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return ml.exit_message.read_text()


def preprocess(tmp_path: Path, frame: pd.DataFrame, spec: dict | None = None) -> str:
    ml = contract.MlPaths(tmp_path)
    raw = ml.processing_input(contract.PROCESSING_INPUT_RAW)
    raw.mkdir(parents=True)
    frame.to_csv(raw / "sales.csv", index=False)
    args = []
    if spec is not None:
        (tmp_path / "spec.json").write_text(json.dumps(spec))
        args = ["--dataset-spec", str(tmp_path / "spec.json")]
    return failure(entry("process", "preprocess", *args, root=tmp_path), ml)


@pytest.fixture(scope="module")
def sales() -> pd.DataFrame:
    return pd.read_csv(MANIFEST.path(MANIFEST.sample_data), dtype=str,
                       keep_default_na=False).iloc[:300]


def test_a_spec_with_class_labels_is_not_a_regression_spec(sales, tmp_path) -> None:
    reason = preprocess(tmp_path, sales, {**SPEC, "positive_label": "high",
                                          "negative_label": "low"})
    assert "describes a binary_classification target but use case 'ames' is regression" in \
        reason and "remove 'positive_label' and 'negative_label'" in reason


def test_a_target_that_is_not_a_number_is_named_with_an_example(sales, tmp_path) -> None:
    broken = sales.copy()
    broken.loc[[3, 7], "Sale_Price"] = "about 200k"
    reason = preprocess(tmp_path, broken)
    assert "Sale_Price (2 rows, e.g. 'about 200k': must be a number)" in reason


def test_a_target_that_never_varies_leaves_nothing_to_learn(sales, tmp_path) -> None:
    reason = preprocess(tmp_path, sales.assign(Sale_Price="100000"))
    assert "target 'Sale_Price' takes fewer than two distinct values" in reason


@pytest.mark.parametrize(("raw", "words"), [
    ({"decision_threshold": "0.4"}, "'decision_threshold' is for binary_classification only"),
    ({"scale_pos_weight": "3"}, "'scale_pos_weight' is for binary_classification only"),
    ({"eval_metric": "auc"}, "must be one of ['rmse', 'mae'] for regression, got 'auc'"),
])
def test_classification_hyperparameters_are_refused(raw, words) -> None:
    with pytest.raises(hyperparameters.HyperparameterError) as caught:
        hyperparameters.parse(raw, TASK)
    assert words in str(caught.value)


def test_early_stopping_defaults_to_rmse_for_a_regression() -> None:
    assert hyperparameters.parse({}, TASK).eval_metric == "rmse"
    assert hyperparameters.parse({"eval_metric": "mae"}, TASK).eval_metric == "mae"


@pytest.mark.parametrize(("args", "words"), [
    (["--threshold", "0.5"], "a regression model has none"),
    (["--gate", "mae>=1000"], "mae is better when lower, so '>=' would pass worse models"),
    (["--gate", "r2>=2"], "threshold 2 is outside the range of r2"),
    (["--gate", "auc>=0.9"], "unknown metric 'auc' (use case 'ames' gates on rmse, mae, r2)"),
])
def test_evaluation_refuses_classifier_options(ames: AmesRun, tmp_path, args, words) -> None:
    stage_evaluation(tmp_path, ames.ml.model,
                     ames.ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    reason = failure(entry("process", "evaluate", *args, root=tmp_path),
                     contract.MlPaths(tmp_path))
    assert words in reason, reason


def test_a_classifier_is_not_evaluated_as_a_house_price_model(ames: AmesRun, tmp_path) -> None:
    """A bundle like ames's own but for its booster: a classifier of dear and cheap houses."""
    bundle = tmp_path / "classifier"
    shutil.copytree(ames.ml.model, bundle)
    split = pd.read_csv(ames.ml.processing_output("train") / contract.SPLIT_FILE, header=None)
    data = xgboost.DMatrix(split.iloc[:, 1:].to_numpy(np.float32),
                           label=split[0] > split[0].median())
    xgboost.train({"objective": "binary:logistic", "nthread": 1}, data, 2).save_model(
        bundle / contract.MODEL_FILE)
    stage_evaluation(tmp_path / "root", bundle,
                     ames.ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    reason = failure(entry("process", "evaluate", root=tmp_path / "root"),
                     contract.MlPaths(tmp_path / "root"))
    assert "is a binary_classification model (objective binary:logistic), but use case " \
           "'ames' is regression" in reason
