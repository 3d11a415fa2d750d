"""The executors end to end: SageMaker requests as the state machines send them, moto's S3, the
real entry points (bin/process, bin/train, bin/serve) on the real sample data."""

from __future__ import annotations

import csv
import io
import json
import re
import tarfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local_runner import executors
from local_runner.executors import JobOutcome, LocalProgram

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = LocalProgram(bin_dir=ROOT / "runtime_scripts" / "bin")
BUCKET = "ml-data"
DATA = f"s3://{BUCKET}"
METRICS = [{"Name": n, "Regex": rf"{re.escape(n)}=([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"}
           for n in ("train:auc", "validation:auc", "validation:logloss")]
OUTPUTS = ("train", "validation", "test", "baseline", "transform")


# Children that existed before this module's jobs (e.g. the jsii node process a CDK synth in the
# same test session starts) are not leaks.
_PREEXISTING: set[str] = set()


def _live_children() -> set[str]:
    found: set[str] = set()
    for children in Path("/proc/self/task").glob("*/children"):
        found |= set(children.read_text().split())
    return found


def _children() -> list[str]:
    """Child processes started by this module and still alive (a leaked job or server)."""
    return sorted(_live_children() - _PREEXISTING)


@pytest.fixture(scope="module", autouse=True)
def _record_preexisting_children():
    _PREEXISTING.update(_live_children())


def _keys(s3, uri: str) -> list[str]:
    bucket, _, prefix = uri[5:].partition("/")
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
                  .get("Contents", []))


def _read(s3, uri: str) -> bytes:
    bucket, _, key = uri[5:].partition("/")
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def processing_request(name: str, raw: str) -> dict:
    def output(n: str) -> dict:
        return {"OutputName": n, "S3Output": {"S3Uri": f"{DATA}/{name}/{n}/",
                                              "LocalPath": f"/opt/ml/processing/output/{n}",
                                              "S3UploadMode": "EndOfJob"}}

    return {
        "ProcessingJobName": name,
        "AppSpecification": {"ImageUri": "local", "ContainerEntrypoint": ["process", "preprocess"]},
        "ProcessingInputs": [{"InputName": "raw", "S3Input": {
            "S3Uri": raw, "LocalPath": "/opt/ml/processing/input/raw", "S3DataType": "S3Prefix",
            "S3InputMode": "File", "S3CompressionType": "None"}}],
        "ProcessingOutputConfig": {"Outputs": [output(n) for n in OUTPUTS]},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
        "Environment": {"PYTHONUNBUFFERED": "1", "ML_USE_CASE": "churn"},
    }


def training_definition(prep: str) -> dict:
    """The parts of CreateTrainingJob a TrainingJobDefinition shares."""
    return {
        "AlgorithmSpecification": {"TrainingImage": "local", "TrainingInputMode": "File",
                                   "MetricDefinitions": METRICS},
        "InputDataConfig": [
            {"ChannelName": c, "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": f"{prep}/{c}/",
                "S3DataDistributionType": "FullyReplicated"}}, "CompressionType": "None"}
            for c in ("train", "validation", "transform")],
        "OutputDataConfig": {"S3OutputPath": f"{DATA}/models/"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                           "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
        "CheckpointConfig": {"S3Uri": f"{DATA}/checkpoints/", "LocalPath": "/opt/ml/checkpoints"},
        "Environment": {"ML_USE_CASE": "churn"},
    }


def training_request(name: str, prep: str, **hyperparameters: str) -> dict:
    return {"TrainingJobName": name, "HyperParameters": {"num_round": "20", **hyperparameters},
            **training_definition(prep)}


@pytest.fixture(scope="module")
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET,
                             CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        client.upload_file(str(ROOT / "runtime_scripts/use_cases/churn/sample_data/mlc_churn.csv"),
                           BUCKET,
                           "raw/churn/mlc_churn.csv")
        yield client


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("executors")


@pytest.fixture(scope="module")
def preprocessed(s3, work) -> tuple[JobOutcome, str]:
    request = processing_request("prep", f"{DATA}/raw/churn")
    return executors.run_processing_job(request, s3, PROGRAM, work / "prep"), f"{DATA}/prep"


@pytest.fixture(scope="module")
def trained(s3, work, preprocessed) -> JobOutcome:
    return executors.run_training_job(training_request("train-1", preprocessed[1]), s3, PROGRAM,
                                      work / "train-1")


# --- processing ----------------------------------------------------------------------------------
def test_processing_runs_preprocess_and_uploads_every_output(s3, preprocessed):
    outcome, prefix = preprocessed
    assert outcome.status == "Completed", outcome.failure_reason
    for name in OUTPUTS:
        assert _keys(s3, f"{prefix}/{name}/"), f"output {name} was not uploaded"
    assert "prep/test/raw.csv" in _keys(s3, f"{prefix}/test/")
    assert "rows_used" in outcome.log_tail  # the script's summary line reached the log


def test_a_failed_processing_job_reports_the_exit_message_and_uploads_nothing(s3, work):
    s3.put_object(Bucket=BUCKET, Key="raw/bad/data.csv", Body=b"state,churn\nKS,no\n")
    outcome = executors.run_processing_job(
        processing_request("prep-bad", f"{DATA}/raw/bad/"), s3, PROGRAM, work / "prep-bad")
    assert outcome.status == "Failed"
    assert "feature columns missing" in outcome.failure_reason
    assert outcome.exit_message == outcome.failure_reason  # written to output/message
    assert _keys(s3, f"{DATA}/prep-bad/") == []  # EndOfJob outputs only on success


def test_a_job_over_its_max_runtime_is_stopped_and_failed(s3, work):
    request = {**processing_request("sleepy", f"{DATA}/raw/churn"),
               "AppSpecification": {"ImageUri": "local", "ContainerEntrypoint": ["sleep", "30"]},
               "StoppingCondition": {"MaxRuntimeInSeconds": 1}}
    outcome = executors.run_processing_job(request, s3, PROGRAM, work / "sleepy")
    assert outcome.status == "Failed"
    assert "MaxRuntimeInSeconds (1 s)" in outcome.failure_reason
    assert _children() == []


def test_an_empty_input_prefix_fails_like_sagemaker(s3, work):
    outcome = executors.run_processing_job(
        processing_request("prep-none", f"{DATA}/raw/nothing-here/"), s3, PROGRAM,
        work / "prep-none")
    assert outcome.status == "Failed"
    assert "no S3 objects found under S3 URL" in outcome.failure_reason


# --- training ------------------------------------------------------------------------------------
def test_training_uploads_model_tar_gz_in_sagemaker_layout(s3, trained):
    assert trained.status == "Completed", trained.failure_reason
    assert trained.model_artifacts == f"{DATA}/models/train-1/output/model.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(_read(s3, trained.model_artifacts))) as tar:
        names = sorted(tar.getnames())
    assert names == ["feature_schema.json", "transform.json", "xgboost-model.json"]
    assert trained.final_metrics["validation:auc"] > 0.85
    assert set(trained.final_metrics) == {m["Name"] for m in METRICS}


def test_training_checkpoints_are_uploaded_and_a_second_run_resumes(s3, work, trained,
                                                                    preprocessed):
    assert any(k.endswith(".ubj") for k in _keys(s3, f"{DATA}/checkpoints/"))
    request = training_request("train-2", preprocessed[1], num_round="30")
    outcome = executors.run_training_job(request, s3, PROGRAM, work / "train-2")
    assert outcome.status == "Completed", outcome.failure_reason
    output = _read(s3, f"{DATA}/models/train-2/output/output.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(output)) as tar:
        summary = json.load(tar.extractfile("training_summary.json"))
    assert summary["resumed_from_round"] == 20
    assert summary["rounds_trained"] == 30


def test_a_bad_hyperparameter_fails_with_the_scripts_reason(s3, work, preprocessed):
    request = training_request("train-bad", preprocessed[1], max_depht="4")
    outcome = executors.run_training_job(request, s3, PROGRAM, work / "train-bad",
                                         checkpoints=False)
    assert outcome.status == "Failed"
    assert outcome.failure_reason.startswith("training failed: unknown hyperparameter 'max_depht'")
    assert outcome.model_artifacts is None
    assert _keys(s3, f"{DATA}/models/train-bad/") == []


# --- tuning --------------------------------------------------------------------------------------
def tuning_request(name: str, prep: str, **extra: object) -> dict:
    definition = training_definition(prep)
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize",
                                                 "MetricName": "validation:auc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.05",
                                               "MaxValue": "0.5", "ScalingType": "Logarithmic"}],
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2",
                                            "MaxValue": "6", "ScalingType": "Auto"}],
                "CategoricalParameterRanges": [{"Name": "eval_metric",
                                                "Values": ["auc", "logloss"]}]},
            "TrainingJobEarlyStoppingType": "Off"},
        "TrainingJobDefinition": {**definition,
                                  "StaticHyperParameters": {"num_round": "15"}},
        **extra,
    }


class Recorder:
    """The registry's part: run each trial as a training job and remember what it returned."""

    def __init__(self, s3, workdir: Path) -> None:
        self.s3, self.workdir = s3, workdir
        self.requests: dict[str, dict] = {}
        self.outcomes: dict[str, JobOutcome] = {}

    def __call__(self, name: str, request: dict) -> JobOutcome:
        self.requests[name] = request
        self.outcomes[name] = executors.run_training_job(request, self.s3, PROGRAM,
                                                         self.workdir / name)
        return self.outcomes[name]


@pytest.fixture(scope="module")
def tuned(s3, work, preprocessed):
    recorder = Recorder(s3, work / "tuning")
    outcome = executors.run_tuning_job(tuning_request("tune-1", preprocessed[1]), s3, PROGRAM,
                                       work / "tune-1", run_trial=recorder, max_local_trials=3)
    return outcome, recorder


def test_tuning_runs_real_trials_and_reports_the_real_best(s3, tuned):
    outcome, recorder = tuned
    assert outcome.status == "Completed", outcome.failure_reason
    assert len(outcome.trials) == 3 and outcome.warm_started_from == []
    for name, tuned_hps, objective, status in outcome.trials:
        assert re.fullmatch(r"tune-1-\d{3}-[0-9a-f]{8}", name)
        assert status == "Completed"
        assert objective == recorder.outcomes[name].final_metrics["validation:auc"]
        assert 0.05 <= float(tuned_hps["eta"]) <= 0.5
        assert tuned_hps["max_depth"] in {"2", "3", "4", "5", "6"}
        assert tuned_hps["eval_metric"] in {"auc", "logloss"}
        sent = recorder.requests[name]
        assert sent["HyperParameters"] == {"num_round": "15", **tuned_hps,
                                           "_tuning_objective_metric": "validation:auc"}
        # SageMaker hands every trial the definition's one CheckpointConfig, as is ...
        assert sent["CheckpointConfig"] == training_definition("")["CheckpointConfig"]
        # ... and each trial keeps its checkpoints under its own name there.
        assert any(k.startswith(f"checkpoints/{name}/checkpoint-") for k in
                   _keys(s3, f"{DATA}/checkpoints/{name}/"))
        assert recorder.outcomes[name].status == "Completed"
        assert "StaticHyperParameters" not in sent
    best = max(outcome.trials, key=lambda t: t[2])
    assert (outcome.best_training_job, outcome.best_objective) == (best[0], best[2])
    assert len({json.dumps(t[1], sort_keys=True) for t in outcome.trials}) == 3


def test_warm_started_tuning_begins_at_the_parents_best(s3, work, preprocessed, tuned):
    parent, _ = tuned
    parent_trials = [(hps, objective) for _, hps, objective, _ in parent.trials]
    warm = {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "tune-1"}],
            "WarmStartType": "IdenticalDataAndAlgorithm"}
    recorder = Recorder(s3, work / "tuning-warm")
    outcome = executors.run_tuning_job(
        tuning_request("tune-2", preprocessed[1], WarmStartConfig=warm), s3, PROGRAM,
        work / "tune-2", run_trial=recorder, max_local_trials=2, parent_trials=parent_trials)
    assert outcome.status == "Completed", outcome.failure_reason
    assert outcome.warm_started_from == ["tune-1"]
    best_parent = next(t for t in parent.trials if t[0] == parent.best_training_job)
    assert outcome.trials[0][1] == best_parent[1]
    assert outcome.trials[0][2] == pytest.approx(parent.best_objective)  # same data, same model
    assert outcome.best_objective >= parent.best_objective - 1e-9


def test_tuning_fails_only_when_every_trial_failed(s3, work, preprocessed):
    request = tuning_request("tune-bad", preprocessed[1])
    request["TrainingJobDefinition"]["StaticHyperParameters"] = {"num_round": "zero"}
    outcome = executors.run_tuning_job(request, s3, PROGRAM, work / "tune-bad",
                                       run_trial=Recorder(s3, work / "tuning-bad"),
                                       max_local_trials=2)
    assert outcome.status == "Failed"
    assert "No training job succeeded after 2 attempts" in outcome.failure_reason
    assert "num_round" in outcome.failure_reason
    assert outcome.best_training_job is None


# --- batch transform -----------------------------------------------------------------------------
def transform_request(name: str, source: str, **overrides: object) -> dict:
    request = {
        "TransformJobName": name, "ModelName": "churn",
        "BatchStrategy": "MultiRecord", "MaxPayloadInMB": 1, "MaxConcurrentTransforms": 1,
        "ModelClientConfig": {"InvocationsTimeoutInSeconds": 60, "InvocationsMaxRetries": 1},
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                           "S3Uri": source}},
                           "ContentType": "text/csv", "SplitType": "Line",
                           "CompressionType": "None"},
        "TransformOutput": {"S3OutputPath": f"{DATA}/batch/{name}/", "Accept": "text/csv",
                            "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "DataProcessing": {"InputFilter": "$", "JoinSource": "None", "OutputFilter": "$"},
        "Environment": {"ML_USE_CASE": "churn"},
    }
    return {**request, **overrides}


@pytest.fixture(scope="module")
def holdout(s3, preprocessed, trained) -> tuple[list[list[str]], list[str]]:
    """The held-out test split as a client sends it: header-less raw features, in the model's
    input_columns order, in two objects (one nested); plus the true labels."""
    with tarfile.open(fileobj=io.BytesIO(_read(s3, trained.model_artifacts))) as tar:
        columns = json.load(tar.extractfile("feature_schema.json"))["input_columns"]
    table = list(csv.DictReader(io.StringIO(_read(s3, f"{preprocessed[1]}/test/raw.csv")
                                            .decode())))[:300]
    rows = [[r[c] for c in columns] for r in table]
    for key, part in (("holdout/a.csv", rows[:150]), ("holdout/more/b.csv", rows[150:])):
        s3.put_object(Bucket=BUCKET, Key=key, Body="".join(",".join(r) + "\n" for r in part))
    return rows, [r["churn"] for r in table]


def test_transform_joins_each_input_line_with_its_prediction(s3, work, trained, holdout):
    rows, labels = holdout
    request = transform_request("batch-join", f"{DATA}/holdout/", DataProcessing={
        "InputFilter": "$", "JoinSource": "Input", "OutputFilter": "$"})
    outcome = executors.run_transform_job(request, {"ModelDataUrl": trained.model_artifacts},
                                          s3, PROGRAM, work / "batch-join")
    assert outcome.status == "Completed", outcome.failure_reason
    assert outcome.output_location == f"{DATA}/batch/batch-join/"
    assert _keys(s3, outcome.output_location) == ["batch/batch-join/a.csv.out",
                                                  "batch/batch-join/more/b.csv.out"]
    lines = [line for key in ("a.csv.out", "more/b.csv.out")
             for line in _read(s3, f"{DATA}/batch/batch-join/{key}").decode().splitlines()]
    assert len(lines) == len(rows)
    predicted = [line.split(",") for line in lines]
    assert all(p[:-2] == r for p, r in zip(predicted, rows, strict=True))
    assert all(0 <= float(p[-2]) <= 1 and p[-1] in {"yes", "no"} for p in predicted)
    accuracy = sum(p[-1] == label for p, label in zip(predicted, labels, strict=True)) / len(rows)
    assert accuracy > 0.85
    assert _children() == []  # the server was stopped


def test_transform_filters_columns_around_single_record_requests(s3, work, trained, holdout):
    rows, _ = holdout
    ids = "".join(f"id-{i}," + ",".join(r) + "\n" for i, r in enumerate(rows[:20]))
    s3.put_object(Bucket=BUCKET, Key="with-ids/rows.csv", Body=ids)
    request = transform_request("batch-ids", f"{DATA}/with-ids/rows.csv",
                                BatchStrategy="SingleRecord", DataProcessing={
                                    "InputFilter": "$[1:]", "JoinSource": "Input",
                                    "OutputFilter": "$[0,-1]"})
    outcome = executors.run_transform_job(request, {"ModelDataUrl": trained.model_artifacts},
                                          s3, PROGRAM, work / "batch-ids")
    assert outcome.status == "Completed", outcome.failure_reason
    lines = _read(s3, f"{DATA}/batch/batch-ids/rows.csv.out").decode().splitlines()
    assert [line.split(",")[0] for line in lines] == [f"id-{i}" for i in range(20)]
    assert all(line.split(",")[1] in {"yes", "no"} for line in lines)


def test_a_rejected_record_fails_the_transform_with_the_servers_message(s3, work, trained,
                                                                        holdout):
    rows, _ = holdout
    bad = [list(r) for r in rows[:5]]
    bad[2][1] = "lots"  # account_length, a numeric column
    s3.put_object(Bucket=BUCKET, Key="bad/rows.csv",
                  Body="".join(",".join(r) + "\n" for r in bad))
    request = transform_request("batch-bad", f"{DATA}/bad/", BatchStrategy="SingleRecord")
    outcome = executors.run_transform_job(request, {"ModelDataUrl": trained.model_artifacts},
                                          s3, PROGRAM, work / "batch-bad")
    assert outcome.status == "Failed"
    assert outcome.failure_reason.startswith(
        f"the model server answered 400 to record 3 of {DATA}/bad/rows.csv: ")
    assert "'lots'" in outcome.failure_reason
    assert _children() == []


def test_a_model_server_that_cannot_start_fails_the_transform(s3, work, holdout):
    empty = work / "empty-model.tar.gz"
    with tarfile.open(empty, "w:gz"):
        pass
    s3.upload_file(str(empty), BUCKET, "models/empty/model.tar.gz")
    outcome = executors.run_transform_job(
        transform_request("batch-nomodel", f"{DATA}/holdout/"),
        {"ModelDataUrl": f"{DATA}/models/empty/model.tar.gz"}, s3, PROGRAM,
        work / "batch-nomodel")
    assert outcome.status == "Failed"
    assert "the model server exited with code 1 before answering /ping" in outcome.failure_reason
    assert _children() == []
