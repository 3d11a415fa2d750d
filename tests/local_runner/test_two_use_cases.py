"""Two use cases in one stage, executed locally: churn (a binary classifier) and ames (a
regression) deployed side by side (the session's `two` stage), each trained on its own local-run
data, then ames's batch inference, which must pick ames's model although churn's is approved
too, and score its hold-out houses against their known prices."""

from __future__ import annotations

import csv
import io

import pytest

from local_runner.local_run import LocalPlatform
from local_runner.local_seed import Seed


@pytest.fixture(scope="module")
def two(synthesized, tmp_path_factory):
    stage = synthesized["two"]
    assert [u.name for u in stage.config.use_cases] == ["churn", "ames"]
    seed = Seed.for_use_cases(stage.config.use_cases)
    with LocalPlatform(stage.outdir, workdir=tmp_path_factory.mktemp("two-use-cases"),
                       max_local_trials=2) as platform:
        platform.seed(seed)
        yield platform, platform.seed_inputs(seed)


@pytest.fixture(scope="module")
def runs(two):
    platform, inputs = two
    # In the order `mlplatform run --use-case all training batch-inference` would not run them:
    # ames's batch inference comes after churn registered a model too.
    ames = platform.run("ames:training", inputs["ames:training"], name="two-ames")
    churn = platform.run("churn:training", inputs["churn:training"], name="two-churn")
    batch = platform.run("ames:batch-inference", inputs["ames:batch-inference"],
                         name="two-ames-batch")
    for result in (ames, churn, batch):
        assert result.status == "SUCCEEDED", (result.pipeline, result.error, result.cause)
    return ames, churn, batch


def _environment(platform, result, kind: str = "training-job") -> dict:
    job = result.output["run"]["job_names"]["training"]
    return platform.sagemaker.describe_job(kind, job)["Environment"]


def test_each_use_case_trains_its_own_model_into_its_own_registry(two, runs):
    platform, _ = two
    ames, churn, _ = runs
    assert "/mlplatform-dev-ames/" in ames.output["registered"]["arn"]
    assert "/mlplatform-dev-churn/" in churn.output["registered"]["arn"]
    assert _environment(platform, ames)["ML_USE_CASE"] == "ames"
    assert _environment(platform, churn)["ML_USE_CASE"] == "churn"
    regression = ames.output["evaluation"]["document"]
    assert set(regression["metrics"]) >= {"rmse", "mae", "r2"}
    assert [(c["metric"], c["comparison"]) for c in regression["quality_gate"]["conditions"]] \
        == [("r2", ">="), ("mae", "<=")]  # ames's own gate, from its manifest
    assert regression["quality_gate"]["passed"] is True
    assert churn.output["evaluation"]["document"]["metrics"]["auc"] > 0.9


def test_ames_batch_inference_scores_its_hold_out_houses_with_ames_model(two, runs):
    platform, _ = two
    ames, _, batch = runs
    assert batch.output["package"]["arn"] == ames.output["registered"]["arn"]
    bucket, _, prefix = batch.output["run"]["s3"]["output"][5:].partition("/")
    body = platform.clients.s3.get_object(Bucket=bucket, Key=f"{prefix}holdout.csv.out")
    header, *rows = list(csv.reader(io.StringIO(body["Body"].read().decode())))
    assert header == ["house_id", "prediction"]
    assert len(rows) == 293 and all(float(price) > 0 for _, price in rows)
    scored = batch.output["evaluation"]["document"]
    assert scored["data"]["source"] == "predictions"
    assert scored["rows"]["total"] == 293
    assert scored["metrics"]["r2"] > 0.8  # houses the model never saw


# --- ames's backtest on the same account: two rolling-origin windows, then a request that does
# not fit the data, refused by its first states from the profile the first run wrote.
BACKTEST_INPUT = {"backtest": {"windows": 2},
                  "training": {"hyperparameters": {"nthread": "1", "num_round": "60"}}}


@pytest.fixture(scope="module")
def backtest(two):
    platform, inputs = two
    result = platform.run("ames:backtest", {**inputs["ames:backtest"], **BACKTEST_INPUT},
                          name="two-ames-backtest")
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result


def _json(platform, uri: str, name: str) -> dict:
    import json

    bucket, _, prefix = uri[5:].partition("/")
    body = platform.clients.s3.get_object(Bucket=bucket, Key=f"{prefix}{name}")["Body"]
    return json.loads(body.read())


def test_ames_backtests_each_window_with_its_own_jobs_and_judges_the_means(two, backtest):
    platform, _ = two
    assert backtest.path[-3:] == ["Backtest gate", "Notify backtest passed", "Backtest passed"]
    document = backtest.output["evaluation"]["document"]
    assert [w["cutoff"] for w in document["windows"]] == ["2009-08", "2010-02"]
    assert document["baseline"]["name"] == "training_median"
    for window in document["windows"]:  # the model beats the median sale in every window
        assert window["metrics"]["mae"] < window["baseline"]["mae"] / 2
    assert document["summary"]["r2"]["windows_beating_baseline"] == 2
    assert [a["age"] for a in document["by_age"]] == [1, 2, 3, 4, 5, 6]
    assert document["quality_gate"]["passed"] and document["metrics"]["r2"] > 0.8
    run = backtest.output["run"]
    for index in (0, 1):  # each window's jobs: the validator's names with -w<index>
        name = f"{run['item_job_names']['training']}-w{index}"
        job = platform.sagemaker.describe_job("training-job", name)
        assert job["Environment"]["ML_USE_CASE"] == "ames"
        assert job["OutputDataConfig"]["S3OutputPath"].endswith(f"/backtest/runs/{index}/training/")
    profile = _json(platform, run["s3"]["profile"], "time_profile.json")
    assert profile["time"]["first"] == "2006-01" and profile["time"]["last"] == "2010-07"
    bucket, _, prefix = run["s3"]["backtest"][5:].partition("/")
    page = platform.clients.s3.get_object(Bucket=bucket, Key=f"{prefix}backtest_report.html")
    page = page["Body"].read().decode()
    assert page.count("<figure>") == 6  # rmse, mae, r2: over the windows and by age
    assert "2009-08 .. 2010-01" in page  # the first window's evaluated months


def test_a_backtest_that_does_not_fit_the_profiled_data_is_refused_before_any_job(two, backtest):
    platform, inputs = two
    jobs_before = len(platform.sagemaker.state.jobs.get("processing-job", {}))
    result = platform.run("ames:backtest", {**inputs["ames:backtest"],
                                            "backtest": {"windows": 30}},
                          name="two-ames-backtest-too-many")
    assert result.status == "FAILED" and result.error == "InvalidPipelineInput"
    assert "input key 'backtest.windows'" in result.cause and "(allowed: 2 .. 8)" in result.cause
    assert "Check the windows against the data" in result.path
    assert "Split windows" not in result.path
    assert len(platform.sagemaker.state.jobs.get("processing-job", {})) == jobs_before


def test_a_first_backtest_of_new_data_that_does_not_fit_it_is_refused_before_any_job(two):
    """No profile of this location yet: the validator profiles the small CSV data itself (its
    sales run 2006-01 .. 2010-07) and 30 windows are refused by the same check, no job run."""
    platform, inputs = two
    seeded = inputs["ames:backtest"]["data"]["raw_s3_uri"]
    bucket, _, prefix = seeded[5:].partition("/")
    new = f"{prefix.rstrip('/')}-first-run/"
    for item in platform.clients.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
        platform.clients.s3.copy_object(Bucket=bucket, Key=new + item["Key"][len(prefix):],
                                        CopySource={"Bucket": bucket, "Key": item["Key"]})
    jobs_before = len(platform.sagemaker.state.jobs.get("processing-job", {}))
    result = platform.run("ames:backtest", {**inputs["ames:backtest"], "data": {
        "raw_s3_uri": f"s3://{bucket}/{new}"}, "backtest": {"windows": 30}},
        name="two-ames-backtest-first-run")
    assert result.status == "FAILED" and result.error == "InvalidPipelineInput"
    assert "input key 'backtest.windows'" in result.cause and "(allowed: 2 .. 8)" in result.cause
    assert result.path[:6] == ["Validate input", "Data in the raw bucket?",
                               "List the data's files", "Read the data's profile",
                               "Profile the data", "Check the windows against the data"]
    assert "Split windows" not in result.path
    assert len(platform.sagemaker.state.jobs.get("processing-job", {})) == jobs_before
