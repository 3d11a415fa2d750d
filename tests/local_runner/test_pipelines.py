"""The synthesized training and batch inference state machines, executed locally: every job runs
the real scripts on the real sample data, in one emulated account per module."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from runtime_scripts.pipeline_input.names import TRAINING_JOBS

TRAINING_PATH = ["Validate input", "Data Wrangler flow given?", "Run Glue ETL?",
                 "Run Data Wrangler flow?", "Dataset spec given?",
                 "Use bundled dataset spec", "Preprocess data", "Tune hyperparameters?",
                 "Train model", "No Debugger rule statuses", "Training rule arguments",
                 "Check training rules", "Read training rules", "Training rules passed?",
                 "Evaluate model", "Read evaluation", "Quality gate",
                 "Create model", "Register model package", "Notify success", "Model registered"]


def _objects(platform, uri_prefix: str) -> list[str]:
    bucket, _, prefix = uri_prefix[5:].partition("/")
    listing = platform.clients.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


def test_success_path_registers_an_approved_model(platform, trained):
    assert trained.status == "SUCCEEDED", trained.cause
    assert trained.path == TRAINING_PATH
    output = trained.output
    metrics = output["evaluation"]["document"]["metrics"]
    assert metrics["auc"] >= 0.90
    evaluation = platform.read_json(output["run"]["s3"]["evaluation"] + "evaluation.json")
    assert evaluation["metrics"] == metrics
    keys = _objects(platform, output["run"]["s3"]["evaluation"])
    assert any(k.endswith("report.html") for k in keys)
    assert output["model"]["artifacts"].endswith("/output/model.tar.gz")
    package = platform.sagemaker.call("describeModelPackage",
                                      {"ModelPackageName": output["registered"]["arn"]})
    assert package["ModelApprovalStatus"] == "Approved"  # dev's configured status
    assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == \
        output["model"]["artifacts"]
    # dev's gate: every condition held, and the package records which ones it passed.
    gate = evaluation["quality_gate"]
    assert gate["passed"] is True
    assert [(c["metric"], c["comparison"], c["threshold"]) for c in gate["conditions"]] == [
        ("auc", ">=", 0.85), ("recall", ">=", 0.5)]
    assert package["CustomerMetadataProperties"]["quality_gate"] == \
        "auc at least 0.85 / recall at least 0.5"


def test_the_training_split_streamed_through_a_pipe_trains_the_registered_model(platform,
                                                                                trained):
    """The shared execution's train channel is Pipe, validation FastFile (conftest.py): the
    request carries each channel's options from the first state, the job read its split from
    the FIFO `train_0`, and the emulations are labelled."""
    job = platform.sagemaker.describe_job("training-job",
                                          trained.output["run"]["job_names"]["training"])
    channels = {c["ChannelName"]: c for c in job["InputDataConfig"]}
    assert {n: c["InputMode"] for n, c in channels.items()} == {
        "train": "Pipe", "validation": "FastFile", "transform": "File"}
    assert channels["train"]["DataSource"]["S3DataSource"] == {
        "S3DataType": "S3Prefix", "S3DataDistributionType": "ShardedByS3Key",
        "S3Uri": trained.output["run"]["s3"]["train"]}
    assert channels["train"]["ContentType"] == "text/csv"
    label = job["LocalEmulation"]
    assert label.startswith("EMULATED:"), label
    assert "channel 'train': Pipe input mode emulated with a local FIFO" in label
    assert "channel 'validation': FastFile input mode staged as File" in label


def test_training_rules_are_judged_on_the_curve_and_reported(platform, trained):
    """The rule job ran the churn manifest's curve rules over the curve its training wrote: a
    model trained with early stopping shows no issue, and the report says so."""
    verdict = trained.output["training_rules"]["verdict"]["document"]
    assert {s["RuleConfigurationName"]: s["RuleEvaluationStatus"]
            for s in verdict["statuses"]} == {"LossNotDecreasing": "NoIssuesFound",
                                              "Overfit": "NoIssuesFound"}
    assert verdict["issues_found"] is False and verdict["curve_steps"] > 20
    evaluation = platform.read_json(trained.output["run"]["s3"]["evaluation"]
                                    + "evaluation.json")
    assert evaluation["training_rules"] == verdict
    bucket, _, key = (trained.output["run"]["s3"]["evaluation"] + "report.html")[5:].partition("/")
    report = platform.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    assert "<h2>Training rules</h2><p>no issues found</p>" in report


def test_jobs_are_named_after_the_execution_and_write_under_its_prefix(platform, trained):
    names = trained.output["run"]["job_names"]
    assert all(name.startswith("mlplatform-dev-") for name in names.values())
    # Tuning and AutoML job names have 32 characters (names.TRAINING_JOBS): theirs are hashed.
    short = {kind for kind, (_, limit) in TRAINING_JOBS.items()
             if limit < TRAINING_JOBS["training"][1]}
    assert short == {"tuning", "automl"}
    assert all(name.startswith("mlplatform-dev-churn-") for kind, name in names.items()
               if kind not in short)  # the use case in every name that has room for it
    assert all(len(names[kind]) <= TRAINING_JOBS[kind][1] for kind in short)
    assert all("session-training" in name for kind, name in names.items() if kind not in short)
    for split in ("train", "validation", "test", "baseline", "transform"):
        uri = trained.output["run"]["s3"][split]
        assert "/runs/churn/session-training/" in uri
        assert _objects(platform, uri), f"{split} is empty"


def test_glue_etl_then_a_gate_rejecting_a_model_that_never_predicts_churn(platform):
    """Two behaviours in one execution, to keep the suite fast: the optional Glue job runs the
    real PySpark script (local Spark) and preprocessing reads its curated Parquet; then a model
    trained the way a tuning trial once was (a small learning rate, early stopping on AUC) ranks
    well but never predicts churn, and the gate rejects it naming every condition it failed."""
    conditions = [{"metric": "auc", "comparison": ">=", "threshold": 0.85},
                  {"metric": "recall", "comparison": ">=", "threshold": 0.5},
                  {"metric": "f1", "comparison": ">=", "threshold": 0.3}]
    under_fit = {"eta": "0.01", "eval_metric": "auc", "early_stopping_rounds": "20"}
    result = platform.run("churn:training", {"data": {"run_glue": True},
                                       "training": {"hyperparameters": under_fit},
                                       "quality_gate": {"conditions": conditions}},
                          name="gate-rejects")
    assert result.status == "SUCCEEDED", result.cause  # a rejection is an outcome, not an error
    assert result.path[:4] == ["Validate input", "Data Wrangler flow given?", "Run Glue ETL?",
                               "Run Glue ETL"]
    curated = result.output["data"]["curated_s3_uri"]
    assert result.output["run"]["s3"]["preprocessing_input"] == curated
    assert any(key.endswith(".parquet") for key in _objects(platform, curated))
    assert result.path[-4:] == ["Quality gate", "Explain rejection", "Notify rejection",
                                "Model rejected"]
    assert "Register model package" not in result.path
    metrics = result.output["evaluation"]["document"]["metrics"]
    assert metrics["auc"] >= 0.85 and metrics["recall"] == 0.0  # ranks well, flags no one
    outcome = result.output["outcome"]
    assert outcome["status"] == "REJECTED"
    assert outcome["reason"].startswith(
        "Quality gate failed: recall 0.0000 is not >= 0.5; f1 0.0000 is not >= 0.3; metrics: ")
    assert [c["passed"] for c in outcome["conditions"]] == [True, False, False]


def test_malformed_input_fails_at_once_naming_the_key(platform):
    calls_before = len(platform.sagemaker.calls)
    result = platform.run("churn:training", {"tuning": {"enabled": True, "max_jobs": 501}},
                          name="bad-input")
    assert result.status == "FAILED"
    assert result.path == ["Validate input", "Notify failure", "Pipeline failed"]
    assert result.error == "InvalidPipelineInput"
    assert "input key 'tuning.max_jobs': 501" in json.loads(result.cause)["errorMessage"]
    assert len(platform.sagemaker.calls) == calls_before  # nothing was paid for


def _jobs(platform, kind: str, execution: str) -> dict[str, dict]:
    """The jobs of one kind an execution created, by name, in creation order."""
    return {name: describe for name, describe in platform.sagemaker.state.jobs[kind].items()
            if execution in name}


def test_a_training_script_failure_is_caught_notified_and_failed_with_its_reason(platform):
    result = platform.run("churn:training", {"training": {"hyperparameters": {"max_depht": "4"}}},
                          name="script-fails")
    assert result.status == "FAILED"
    # Read, found not transient, and not paid for again: one training job, then the failure.
    assert result.path[-6:] == ["Train model", "Train model: attempts left?",
                                "Train model: read failure", "Train model: transient failure?",
                                "Notify failure", "Pipeline failed"]
    assert result.error == "States.TaskFailed"
    reason = json.loads(result.cause)["FailureReason"]
    assert "max_depht" in reason
    assert len(_jobs(platform, "training-job", "script-fails")) == 1


CAPACITY = ("CapacityError: Unable to provision requested ML compute capacity. Please retry "
            "using a different ML instance type.")
INTERNAL = "InternalServerError: We encountered an internal error. Please try again."


def test_throttling_and_no_capacity_are_retried_and_the_pipeline_succeeds(platform):
    """One execution, three transient failures (one full run keeps the suite fast): a throttled
    CreateTrainingJob call (optimized integration) is read from its cause and made again with
    the same job name, since it created nothing; that job SageMaker could not provision runs
    again as a new job with the next attempt's name after the back-off; a throttled
    CreateModel call (aws-sdk integration) is made again too, and the model is registered."""
    platform.sagemaker.inject_faults("createTrainingJob", ["ThrottlingException"])
    platform.sagemaker.inject_job_failures("createTrainingJob", [CAPACITY])
    platform.sagemaker.inject_faults("createModel", ["ThrottlingException"])
    result = platform.run("churn:training", {"registry": {"description": "after a throttle"}},
                          name="no-capacity")
    assert result.status == "SUCCEEDED", result.cause
    failures = [e["taskFailedEventDetails"] for e in result.history if e["type"] == "TaskFailed"]
    assert [f["error"] for f in failures] == [
        "SageMaker.AmazonSageMakerException", "States.TaskFailed", "SageMaker.SageMakerException"]
    assert "Error Code: ThrottlingException;" in failures[0]["cause"]
    assert result.path.count("Train model") == 3  # throttled, no capacity, trained
    assert result.path.count("Train model: API back-off") == 1
    assert "Train model: back off" in result.path
    assert result.path.count("Create model") == 2
    assert "Create model: API back-off" in result.path
    attempts = result.output["run"]["job_attempts"]["training"]
    first, second = attempts["names"][:2]
    trained = _jobs(platform, "training-job", "no-capacity")
    assert list(trained) == [first, second]  # the throttled call took no name
    assert trained[first]["TrainingJobStatus"] == "Failed"
    assert trained[first]["FailureReason"] == CAPACITY
    assert trained[second]["TrainingJobStatus"] == "Completed"
    assert result.output["model"]["training_job_name"] == second
    assert result.output["run"]["job_names"]["training"] == second
    assert attempts["attempt"] == 2 and attempts["last_failure"]["FailureReason"] == CAPACITY
    assert result.output["api_retries"]["train_model"]["attempt"] == 1
    assert result.output["registered"]["arn"]


def test_a_refused_call_that_is_not_transient_is_not_retried(platform):
    """A ValidationException arrives under the same generic name as a throttle; its cause says
    it is no transient error, so it goes straight to the failure path, made once."""
    platform.sagemaker.inject_faults("createProcessingJob", ["ValidationException"])
    result = platform.run("churn:training", {}, name="refused")
    assert result.status == "FAILED"
    assert result.path[-5:] == ["Use bundled dataset spec", "Preprocess data",
                                "Preprocess data: API error transient?", "Notify failure",
                                "Pipeline failed"]
    assert result.error == "SageMaker.AmazonSageMakerException"
    assert "Error Code: ValidationException;" in result.cause
    refused = [c for c in platform.sagemaker.calls if c[0] == "createProcessingJob"]
    assert refused == [("createProcessingJob", "<injected ValidationException>")]
    assert _jobs(platform, "processing-job", "refused") == {}


def test_transient_failures_stop_after_the_configured_attempts(platform, dev):
    """Bounded: with every attempt failing with an internal error, the pipeline fails after
    job_retries.max_attempts jobs, each with its own name, with the reason in the cause."""
    max_attempts = dev.config.job_retries.max_attempts
    platform.sagemaker.inject_job_failures("createProcessingJob", [INTERNAL] * max_attempts)
    result = platform.run("churn:training", {}, name="never-capacity")
    assert result.status == "FAILED"
    assert result.path.count("Preprocess data") == max_attempts
    assert result.path[-3:] == ["Preprocess data: attempts left?", "Notify failure",
                                "Pipeline failed"]
    assert json.loads(result.cause)["FailureReason"] == INTERNAL
    assert len(_jobs(platform, "processing-job", "never-capacity")) == max_attempts




def test_tuning_with_warm_start_from_a_parent_run(platform):
    tuning = {"enabled": True, "max_jobs": 2, "max_parallel_jobs": 1,
              "static_hyperparameters": {"num_round": "60"}}
    parent = platform.run("churn:training", {"tuning": tuning}, name="tuning-parent")
    assert parent.status == "SUCCEEDED", parent.cause
    assert "Tune hyperparameters" in parent.path
    assert "Describe best training job" in parent.path
    parent_job = parent.output["tuning_result"]["name"]
    best = parent.output["tuning_result"]["best_training_job"]
    assert parent.output["model"]["training_job_name"] == best

    warm = {**tuning, "warm_start": {"type": "IdenticalDataAndAlgorithm",
                                     "parents": [parent_job]}}
    child = platform.run("churn:training", {"tuning": warm}, name="tuning-child")
    assert child.status == "SUCCEEDED", child.cause
    assert "Tune hyperparameters (warm start)" in child.path
    described = platform.sagemaker.describe_job("tuning-job", child.output["tuning_result"]["name"])
    assert described["WarmStartConfig"]["ParentHyperParameterTuningJobs"] == [
        {"HyperParameterTuningJobName": parent_job}]
    assert described["WarmStartedFrom"] == [parent_job]


# --- batch inference ---------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
HOLDOUT = ROOT / "runtime_scripts" / "use_cases" / "churn" / "sample_data" / "local_run"


def _predictions(platform, output_uri: str) -> list[list[str]]:
    bucket, _, prefix = output_uri[5:].partition("/")
    keys = [o["Key"] for o in platform.clients.s3.list_objects_v2(
        Bucket=bucket, Prefix=prefix)["Contents"]]
    assert keys == [prefix + "holdout.csv.out"]
    body = platform.clients.s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read().decode()
    return list(csv.reader(body.splitlines()))


def _holdout(platform, local_seed) -> dict:
    """The batch input that scores the held-out customers, without their labels."""
    seeded = platform.seed_inputs(local_seed)["churn:batch-inference"]["data"]
    return {"data": {"input_s3_uri": seeded["input_s3_uri"]}}


def test_batch_uses_the_latest_approved_package_by_default(platform, local_seed, trained):
    """The held-out customers in the training data's layout (a header, customer_id, no label):
    each prediction carries its customer's id and a label spelled as the data spells it."""
    assert trained.status == "SUCCEEDED"
    result = platform.run("churn:batch-inference", _holdout(platform, local_seed),
                          name="batch-latest")
    assert result.status == "SUCCEEDED", result.cause
    assert "Find latest approved model package" in result.path
    assert "Evaluate predictions" not in result.path  # no labels given
    latest = platform.sagemaker.call("listModelPackages", {
        "ModelPackageGroupName": "mlplatform-dev-churn", "ModelApprovalStatus": "Approved",
        "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 1,
    })["ModelPackageSummaryList"][0]["ModelPackageArn"]
    assert result.output["package"]["arn"] == latest
    # The server in the transform container allows a request as long as the job does.
    job = platform.sagemaker.describe_job("transform-job",
                                          result.output["run"]["job_names"]["transform"])
    assert job["Environment"]["SAGEMAKER_MODEL_SERVER_TIMEOUT"] == str(
        result.output["transform"]["invocations_timeout_seconds"])
    header, *rows = _predictions(platform, result.output["run"]["s3"]["output"])
    assert header == ["customer_id", "probability", "label"]
    labels = {r["customer_id"]: r["churn"]
              for r in csv.DictReader((HOLDOUT / "holdout_labels.csv").open())}
    assert [r[0] for r in rows] == list(labels) and len(rows) == 500
    assert {r[2] for r in rows} == {"yes", "no"}
    accuracy = sum(label == labels[customer] for customer, _, label in rows) / 500
    assert accuracy > 0.9


def test_batch_scores_its_predictions_against_the_labels_known_for_it(platform, local_seed,
                                                                     trained):
    """What `mlplatform run` does: the use case's labels for the held-out customers, the
    predictions scored against them by the evaluation job, paired by customer_id."""
    assert trained.status == "SUCCEEDED"
    result = platform.run("churn:batch-inference",
                          platform.seed_inputs(local_seed)["churn:batch-inference"],
                          name="batch-scored")
    assert result.status == "SUCCEEDED", result.cause
    assert result.path[-6:] == ["Labels given?", "Describe model package", "Evaluate predictions",
                                "Read evaluation", "Notify success", "Predictions written"]
    document = result.output["evaluation"]["document"]
    assert document["data"]["source"] == "predictions"
    assert document["rows"] == {"total": 500, "positive": 67, "negative": 433}
    assert document["data"]["predictions_without_label"] == 0
    assert document["metrics"]["auc"] > 0.9
    keys = _objects(platform, result.output["run"]["s3"]["evaluation"])
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == ["evaluation.json", "report.html"]


def test_batch_with_an_explicit_package_and_output_joined_to_input(platform, local_seed,
                                                                   trained):
    arn = trained.output["registered"]["arn"]
    holdout = _holdout(platform, local_seed)
    result = platform.run("churn:batch-inference",
                          {"model_package_arn": arn,
                           "data": {**holdout["data"], "join_source": "Input"}},
                          name="batch-explicit")
    assert result.status == "SUCCEEDED", result.cause
    assert "Use requested model package" in result.path
    assert "Find latest approved model package" not in result.path
    assert result.output["package"]["arn"] == arn
    rows = _predictions(platform, result.output["run"]["s3"]["output"])
    first_input, second_input = list(csv.reader((HOLDOUT / "holdout.csv").open()))[:2]
    # Each input record, then its answer: the header joined with the predictions' header.
    assert rows[0] == [*first_input, "customer_id", "probability", "label"]
    assert rows[1][:len(second_input)] == second_input
    assert rows[1][len(second_input)] == second_input[0]
