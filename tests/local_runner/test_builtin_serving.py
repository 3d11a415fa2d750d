"""A use case trained by its built-in algorithm on RecordIO-protobuf and served from that
algorithm's own container, through the platform's state machines, executed locally: the
session's `every` stage deploys each use case whose built-in has an inference container so
(tests/conftest.py BUILTIN_SERVING_ENTRY; personas' K-Means). One training execution (the
K-Means emulation trains on the Records preprocessing wrote, `process package` repacks the model
for evaluation, the package names the built-in image on its own model.tar.gz) and one batch
inference of the test split's features through the built-in container's emulation, shared by
the module's assertions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from local_runner.local_run import LocalPlatform
from local_runner.local_seed import RAW_BUCKET_OUTPUT, Seed, Upload
from local_runner.stand_ins import EMULATED
from runtime_scripts import contract
from runtime_scripts.common import builtin_algorithms, recordio_protobuf
from runtime_scripts.common.manifest import load_manifest
from tests.conftest import EVERY_USE_CASE

ACCEPT = "application/jsonlines"


def _s3_parts(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


@pytest.fixture(scope="module")
def served(synthesized, tmp_path_factory):
    stage = synthesized[EVERY_USE_CASE]
    (use_case,) = [u for u in stage.config.use_cases if u.builtin_serving]
    manifest = load_manifest(use_case.name)
    with LocalPlatform(stage.outdir, workdir=tmp_path_factory.mktemp("builtin-run")) as platform:
        platform.seed(Seed((Upload(manifest.path(manifest.sample_data), RAW_BUCKET_OUTPUT,
                                   f"{use_case.prefix}customers.csv"),)))
        raw = platform.account.output(RAW_BUCKET_OUTPUT)
        s3 = platform.clients.s3
        training = platform.run(f"{use_case.name}:training", {
            "data": {"raw_s3_uri": f"s3://{raw}/{use_case.prefix}"}}, name="builtin-training")
        assert training.status == "SUCCEEDED", training.cause
        bucket, key = _s3_parts(training.output["run"]["s3"]["test"])
        features = s3.get_object(Bucket=bucket, Key=f"{key}{contract.SPLIT_FILE}")["Body"].read()
        s3.put_object(Bucket=raw, Key="features/test.csv", Body=features)
        batch = platform.run(f"{use_case.name}:batch-inference", {
            "data": {"input_s3_uri": f"s3://{raw}/features/", "content_type": "text/csv",
                     "accept": ACCEPT}}, name="builtin-batch")
        yield platform, use_case, training, batch, features


def test_the_builtin_trains_on_records_and_its_container_is_registered(served):
    platform, use_case, training, _, _ = served
    job = platform.sagemaker.describe_job("training-job",
                                          training.output["model"]["training_job_name"])
    assert {c["ContentType"] for c in job["InputDataConfig"]} == {recordio_protobuf.CONTENT_TYPE}
    assert job.get("LocalEmulation", "").startswith(EMULATED)
    bucket, key = _s3_parts(training.output["run"]["s3"]["train"])
    objects = platform.clients.s3.list_objects_v2(Bucket=bucket, Prefix=key)["Contents"]
    assert [o["Key"].removeprefix(key) for o in objects] == [contract.RECORDIO_SPLIT_FILE]
    package = platform.sagemaker.call("describeModelPackage", {
        "ModelPackageName": training.output["registered"]["arn"]})
    (container,) = package["InferenceSpecification"]["Containers"]
    framework = use_case.manifest.image.builtin_training.framework
    assert container["Image"] == job["AlgorithmSpecification"]["TrainingImage"]
    assert container["Image"].split("/")[-1].startswith(
        builtin_algorithms.algorithm(framework).repository + ":")
    assert container["ModelDataUrl"] == training.output["model"]["builtin_artifacts"]
    assert ACCEPT in package["InferenceSpecification"]["SupportedResponseMIMETypes"]


def test_the_batch_is_answered_by_the_builtin_containers_emulation(served):
    platform, _, training, batch, features = served
    assert batch.status == "SUCCEEDED", batch.cause
    bucket, key = _s3_parts(batch.output["transform_result"]["output"])
    body = platform.clients.s3.get_object(Bucket=bucket, Key=f"{key}test.csv.out")["Body"].read()
    answers = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
    rows = np.loadtxt(features.decode().splitlines(), delimiter=",", ndmin=2)
    assert len(answers) == len(rows)
    assert set(answers[0]) == {"closest_cluster", "distance_to_cluster"}
    k = int(training.output["model"]["hyperparameters"]["k"])
    assert {a["closest_cluster"] for a in answers} <= set(map(float, range(k)))
    transform = platform.sagemaker.describe_job("transform-job",
                                                batch.output["run"]["job_names"]["transform"])
    assert "EMULATED" in transform["LogTail"]
