"""The backtest for a use case whose dataset spec is its own format and whose evaluation scores
its windows itself (the manifest's backtest_setup.time and scored_by="evaluation", e.g. a
forecasting use case): the window split cuts the rows by the manifest's time alone and hands the
spec on unchanged; the aggregate takes each window's metrics and its declared baseline's from
the window's evaluation.json. In-process, on ames's time-ordered sample data under a manifest
changed to say so."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pandas as pd
import pytest

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.manifest import (
    BacktestSetup,
    ManifestError,
    Resampling,
    load_manifest,
)
from runtime_scripts.common.resampling import window_aggregate, window_split
from runtime_scripts.common.resampling.statistics import SpreadCondition
from runtime_scripts.common.resampling.window_report import render

AMES = load_manifest("ames")
TIME = {"year": "Year_Sold", "month": "Mo_Sold"}
OWN = dataclasses.replace(AMES, backtest_setup=BacktestSetup(
    baseline="own_naive", time=TIME, scored_by="evaluation",
    window_evaluation_arguments=("--windows", "1")))
SPEC = {"name": "sales of its own format", "series": ["Neighborhood"], "anything": [1, 2]}
ARGS = ["--horizon", "6", "--windows", "2", "--baseline", "own_naive"]


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    root = tmp_path_factory.mktemp("own-format")
    paths = contract.MlPaths(root)
    data = pd.read_csv(AMES.path(AMES.sample_data))
    data.loc[0, "Sale_Price"] = None  # its own preprocessing decides what that means
    raw = paths.processing_input(contract.PROCESSING_INPUT_RAW)
    raw.mkdir(parents=True)
    data.to_csv(raw / "sales.csv", index=False)
    config = paths.processing_input(contract.PROCESSING_INPUT_CONFIG)
    config.mkdir(parents=True)
    (config / "spec.json").write_text(json.dumps(SPEC))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(window_split, "current_use_case", lambda: OWN)
        spec = window_split.own_format_spec(None, paths, TIME)
        plan = window_split.split(paths, spec, window_split.parser().parse_args(ARGS))
    return paths, plan, len(data)


def test_the_rows_are_cut_by_the_manifests_time_and_the_spec_handed_on_unchanged(split):
    paths, plan, rows = split
    assert plan["dataset"] == SPEC["name"] and plan["data"]["rows"] == rows
    assert plan["data"]["rows_without_target"] == 0  # every row kept
    assert [w["cutoff"] for w in plan["windows"]] == ["2009-08", "2010-02"]
    assert all(w["baseline"] is None for w in plan["windows"])  # its evaluation scores it
    handed = paths.processing_output(contract.PROCESSING_OUTPUT_WINDOW_SPEC)
    assert json.loads((handed / contract.DATASET_SPEC_FILE).read_text()) == SPEC


def _evaluations(paths, plan, baseline: bool = True) -> None:
    for k, window in enumerate(plan["windows"]):
        folder = paths.processing_input(contract.PROCESSING_INPUT_EVALUATIONS) / str(
            window["index"])
        folder.mkdir(parents=True)
        document = {"metrics": {"rmse": 10.0 + k, "mae": 8.0 + 2 * k, "r2": 0.9}}
        if baseline:
            document["baselines"] = {"own_naive": {"rmse": 20.0, "mae": 9.0, "r2": 0.5}}
        (folder / contract.EVALUATION_FILE).write_text(json.dumps(document))


def test_the_aggregate_judges_the_windows_own_scores_against_their_own_baseline(split, tmp_path):
    split_paths, plan, _ = split
    paths = contract.MlPaths(tmp_path)
    shutil.copytree(split_paths.processing_output(contract.PROCESSING_OUTPUT_WINDOW_PLAN),
                    paths.processing_input(contract.PROCESSING_INPUT_WINDOW_PLAN))
    _evaluations(paths, plan)
    gate = [SpreadCondition.parse("mae:std<=1", OWN)]
    document = window_aggregate.aggregate(paths, gate, OWN)
    assert [w["metrics"]["mae"] for w in document["windows"]] == [8.0, 10.0]
    assert [w["baseline"]["mae"] for w in document["windows"]] == [9.0, 9.0]
    mae = document["summary"]["mae"]
    assert (mae["mean"], mae["baseline_mean"], mae["windows_beating_baseline"]) == (9.0, 9.0, 1)
    assert mae["trend"] == pytest.approx(2.0) and mae["pooled"] is None
    assert document["by_age"] == [] and document["baseline"]["name"] == "own_naive"
    assert not document["quality_gate"]["passed"]  # the std of 8 and 10 is 1.41
    page = render(document, OWN)
    assert page.count("<figure>") == 3  # each metric over the windows; no rows to age


def test_a_window_evaluation_without_the_declared_baseline_is_refused_naming_it(split, tmp_path):
    split_paths, plan, _ = split
    paths = contract.MlPaths(tmp_path)
    shutil.copytree(split_paths.processing_output(contract.PROCESSING_OUTPUT_WINDOW_PLAN),
                    paths.processing_input(contract.PROCESSING_INPUT_WINDOW_PLAN))
    _evaluations(paths, plan, baseline=False)
    with pytest.raises(JobError, match="window 0: its evaluation.json has no "
                                       "baselines.own_naive"):
        window_aggregate.aggregate(paths, [], OWN)


def test_a_manifest_the_platform_cannot_score_or_whose_time_is_malformed_is_refused():
    forecasting = dataclasses.replace(
        OWN, problem_type="forecasting", cross_validation=Resampling(allowed=False, refusal="-"),
        image=dataclasses.replace(OWN.image, builtin_training=None, builtin_alternatives=()),
        backtest_setup=dataclasses.replace(OWN.backtest_setup, scored_by="platform"))
    with pytest.raises(ManifestError, match="scored_by is 'platform'.* not forecasting"):
        forecasting.validate()
    malformed = dataclasses.replace(OWN, backtest_setup=BacktestSetup(time={"col": "date"}))
    with pytest.raises(ManifestError, match="backtest_setup.time: 'time' has unknown keys"):
        malformed.validate()
