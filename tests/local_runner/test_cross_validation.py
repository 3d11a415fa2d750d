"""The cross-validation state machine, executed locally on churn: 3 folds (the fewest that
still show a spread; benchmarks/cross_validation.py runs 5) of the bundled
sample, each running churn's own preprocessing, training and evaluation as a child execution
of the distributed Map, then (`final_model`) the model of all the rows, registered with the
folds' statistics; one execution shared by the tests that inspect it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from runtime_scripts import contract
from runtime_scripts.pipeline_input.names import short_hash

FOLDS = 3
SAMPLE = Path(__file__).resolve().parents[2] / "runtime_scripts" / "use_cases" / "churn" / \
    "sample_data" / "mlc_churn.csv"
PATH = ["Validate input", "Read data profile", "Profile the data", "Folds fit the classes?",
        "Dataset spec given?", "Use bundled dataset spec", "Split into folds",
        "Cross-validate folds", "Aggregate folds", "Read cross-validation",
        "Gate on mean and spread", "Train final model?", "Final model: keep the folds' run",
        "Final model: its own run", "Final model: preprocess", "Final model: train",
        "Final model: metadata", "Final model: register", "Final model: restore the folds' run",
        "Notify final model registered", "Final model registered"]


@pytest.fixture(scope="module")
def cross_validated(platform):
    """Two folds at a time (the local engine's cores), each training on one thread (two
    OpenMP pools spinning on two shared cores cost more than they give on 3,000 rows, as in
    tests/runtime), and the final model; the stage defaults otherwise."""
    return platform.run("churn:cross-validation",
                        {"cross_validation": {"folds": FOLDS, "max_concurrency": 2,
                                              "final_model": True},
                         "training": {"hyperparameters": {"nthread": "1"}}},
                        name="cv-three")


def _jobs(platform, kind: str, execution: str) -> dict[str, dict]:
    return {name: d for name, d in platform.sagemaker.state.jobs[kind].items()
            if execution in name}


def test_each_fold_runs_the_use_cases_own_jobs(platform, cross_validated):
    result = cross_validated
    assert result.status == "SUCCEEDED", result.cause
    assert result.path == PATH
    folds, final = result.output["run"]["folds"], result.output["run"]["final"]
    trainings = _jobs(platform, "training-job", "cv-three")
    processing = _jobs(platform, "processing-job", "cv-three")
    # split + aggregate + per fold preprocess and evaluate + the final model's preprocessing;
    # one training job per fold and the final model's.
    assert sorted(trainings) == sorted([*(f["job_names"]["training"] for f in folds),
                                        final["job_names"]["training"]])
    assert len(processing) == 2 + 2 * FOLDS + 1
    assert len(set(trainings) | set(processing)) == 3 * FOLDS + 2 + 2  # every name its own
    for fold in folds:
        job = trainings[fold["job_names"]["training"]]
        # What every job of the stage gets: spot (with its wait), max runtime, KMS.
        assert job["EnableManagedSpotTraining"] is True
        assert job["StoppingCondition"] == result.output["training"]["stopping_condition"]
        assert job["OutputDataConfig"]["KmsKeyId"] and job["ResourceConfig"]["VolumeKmsKeyId"]
        assert job["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == \
            fold["s3"]["train"]
        preprocess = processing[fold["job_names"]["preprocessing"]]
        inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in preprocess["ProcessingInputs"]}
        assert inputs[contract.PROCESSING_INPUT_HOLDOUT] == fold["s3"]["holdout"]


def test_the_folds_hold_out_every_row_once_stratified(platform, cross_validated):
    items = platform.read_json(cross_validated.output["run"]["s3"]["fold_list"])
    assert [i["fold"] for i in items] == list(range(FOLDS))
    held = [i["holdout_rows"] for i in items]
    assert sum(held) == items[0]["train_rows"] + items[0]["holdout_rows"]  # each row once
    positives = [i["holdout_classes"]["yes"] for i in items]
    assert max(positives) - min(positives) <= 1  # stratified: the same churners per fold


def test_the_aggregate_reports_mean_spread_and_interval_per_metric(platform, cross_validated):
    output = cross_validated.output
    document = platform.read_json(output["run"]["s3"]["aggregate"] + contract.CV_EVALUATION_FILE)
    assert document == output["evaluation"]["document"]
    assert document["folds_evaluated"] == FOLDS and document["failed_folds"] == []
    per_fold = {e["fold"]: e["metrics"]["auc"] for e in document["per_fold"]}
    for fold in output["run"]["folds"]:  # each fold's own evaluation.json, by its own job
        evaluation = platform.read_json(fold["s3"]["evaluation"] + contract.EVALUATION_FILE)
        assert evaluation["metrics"]["auc"] == per_fold[fold["fold"]]
    auc = document["metrics"]["auc"]
    values = list(per_fold.values())
    assert auc["mean"] == pytest.approx(sum(values) / FOLDS)
    assert auc["min"] == min(values) and auc["max"] == max(values)
    assert auc["ci95_low"] < auc["mean"] < auc["ci95_high"]
    assert auc["mean"] >= 0.85
    # The default gate: churn's gate on the means, its manifest's bound on the AUC's spread.
    gate = document["quality_gate"]
    assert [c["metric"] for c in gate["conditions"]] == ["auc:mean", "recall:mean", "auc:std"]
    assert gate["passed"] is True
    bucket, _, key = (output["run"]["s3"]["aggregate"] + contract.CV_REPORT_FILE)[5:].partition(
        "/")
    page = platform.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    assert page.count("data:image/png;base64,") == len(document["metrics"])  # a plot per metric
    assert "Per fold" in page and "auc:std" in page


def _rows(platform, uri: str) -> int:
    bucket, _, key = (uri + contract.SPLIT_FILE)[5:].partition("/")
    body = platform.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return len(body.splitlines())


def test_the_final_model_trains_on_every_row_and_is_registered_with_the_cv_metrics(
        platform, cross_validated):
    """`final_model`: after the gate passed, churn's own preprocessing and training on all the
    rows (none held out: the train and validation splits together are the data), registered in
    churn's group with the aggregate's document as ModelQuality and each metric's mean, spread
    and interval as metadata."""
    output = cross_validated.output
    final, document = output["run"]["final"], output["evaluation"]["document"]
    items = platform.read_json(output["run"]["s3"]["fold_list"])
    assert _rows(platform, final["s3"]["train"]) + _rows(platform, final["s3"]["validation"]) \
        == items[0]["train_rows"] + items[0]["holdout_rows"]
    training = platform.sagemaker.state.jobs["training-job"][final["job_names"]["training"]]
    assert training["HyperParameters"] == output["training"]["hyperparameters"]
    assert output["model"]["training_job_name"] == final["job_names"]["training"]
    package = platform.sagemaker.call("describeModelPackage",
                                      {"ModelPackageName": output["registered"]["arn"]})
    assert package["ModelPackageGroupName"] == output["platform"]["model_package_group"]
    assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == \
        output["model"]["artifacts"]
    assert package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == \
        output["run"]["s3"]["aggregate"] + contract.CV_EVALUATION_FILE
    metadata = package["CustomerMetadataProperties"]
    auc = document["metrics"]["auc"]
    assert metadata["cv.auc"].startswith(
        f"mean={auc['mean']:.6g} std={auc['std']:.6g} ci95_low={auc['ci95_low']:.6g} "
        f"ci95_high={auc['ci95_high']:.6g}")
    assert {f"cv.{name}" for name in document["metrics"]} <= set(metadata)
    assert metadata["run"] == final["prefix"]  # its baseline, for the deployment
    assert metadata["training_job"] == final["job_names"]["training"]
    assert metadata["quality_gate"] == ("auc mean at least 0.85 / recall mean at least 0.5 / "
                                        "auc std at most 0.03")
    assert output["run"]["prefix"] + "final/" == final["prefix"]  # the folds' run restored


def test_the_split_leaves_a_profile_the_next_run_reads(platform, cross_validated):
    run = cross_validated.output["run"]
    data = cross_validated.output["data"]["input_s3_uri"]
    assert run["s3"]["profile_key"].startswith(f"profiles/churn/{short_hash(data)}/")
    profile = platform.read_json(f"s3://{run['s3']['profile_bucket']}/{run['s3']['profile_key']}")
    assert profile["data_s3_uri"] == data
    assert profile["minority_count"] == min(profile["class_counts"].values())


def test_more_folds_than_the_smallest_class_are_refused_before_any_job(platform,
                                                                      cross_validated):
    """A data location whose profile says its smallest class has 3 rows: 5 folds are refused
    by the first states, in the words the split job uses, and nothing is paid for."""
    data = cross_validated.output["data"]["input_s3_uri"].rstrip("/") + "-small/"
    run_profile = f"profiles/churn/{short_hash(data)}/{contract.DATA_PROFILE_FILE}"
    platform.clients.s3.put_object(
        Bucket=cross_validated.output["run"]["s3"]["profile_bucket"], Key=run_profile,
        Body=json.dumps({"data_s3_uri": data, "rows": 40, "minority_count": 3}))
    calls = len(platform.sagemaker.calls)
    result = platform.run("churn:cross-validation", {"data": {"input_s3_uri": data}},
                          name="cv-small")
    assert result.status == "FAILED"
    assert result.path == ["Validate input", "Read data profile", "Folds fit the classes?",
                           "Explain too many folds", "Notify failure", "Pipeline failed"]
    assert result.error == "InvalidPipelineInput"
    assert result.cause.startswith("cross_validation.folds 5 is more than the 3 rows of the "
                                   "smallest class")
    assert result.cause.endswith("(allowed: 2 .. 3)")
    assert len(platform.sagemaker.calls) == calls


def test_more_folds_than_the_smallest_class_are_refused_on_the_first_run_too(platform,
                                                                          cross_validated):
    """No profile of this data location yet, but small CSV data in the raw bucket: the
    validator profiles it itself (40 rows, 3 churners) and 5 folds are refused before any
    job, in the same words."""
    data = cross_validated.output["data"]["input_s3_uri"].rstrip("/") + "-first-run/"
    bucket, _, prefix = data[5:].partition("/")
    lines = SAMPLE.read_text().splitlines()
    churn = lines[0].split(",").index("churn")
    yes = [r for r in lines[1:] if r.split(",")[churn] == "yes"][:3]
    no = [r for r in lines[1:] if r.split(",")[churn] == "no"][:37]
    platform.clients.s3.put_object(Bucket=bucket, Key=f"{prefix}part-0.csv",
                                   Body="\n".join([lines[0], *yes, *no]) + "\n")
    calls = len(platform.sagemaker.calls)
    result = platform.run("churn:cross-validation", {"data": {"input_s3_uri": data}},
                          name="cv-first-small")
    assert result.path == ["Validate input", "Read data profile", "Profile the data",
                           "Folds fit the classes?", "Explain too many folds", "Notify failure",
                           "Pipeline failed"]
    assert result.error == "InvalidPipelineInput"
    assert result.cause.startswith("cross_validation.folds 5 is more than the 3 rows of the "
                                   "smallest class")
    assert len(platform.sagemaker.calls) == calls


@pytest.mark.parametrize(("given", "says"), [
    ({"cross_validation": {"folds": 21}},
     "input key 'cross_validation.folds': 21 is out of range (allowed: 2 .. 20)"),
    ({"cross_validation": {"group_column": "zip"}},
     "input key 'cross_validation.group_column': \"zip\" is not a column of the use case's "
     "dataset spec (allowed: churn, customer_id, state"),
])
def test_bad_input_is_refused_in_the_first_state(platform, given, says):
    calls = len(platform.sagemaker.calls)
    result = platform.run("churn:cross-validation", given, name=f"cv-bad-{len(says)}")
    assert result.path == ["Validate input", "Notify failure", "Pipeline failed"]
    assert says in json.loads(result.cause)["errorMessage"]
    assert len(platform.sagemaker.calls) == calls


def test_a_group_column_missing_from_parquet_data_is_refused_on_the_first_run(platform,
                                                                             local_seed):
    """Parquet, which the validator cannot read whole: its footer (one ranged GET) shows the
    group column the input named is not in the data, refused before any job by its key, with
    the columns the data has."""
    data = pd.read_csv(SAMPLE, dtype=str).head(200).drop(columns=["customer_id"])
    out = io.BytesIO()
    data.to_parquet(out, index=False)
    raw = platform.seed_inputs(local_seed)["churn:training"]["data"]["raw_s3_uri"]
    bucket, _, prefix = raw[5:].partition("/")
    location = f"{prefix.rstrip('/')}-parquet/"
    platform.clients.s3.put_object(Bucket=bucket, Key=f"{location}part-0.parquet",
                                   Body=out.getvalue())
    calls = len(platform.sagemaker.calls)
    result = platform.run("churn:cross-validation",
                          {"data": {"input_s3_uri": f"s3://{bucket}/{location}"},
                           "cross_validation": {"group_column": "customer_id"}},
                          name="cv-first-parquet")
    assert result.path == ["Validate input", "Read data profile", "Profile the data",
                           "Notify failure", "Pipeline failed"]
    assert "input key 'cross_validation.group_column': " in result.cause
    assert "customer_id" in result.cause
    assert "is not a column of part-0.parquet (allowed: state, account_length, " in result.cause
    assert len(platform.sagemaker.calls) == calls
