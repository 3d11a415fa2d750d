"""A training job on several instances (ResourceConfig.InstanceCount > 1), run locally: one
`train` per host at once, each told the hosts and where the first one listens; the first host's
model is the job's; one failing host fails the job. The image here is a stub `train` that
writes what its container was told, so the test needs no framework."""

from __future__ import annotations

import json
import tarfile
import textwrap
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local_runner import executors
from local_runner.executors import LocalProgram

BUCKET = "ml-data"
# Each host records what SageMaker (and the local runner) told it, and prints a metric; a host
# named in FAIL_ON exits with an error the way a training script reports one.
TRAIN = textwrap.dedent("""\
    #!/bin/sh
    set -eu
    root=${ML_ROOT}
    cat > "$root/model/host-$SM_CURRENT_HOST.json" <<JSON
    {"hosts": $SM_HOSTS, "current": "$SM_CURRENT_HOST",
     "master": "${MASTER_ADDR:-}:${MASTER_PORT:-}",
     "resourceconfig": $(cat "$root/input/config/resourceconfig.json"),
     "channel": "$(cat "$root/input/data/train/part.txt")"}
    JSON
    echo "#metrics validation:accuracy=0.$(echo "$SM_CURRENT_HOST" | tr -dc 0-9)"
    if [ "${FAIL_ON:-}" = "$SM_CURRENT_HOST" ]; then
        echo "host broke" > "$root/output/failure"; exit 1
    fi
""")


@pytest.fixture(scope="module")
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET,
                             CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        client.put_object(Bucket=BUCKET, Key="data/train/part.txt", Body=b"the images")
        yield client


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> LocalProgram:
    bin_dir = tmp_path_factory.mktemp("image") / "bin"
    bin_dir.mkdir()
    (bin_dir / "train").write_text(TRAIN)
    (bin_dir / "train").chmod(0o755)
    return LocalProgram(bin_dir=bin_dir)


def request(name: str, count: int, **environment: str) -> dict:
    return {
        "TrainingJobName": name, "HyperParameters": {},
        "AlgorithmSpecification": {"TrainingImage": "local", "TrainingInputMode": "File",
                                   "MetricDefinitions": [{"Name": "validation:accuracy",
                                                          "Regex": r"accuracy=([0-9.]+)"}]},
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data/train/",
            "S3DataDistributionType": "FullyReplicated"}}}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models/"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": count,
                           "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 120},
        "Environment": environment,
    }


def _model_files(s3, uri: str, into: Path) -> dict[str, dict]:
    bucket, _, key = uri[5:].partition("/")
    archive = into / "model.tar.gz"
    archive.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    with tarfile.open(archive) as tar:
        tar.extractall(into / "model", filter="data")
    return {p.name: json.loads(p.read_text()) for p in (into / "model").iterdir()}


def test_every_host_runs_with_the_hosts_and_the_first_hosts_model_is_the_jobs(
        s3, program, tmp_path):
    outcome = executors.run_training_job(request("multi", 3), s3, program, tmp_path / "job")
    assert outcome.completed, outcome.failure_reason
    assert outcome.final_metrics == {"validation:accuracy": 0.1}  # the first host's log
    hosts = ["algo-1", "algo-2", "algo-3"]
    saved = _model_files(s3, outcome.model_artifacts, tmp_path)
    assert list(saved) == ["host-algo-1.json"]  # only the first host's model directory
    for host in hosts:
        told = json.loads((tmp_path / "job" / host / "ml" / "model" / f"host-{host}.json")
                          .read_text())
        assert told["hosts"] == hosts and told["current"] == host
        assert told["resourceconfig"]["hosts"] == hosts
        assert told["resourceconfig"]["current_host"] == host
        assert told["channel"] == "the images"  # FullyReplicated: every host has the data
        assert told["master"] == saved["host-algo-1.json"]["master"]
        assert told["master"].startswith("127.0.0.1:")


def test_one_failing_host_fails_the_job_naming_it(s3, program, tmp_path):
    outcome = executors.run_training_job(request("broken", 2, FAIL_ON="algo-2"), s3, program,
                                         tmp_path / "job")
    assert not outcome.completed and outcome.model_artifacts is None
    assert outcome.failure_reason == "algo-2: host broke"


def test_one_instance_keeps_the_single_host_layout(s3, program, tmp_path):
    outcome = executors.run_training_job(request("single", 1), s3, program, tmp_path / "job")
    assert outcome.completed, outcome.failure_reason
    told = json.loads((tmp_path / "job" / "ml" / "model" / "host-algo-1.json").read_text())
    assert told["hosts"] == ["algo-1"] and told["master"] == ":"  # no rendezvous alone
