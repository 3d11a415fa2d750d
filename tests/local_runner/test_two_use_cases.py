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
