"""The backtest pipeline's first state: refused in the first second, naming the key and the
allowed values; with a current data profile, windows that do not fit the data too."""

from __future__ import annotations

import copy
import json

import pytest

from config import UseCaseConfig, load_stage_config
from ml_constructs import pipeline_defaults
from runtime_scripts.pipeline_input import InvalidPipelineInput, resolve

from .events import EXECUTION, IMAGE_SPECIFICATION, PLATFORM, error

RAW = "mlplatform-dev-raw-123456789012"
DEV = load_stage_config("dev")
ARTIFACTS = PLATFORM["artifacts_bucket"]


def event(use_case: str, user_input: dict, data: dict | None = None) -> dict:
    config = UseCaseConfig(name=use_case)
    return {"pipeline": "backtest", "execution_name": EXECUTION,
            "defaults": pipeline_defaults.backtest_defaults(DEV, config, raw_bucket=RAW),
            "platform": {**pipeline_defaults.backtest_platform(DEV, config,
                                                               artifacts_bucket=ARTIFACTS),
                         **IMAGE_SPECIFICATION},
            "input": copy.deepcopy(user_input), "data": data}


def backtest(user_input: dict | None = None, use_case: str = "ames",
             data: dict | None = None) -> dict:
    return resolve(event(use_case, user_input or {}, data))


def test_started_with_nothing_it_backtests_the_manifests_request():
    doc = backtest()
    assert doc["quality_gate"]["arguments"] == ["--gate", "r2:mean>=0.8", "--gate",
                                                "mae:mean<=20000.0", "--gate", "r2:std<=0.05"]
    assert doc["split"]["arguments"] == [
        "--horizon", "6", "--step", "6", "--training-window", "expanding", "--gap", "0",
        "--windows", "4", "--baseline", "training_median"]
    run = doc["run"]
    assert run["s3"]["items_key"] == f"runs/ames/{EXECUTION}/backtest/plan/items.json"
    assert run["s3"]["data_bucket"] == RAW and run["s3"]["data_prefix"] == "ames/"
    # The Map appends '-w<index>' to each window's names: room is left for 100 windows.
    for name in run["item_job_names"].values():
        assert len(name + "-w99") <= 63 and name.startswith("mlplatform-dev-ames-bt-")
    assert set(run["job_attempts"]) == {"window_split", "window_aggregate"}


@pytest.mark.parametrize(("backtest_input", "message"), [
    ({"horizon": 0}, "input key 'backtest.horizon': 0 is out of range (allowed: 1 ..)"),
    ({"windows": 101}, "input key 'backtest.windows': 101 is out of range (allowed: 2 .. 100)"),
    ({"training_window": "sliding"},
     "input key 'backtest.training_periods': a sliding training window needs its length in "
     "months, got None (allowed: 2 ..)"),
    ({"first_cutoff": "Jan 2009"},
     "input key 'backtest.first_cutoff': 'Jan 2009' is not a month: write it as YYYY-MM "
     "(allowed: YYYY-MM)"),
    ({"time": {"year": "Year_Sold", "month": "Month_Sold"}},
     "input key 'backtest.time.month': \"Month_Sold\" is not a column of the use case's dataset "
     "spec (allowed: Sale_Price, house_id, MS_SubClass"),
    ({"time": {"year": "Year_Sold", "month": "Mo_Sold", "unit": "week"}},
     "input key 'backtest.time': 'time.unit' 'week' is not allowed for these columns; allowed: "
     "month, quarter, year"),
])
def test_bad_requests_are_refused_naming_the_key_and_the_allowed_values(backtest_input,
                                                                          message):
    refused = error(InvalidPipelineInput, backtest, {"backtest": backtest_input})
    assert message in str(refused)


def test_a_use_case_whose_manifest_refuses_backtesting_is_refused_with_its_reason():
    refused = error(InvalidPipelineInput, backtest, use_case="churn")
    assert str(refused) == (
        'input: use case "churn" does not allow backtesting: customers are one snapshot with no '
        "time column: there is no past to train on and future to score (allowed: a use case "
        "whose manifest allows backtesting)")


# The window split's profile of ames's local-run sales (2006-01 .. 2010-07), as it writes it.
def profile(**files: int) -> dict:
    months = [f"{y}-{m:02d}" for y in range(2006, 2011) for m in range(1, 13)][:55]
    return {"files": files or {"ames_train.csv": 1_100_000}, "rows": 2637,
            "time": {"spec": {"year": "Year_Sold", "month": "Mo_Sold"}, "unit": "month",
                     "first": "2006-01", "last": "2010-07",
                     "rows_per_period": {m: 40 for m in months}}}


def listing(size: int = 1_100_000) -> dict:
    return {"IsTruncated": False, "Contents": [{"Key": "ames/", "Size": 0},
                                               {"Key": "ames/ames_train.csv", "Size": size}]}


def test_with_a_current_profile_windows_that_do_not_fit_the_data_are_refused_at_once():
    data = {"profile": profile(), "listing": listing(), "prefix": "ames/"}
    assert backtest({"backtest": {"windows": 8}}, data=data)["backtest"]["windows"] == 8
    refused = error(InvalidPipelineInput, backtest, {"backtest": {"windows": 9}}, data=data)
    assert "input key 'backtest.windows': window 0 (cutoff 2006-02) has no room" in str(refused)
    assert "(allowed: 2 .. 8)" in str(refused)
    late = error(InvalidPipelineInput, backtest, {"backtest": {"first_cutoff": "2010-03"}},
                 data=data)
    assert "input key 'backtest.first_cutoff'" in str(late)
    assert "(allowed: 2006-03 .. 2010-02)" in str(late)


@pytest.mark.parametrize("data", [
    {"profile": profile(), "listing": listing(size=1_200_000), "prefix": "ames/"},  # grew
    {"profile": None, "listing": listing(), "prefix": "ames/"},  # never profiled
    {"profile": profile(), "listing": {**listing(), "IsTruncated": True}, "prefix": "ames/"},
])
def test_data_that_changed_since_its_profile_is_left_to_the_split_job(data):
    assert backtest({"backtest": {"windows": 9}}, data=data)["backtest"]["windows"] == 9


def test_the_stage_defaults_of_every_backtestable_use_case_are_valid():
    for name in ("ames", "demand"):
        document = backtest(use_case=name)
        json.dumps(document)  # the state's next input: JSON only


def test_each_window_evaluates_as_its_use_case_scores_windows():
    # ames: the platform scores the windows' predictions; demand's evaluation scores its own.
    assert backtest()["window_evaluation"]["arguments"] == ["--write-predictions"]
    demand = backtest(use_case="demand")
    assert demand["window_evaluation"]["arguments"] == ["--windows", "1", "--baselines",
                                                        "seasonal_naive"]
    assert demand["split"]["arguments"][-2:] == ["--baseline", "seasonal_naive"]
    # Its spec is its own format: a request's time may name its raw table's columns.
    refused = error(InvalidPipelineInput, backtest, {"backtest": {"time": {"column": "day"}}},
                    use_case="demand")
    assert ("input key 'backtest.time.column': \"day\" is not a column of the use case's "
            "dataset spec (allowed: line_id, order_id, date, time, name") in str(refused)
    assert backtest({"backtest": {"time": {"column": "date", "unit": "week"}}},
                    use_case="demand")["split"]["arguments"][-2:] == [
        "--time", '{"column": "date", "unit": "week"}']


def test_the_readme_backtest_example_is_accepted():
    from tests.infra.test_docs import readme_json

    doc = backtest(readme_json("### Backtesting: "))
    assert doc["backtest"]["training_window"] == "sliding"
    assert "--first-cutoff" in doc["split"]["arguments"]


def test_the_docs_backtest_example_of_demand_is_accepted():
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "pipeline-inputs.md").read_text()
    (example,) = re.findall(r"<!-- example: backtest demand -->\s*```json\n(.*?)```", doc,
                            re.DOTALL)
    resolved = backtest(json.loads(example), use_case="demand")
    assert resolved["split"]["arguments"][:2] == ["--horizon", "7"]
    assert resolved["quality_gate"]["arguments"][-2:] == ["--gate", "wape:std<=0.1"]


def test_the_readme_backtest_example_of_demand_is_accepted():
    from tests.infra.test_docs import readme_json

    doc = backtest(readme_json("**Backtested by the platform's pipeline**"), use_case="demand")
    # The manifest's horizon (14 days): the README's measured windows are two fortnights.
    assert doc["backtest"]["windows"] == 2 and doc["backtest"]["horizon"] == 14


def test_each_window_writes_one_train_shard_per_training_instance():
    """What the window's preprocessing is told (ML_TRAIN_SHARDS): its ShardedByS3Key train
    channel over two instances needs two objects to hand out."""
    assert backtest({"training": {"instance_count": 2}})["training"]["train_shards"] == "2"
