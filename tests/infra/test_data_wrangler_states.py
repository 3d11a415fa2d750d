"""The training state machine's Data Wrangler states (session synth fixtures, no new variant):
checked before any job, run in Data Wrangler's image with its built-in entry point, then the use
case's preprocessing on the flow's output; the flow is readable only under its use case's prefix."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template
from sagemaker.core import image_uris

TRAINING = "mlplatform-dev-churn-training"


@pytest.fixture(scope="module")
def states(definitions) -> dict:
    return definitions["dev"][TRAINING]["States"]


def test_the_flow_is_checked_first_and_run_before_preprocessing(states):
    assert states["Validate input"]["Next"] == "Data Wrangler flow given?"
    given = states["Data Wrangler flow given?"]
    assert given["Choices"][0]["Variable"] == "$.run.data_wrangler.enabled"
    assert given["Choices"][0]["Next"] == "Read Data Wrangler flow"
    assert given["Default"] == "Run Glue ETL?"  # without a flow: as before
    assert states["Read Data Wrangler flow"]["Next"] == "Check Data Wrangler flow"
    check = states["Check Data Wrangler flow"]
    assert check["Parameters"]["check"] == "data-wrangler-flow"
    assert check["ResultPath"] == "$.run.data_wrangler.job"
    # After the optional Glue job, so the flow reads the curated data when Glue ran.
    assert states["Run Glue ETL"]["Next"] == "Run Data Wrangler flow?"
    run = states["Run Data Wrangler flow?"]
    assert run["Choices"][0]["Next"] == "Run Data Wrangler flow"
    assert run["Default"] == "Dataset spec given?"
    assert states["Run Data Wrangler flow"]["Next"] == "Preprocess the flow's output"
    assert states["Preprocess the flow's output"]["Next"] == "Dataset spec given?"
    assert states["Preprocess the flow's output"]["ResultPath"] == "$.run.s3.preprocessing_input"


def test_the_job_runs_in_data_wranglers_image_with_its_own_entry_point(states):
    request = states["Run Data Wrangler flow"]["Parameters"]
    assert request["AppSpecification"] == {
        "ImageUri": image_uris.retrieve("data-wrangler", "eu-west-1"),
        "ContainerArguments.$": "$.run.data_wrangler.job.arguments"}
    assert request["ProcessingInputs.$"] == "$.run.data_wrangler.job.inputs"
    output = request["ProcessingOutputConfig"]["Outputs"][0]
    assert output["OutputName.$"] == "$.run.data_wrangler.job.output_name"
    assert output["S3Output"]["LocalPath"] == "/opt/ml/processing/output"
    assert "Environment" not in request  # nothing of our image's
    assert request["NetworkConfig"]["EnableNetworkIsolation"] is True


def test_the_state_machine_reads_flows_only_under_its_use_cases_prefix(dev):
    template = Template.from_stack(dev.stack("Pipelines"))
    resources = json.dumps([
        s["Resource"] for p in template.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "s3:getobject" in json.dumps(s["Action"]).lower()
        and "StateMachineRole" in json.dumps(p["Properties"]["Roles"])])
    assert "/data-wrangler/churn/*" in resources
    assert '/data-wrangler/*"' not in resources
