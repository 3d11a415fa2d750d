"""The backtest's window split and aggregate jobs (runtime_scripts/common/resampling/), in-process
on real time-ordered data: a house-sales table with year and month columns, its dataset spec
given as the jobs' `config` input with a `time` key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.manifest import load_manifest
from runtime_scripts.common.resampling import periods, window_aggregate, window_split
from runtime_scripts.common.resampling.statistics import SpreadCondition
from runtime_scripts.common.tabular.dataset import DatasetSpec

USE_CASE = "ames"  # a regression use case with time-ordered sample data
MANIFEST = load_manifest(USE_CASE)
DATA = MANIFEST.path(MANIFEST.sample_data)
TIME = {"year": "Year_Sold", "month": "Mo_Sold"}
ARGS = ["--horizon", "6", "--windows", "3", "--gap", "1", "--baseline", "training_median"]


def spec_with_time(time: dict | None = TIME) -> DatasetSpec:
    document = json.loads(MANIFEST.path(MANIFEST.dataset_spec).read_text())
    document.pop("time", None)
    return DatasetSpec.from_dict({**document, **({"time": time} if time else {})})


def run_split(root: Path, args: list[str], spec: DatasetSpec, data: Path = DATA) -> dict:
    paths = contract.MlPaths(root)
    raw = paths.processing_input(contract.PROCESSING_INPUT_RAW)
    raw.mkdir(parents=True)
    (raw / data.name).symlink_to(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ML_USE_CASE", USE_CASE)
        return window_split.split(paths, spec, window_split.parser().parse_args(args))


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> tuple[contract.MlPaths, dict]:
    root = tmp_path_factory.mktemp("split")
    return contract.MlPaths(root), run_split(root, ARGS, spec_with_time())


def sold(frame: pd.DataFrame) -> pd.Series:
    return frame["Year_Sold"].astype(int) * 12 + frame["Mo_Sold"].astype(int) - 1


def test_each_window_trains_strictly_before_its_cutoff_less_the_gap_and_evaluates_its_horizon(
        split):
    paths, plan = split
    assert [w["cutoff"] for w in plan["windows"]] == ["2009-02", "2009-08", "2010-02"]
    items = json.loads((paths.processing_output(contract.PROCESSING_OUTPUT_WINDOW_PLAN)
                        / contract.WINDOW_ITEMS_FILE).read_text())
    assert items == [{"index": w["index"], "cutoff": w["cutoff"]} for w in plan["windows"]]
    for window in plan["windows"]:
        folder = paths.processing_output(contract.PROCESSING_OUTPUT_WINDOWS) / str(
            window["index"])
        train = pd.read_csv(folder / "train" / contract.WINDOW_TRAIN_FILE)
        test = pd.read_csv(folder / "test" / contract.RAW_TEST_FILE)
        cutoff = periods.parse("month", window["cutoff"])
        assert sold(train).max() == cutoff - 2  # the gap of one month is left out
        assert sold(test).min() == cutoff and sold(test).max() == cutoff + 5
        assert sold(test).is_monotonic_increasing  # the order predictions.csv is read in
        assert (len(train), len(test)) == (window["rows"]["train"], window["rows"]["evaluate"])
        assert sum(window["evaluate_rows_per_period"].values()) == len(test)
        assert list(train.columns) == list(pd.read_csv(DATA, nrows=0).columns)
        manifest = json.loads((paths.processing_output(contract.PROCESSING_OUTPUT_WINDOW_PLAN)
                               / contract.window_manifest_file(window["index"])).read_text())
        assert manifest == window


def test_the_split_profiles_the_data_for_the_next_requests_first_state(split):
    paths, _ = split
    profile = json.loads((paths.processing_output(contract.PROCESSING_OUTPUT_DATA_PROFILE)
                          / contract.TIME_PROFILE_FILE).read_text())
    assert profile["files"] == {DATA.name: DATA.stat().st_size}  # as a listing shows them
    assert (profile["time"]["first"], profile["time"]["last"]) == ("2006-01", "2010-07")
    assert sum(profile["time"]["rows_per_period"].values()) == profile["rows"] == 2637


def test_the_declared_baseline_is_scored_on_each_window_from_its_training_rows_alone(split):
    paths, plan = split
    window = plan["windows"][0]
    folder = paths.processing_output(contract.PROCESSING_OUTPUT_WINDOWS) / "0"
    median = pd.read_csv(folder / "train" / contract.WINDOW_TRAIN_FILE)["Sale_Price"].median()
    actual = pd.read_csv(folder / "test" / contract.RAW_TEST_FILE)["Sale_Price"]
    assert window["baseline"]["name"] == "training_median"
    assert window["baseline"]["metrics"]["mae"] == pytest.approx((actual - median).abs().mean())


def test_rows_whose_time_cannot_be_read_fail_the_split_with_their_count(tmp_path):
    broken = tmp_path / "sales.csv"
    frame = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    frame.loc[[3, 7], "Mo_Sold"] = ["13", ""]
    frame.to_csv(broken, index=False)
    with pytest.raises(JobError, match="2 rows have no readable time in columns 'Year_Sold', "
                                       "'Mo_Sold'"):
        run_split(tmp_path / "root", ARGS, spec_with_time(), broken)


def test_data_without_a_time_in_its_spec_cannot_be_split(tmp_path):
    with pytest.raises(JobError, match="has no 'time' key"):
        run_split(tmp_path, ARGS, spec_with_time(None))


def test_windows_that_do_not_fit_the_data_fail_the_split_naming_the_key(tmp_path):
    with pytest.raises(JobError, match=r"backtest key 'windows'.*\(allowed: 2 \.\. 8\)"):
        run_split(tmp_path, ["--horizon", "6", "--windows", "9"], spec_with_time())


# --- aggregate: known predictions, known answers ------------------------------------------------
def write_evaluations(paths: contract.MlPaths, plan: dict, miss: list[float]) -> None:
    """Each window's predictions off by `miss[k]` on every row, the evaluation it implies."""
    root = paths.processing_input(contract.PROCESSING_INPUT_EVALUATIONS)
    for window, error in zip(plan["windows"], miss, strict=True):
        rows = window["rows"]["evaluate"]
        y = np.linspace(100_000, 300_000, rows)
        folder = root / str(window["index"])
        folder.mkdir(parents=True)
        np.savetxt(folder / contract.PREDICTIONS_FILE, np.column_stack([y, y + error]),
                   delimiter=",", header="actual,predicted", comments="")
        r2 = 1 - error**2 / y.var()
        (folder / contract.EVALUATION_FILE).write_text(json.dumps(
            {"metrics": {"rmse": abs(error), "mae": abs(error), "r2": r2}}))


def test_the_aggregate_scores_each_window_the_windows_together_and_the_rows_by_age(
        split, tmp_path):
    split_paths, plan = split
    paths = contract.MlPaths(tmp_path)
    plan_input = paths.processing_input(contract.PROCESSING_INPUT_WINDOW_PLAN)
    shutil.copytree(split_paths.processing_output(contract.PROCESSING_OUTPUT_WINDOW_PLAN),
                    plan_input)
    write_evaluations(paths, plan, [10_000.0, 20_000.0, 30_000.0])
    gate = [SpreadCondition.parse(text, MANIFEST) for text in ("mae:mean<=15000",
                                                                "r2:std<=0.05")]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ML_USE_CASE", USE_CASE)
        document = window_aggregate.aggregate(paths, gate, MANIFEST)
    mae = document["summary"]["mae"]
    assert document["metrics"]["mae"] == pytest.approx(20_000.0) == mae["mean"]
    assert (mae["min"], mae["max"], mae["std"]) == pytest.approx((10_000, 30_000, 10_000))
    assert mae["trend"] == pytest.approx(10_000.0)  # each later window misses by 10,000 more
    rows = [w["rows"]["evaluate"] for w in plan["windows"]]
    assert mae["pooled"] == pytest.approx(np.average([10_000, 20_000, 30_000], weights=rows))
    assert mae["windows_beating_baseline"] == 3  # the median misses by far more
    ages = document["by_age"]
    assert [a["age"] for a in ages] == [1, 2, 3, 4, 5, 6]
    assert sum(a["rows"] for a in ages) == sum(rows)
    assert not document["quality_gate"]["passed"]
    assert document["quality_gate"]["failed"].startswith("mae:mean 20000.0000 is not <= 15000")


def test_an_evaluation_of_another_window_is_refused(split, tmp_path):
    split_paths, plan = split
    paths = contract.MlPaths(tmp_path)
    shutil.copytree(split_paths.processing_output(contract.PROCESSING_OUTPUT_WINDOW_PLAN),
                    paths.processing_input(contract.PROCESSING_INPUT_WINDOW_PLAN))
    write_evaluations(paths, plan, [1.0, 2.0, 3.0])
    first = paths.processing_input(contract.PROCESSING_INPUT_EVALUATIONS) / "0"
    shutil.copy(first.parent / "1" / contract.PREDICTIONS_FILE, first)
    with pytest.raises(JobError, match="window 0: .* predictions for .* evaluated rows"):
        window_aggregate.aggregate(paths, [], MANIFEST)
