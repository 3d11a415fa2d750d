"""Cross-validation's jobs in-process on small data: the folds (stratified, grouped, seeded),
the split job's refusals, a fold's preprocessing around its held-out rows, and the statistics
and gate of the aggregate job."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.manifest import USE_CASE_ENV, load_manifest
from runtime_scripts.common.resampling import split as split_job
from runtime_scripts.common.resampling.folds import FoldError, assign_folds
from runtime_scripts.common.resampling.statistics import (
    SpreadCondition,
    judge,
    registry_metadata,
    summarise,
)
from runtime_scripts.common.tabular import preprocess
from runtime_scripts.common.tabular.dataset import DatasetSpec

REPO = Path(__file__).resolve().parents[2]
CHURN = REPO / "runtime_scripts" / "use_cases" / "churn"
SAMPLE = CHURN / "sample_data" / "local_run" / "mlc_churn_train.csv"


def test_stratified_folds_keep_the_class_balance_and_each_row_is_held_out_once():
    labels = np.array(["yes"] * 30 + ["no"] * 170)
    fold_of = assign_folds(5, 7, n_rows=200, labels=labels)
    assert sorted(set(fold_of.tolist())) == list(range(5))
    assert [int((labels[fold_of == k] == "yes").sum()) for k in range(5)] == [6] * 5
    assert np.array_equal(fold_of, assign_folds(5, 7, n_rows=200, labels=labels))  # seeded
    assert not np.array_equal(fold_of, assign_folds(5, 8, n_rows=200, labels=labels))


def test_a_group_is_held_out_whole_in_one_fold():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 40, size=300)
    labels = np.where(rng.random(300) < 0.2, "yes", "no")
    for fold_of in (assign_folds(4, 1, n_rows=300, groups=groups),
                    assign_folds(4, 1, n_rows=300, labels=labels, groups=groups)):
        for group in set(groups.tolist()):
            assert len(set(fold_of[groups == group].tolist())) == 1


@pytest.mark.parametrize(("kwargs", "says"), [
    ({"labels": np.array(["a"] * 3 + ["b"] * 97)},
     "cross_validation.folds 5 is more than the 3 rows of class 'a': every fold must hold out "
     "rows of every class (allowed: 2 .. 3)"),
    ({"groups": np.arange(100) % 4}, "is more than the 4 groups of the data"),
])
def test_folds_the_data_cannot_fill_are_refused_naming_the_key_and_the_range(kwargs, says):
    with pytest.raises(FoldError, match="cross_validation.folds") as error:
        assign_folds(5, 1, n_rows=100, **kwargs)
    assert says in str(error.value)


def _job_root(tmp_path: Path, monkeypatch, rows: pd.DataFrame) -> contract.MlPaths:
    monkeypatch.setenv(USE_CASE_ENV, "churn")
    paths = contract.MlPaths(tmp_path)
    raw = paths.processing_input(contract.PROCESSING_INPUT_RAW)
    raw.mkdir(parents=True)
    rows.to_csv(raw / "data.csv", index=False)
    return paths


def test_the_split_job_writes_each_fold_and_the_list_the_map_reads(tmp_path, monkeypatch):
    rows = pd.read_csv(SAMPLE, dtype=str).head(400)
    paths = _job_root(tmp_path, monkeypatch, rows)
    summary = split_job.split(paths, 4, 3, "customer_id", "s3://raw/churn/")
    root = paths.processing_output(contract.PROCESSING_OUTPUT_FOLDS)
    items = json.loads((root / contract.FOLD_LIST_FILE).read_text())
    assert items == summary["folds"] and [i["fold"] for i in items] == [0, 1, 2, 3]
    held = [set(pd.read_csv(root / str(k) / "holdout" / "data.csv")["customer_id"])
            for k in range(4)]
    assert set().union(*held) == set(rows["customer_id"].astype(int))
    assert sum(map(len, held)) == len(rows)  # disjoint
    train0 = set(pd.read_csv(root / "0" / "train" / "data.csv")["customer_id"])
    assert not train0 & held[0]
    spec = DatasetSpec.load(root / "0" / "config" / contract.DATASET_SPEC_FILE)
    assert spec.target == "churn"
    profile = json.loads((paths.processing_output("profile") / contract.DATA_PROFILE_FILE
                          ).read_text())
    assert profile["data_s3_uri"] == "s3://raw/churn/" and profile["rows"] == 400


def test_the_split_job_refuses_a_group_column_the_spec_lacks(tmp_path, monkeypatch):
    paths = _job_root(tmp_path, monkeypatch, pd.read_csv(SAMPLE, dtype=str).head(50))
    with pytest.raises(JobError, match="cross_validation.group_column 'zip' is not a column"):
        split_job.split(paths, 3, 1, "zip")


def test_a_folds_preprocessing_scores_its_held_out_rows_and_splits_the_rest(tmp_path,
                                                                            monkeypatch):
    rows = pd.read_csv(SAMPLE, dtype=str).head(600)
    paths = _job_root(tmp_path, monkeypatch, rows.iloc[:480])
    holdout = paths.processing_input(contract.PROCESSING_INPUT_HOLDOUT)
    holdout.mkdir(parents=True)
    rows.iloc[480:].to_csv(holdout / "data.csv", index=False)
    summary = preprocess.preprocess(paths, DatasetSpec.load(CHURN / "dataset.json"))
    splits = summary["splits"]
    assert splits["test"]["rows"] == 120  # exactly the held-out rows
    assert splits["train"]["rows"] + splits["validation"]["rows"] == 480
    test = pd.read_csv(paths.processing_output("test") / contract.RAW_TEST_FILE, dtype=str)
    assert test["account_length"].tolist() == rows.iloc[480:]["account_length"].tolist()


def test_statistics_over_folds_and_the_gate_on_mean_and_spread():
    stats = summarise([0.90, 0.92, 0.94, 0.91, 0.93])
    assert stats["mean"] == pytest.approx(0.92) and stats["std"] == pytest.approx(0.0158114, 1e-5)
    # Student's t with 4 degrees of freedom: 2.776 * std / sqrt(5).
    assert stats["ci95_high"] - stats["mean"] == pytest.approx(2.7764 * 0.0158114 / 5 ** 0.5,
                                                                 1e-3)
    manifest = load_manifest("churn")
    conditions = [SpreadCondition.parse(t, manifest) for t in ("auc:mean>=0.85",
                                                                "auc:std<=0.01")]
    verdict = judge(conditions, {"auc": stats})
    assert verdict["passed"] is False
    assert verdict["failed"] == "auc:std 0.0158 is not <= 0.01"


def test_the_statistics_a_final_model_records_fit_create_model_packages_limits():
    """`cv.<metric>` values: letters, digits, spaces and _.:/=+-@ only (no JSON), at most 256
    characters, at most CV_METADATA_METRICS_MAX keys, even for extreme values."""
    tiny = summarise([-1.23456789e-300, 2.5e-300, -9.87654321e-301])
    metrics = {f"metric_{i}": tiny if i % 2 else summarise([1e150, -1e150, 3e149])
               for i in range(contract.CV_METADATA_METRICS_MAX + 5)}
    metadata = registry_metadata(metrics)
    assert list(metadata) == [f"cv.metric_{i}" for i in range(contract.CV_METADATA_METRICS_MAX)]
    for key, value in metadata.items():
        assert len(key) <= contract.MODEL_PACKAGE_METADATA_KEY_MAX
        assert 0 < len(value) <= contract.MODEL_PACKAGE_METADATA_VALUE_MAX
        assert contract.MODEL_PACKAGE_METADATA_PATTERN.match(key), key
        assert contract.MODEL_PACKAGE_METADATA_PATTERN.match(value), value
    assert registry_metadata({"auc": summarise([0.9, 0.92, 0.94])})["cv.auc"] == \
        "mean=0.92 std=0.02 ci95_low=0.870317 ci95_high=0.969683 min=0.9 max=0.94 folds=3"


@pytest.mark.parametrize(("text", "says"), [
    ("auc:std>=0.01", "bounded from above"),
    ("log_loss:mean>=0.1", "would pass worse models"),
    ("auc:median>=0.8", "statistics: mean, std, min, max"),
])
def test_gate_conditions_on_statistics_are_checked_against_the_manifest(text, says):
    with pytest.raises(JobError, match=says):
        SpreadCondition.parse(text, load_manifest("churn"))
