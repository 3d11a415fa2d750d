"""A processing job in an AWS-owned image with a built-in entry point (Data Wrangler's) runs its
stand-in locally as a labelled emulation; an image without a stand-in still fails clearly."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local_runner.executors import LocalProgram, run_processing_job
from local_runner.local_sagemaker import LocalSageMaker
from local_runner.stand_ins import emulated_jobs
from runtime_scripts.pipeline_input import data_wrangler

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = LocalProgram(bin_dir=ROOT / "runtime_scripts" / "bin")
BUCKET = "stand-in-test"
FLOW = ROOT / "runtime_scripts" / "use_cases" / "churn" / "data_wrangler" / "churn.flow"
SAMPLE = ROOT / "runtime_scripts" / "use_cases" / "churn" / "sample_data" / "mlc_churn.csv"
IMAGE = "245179582081.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-data-wrangler-container:3.x"
OUTPUT = "e1f2a3b4-c5d6-4e7f-8091-a2b3c4d5e6f7.default"


@pytest.fixture(scope="module")
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET,
                             CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        client.upload_file(str(FLOW), BUCKET, "data-wrangler/churn/churn.flow")
        client.upload_file(str(SAMPLE), BUCKET, "raw/churn/mlc_churn.csv")
        yield client


def request(image: str, output: str = OUTPUT) -> dict:
    """What `Run Data Wrangler flow` sends, with the pieces the validator's check returns."""
    job = data_wrangler.check_flow({
        "flow": FLOW.read_text(), "data_s3_uri": f"s3://{BUCKET}/raw/churn/",
        "preprocessing": {"data_wrangler_flow": f"s3://{BUCKET}/data-wrangler/churn/churn.flow",
                          "output_node": OUTPUT},
        "dataset_spec_given": True, "platform": {}})
    return {
        "ProcessingJobName": "dw", "AppSpecification": {
            "ImageUri": image, "ContainerArguments": job["arguments"]},
        "ProcessingInputs": job["inputs"],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": output, "S3Output": {
            "S3Uri": f"s3://{BUCKET}/run/data-wrangler/",
            "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    }


def test_data_wranglers_image_runs_as_a_labelled_pass_through(s3, tmp_path):
    sagemaker = LocalSageMaker(s3=s3, program=PROGRAM, workdir=tmp_path)
    described = sagemaker.call("createProcessingJob", request(IMAGE))
    assert described["ProcessingJobStatus"] == "Completed", described.get("FailureReason")
    # What `mlplatform run` prints after the execution (local_runner/cli.py).
    (message,) = emulated_jobs(sagemaker.state.jobs["processing-job"]).values()
    assert message == described["ExitMessage"]
    assert message.startswith("EMULATED: Data Wrangler's container cannot run on this machine")
    assert "NOT applied" in message and "'mlc_churn.csv'" in message
    copied = s3.get_object(Bucket=BUCKET, Key="run/data-wrangler/mlc_churn.csv")["Body"].read()
    assert copied == SAMPLE.read_bytes()  # the same raw data, for the use case's preprocessing


def test_the_stand_in_refuses_an_output_the_flow_lacks(s3, tmp_path):
    bad = request(IMAGE)
    bad["AppSpecification"]["ContainerArguments"] = [
        "--output-config '" + json.dumps({"nope.default": {"content_type": "CSV"}}) + "'"]
    outcome = run_processing_job(bad, s3, PROGRAM, tmp_path)
    assert not outcome.completed and "has no output 'nope.default'" in outcome.failure_reason


def test_an_image_without_entry_point_or_stand_in_fails_saying_so(s3, tmp_path):
    outcome = run_processing_job(request("123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1"),
                                 s3, PROGRAM, tmp_path)
    assert not outcome.completed
    assert "has no stand-in for it" in outcome.failure_reason
