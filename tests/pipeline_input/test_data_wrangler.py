"""A Data Wrangler flow in the training input: where it may be, and the second check of the flow
itself (its output node, its S3 source, its columns against the dataset spec), on the churn
example flow (hand-written, runtime_scripts/use_cases/churn/data_wrangler/churn.flow)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from runtime_scripts.pipeline_input import InvalidPipelineInput, data_wrangler
from runtime_scripts.pipeline_input.handler import handler

from .events import TRAINING_PLATFORM, error, training

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "runtime_scripts" / "use_cases" / "churn" / "data_wrangler" / "churn.flow"
FLOWS = TRAINING_PLATFORM["data_wrangler_flows"]
FLOW_URI = f"{FLOWS}churn.flow"
OUTPUT = "e1f2a3b4-c5d6-4e7f-8091-a2b3c4d5e6f7.default"  # the example's S3 destination
CAST = "9b7e2c11-5f4a-4d6b-8e21-7a8b9c0d1e2f"  # its infer-and-cast-type node
DATA = "s3://mlplatform-dev-raw-123456789012/churn/"


def flow_document() -> dict:
    return json.loads(EXAMPLE.read_text())


def check_event(flow: dict | str, output: str | None = OUTPUT, *, spec_given: bool = False):
    """What the state machine hands `Check Data Wrangler flow`."""
    return {"check": data_wrangler.CHECK, "pipeline": "training",
            "flow": flow if isinstance(flow, str) else json.dumps(flow),
            "preprocessing": {"data_wrangler_flow": FLOW_URI, "output_node": output},
            "data_s3_uri": DATA, "dataset_spec_given": spec_given,
            "platform": TRAINING_PLATFORM}


def refusal(event: dict) -> str:
    with pytest.raises(InvalidPipelineInput) as caught:
        handler(event)
    return str(caught.value)


def with_node_after_cast(node: dict) -> dict:
    """The example with `node` between the cast and what followed it."""
    flow = flow_document()
    node = {"node_id": "added", "type": "TRANSFORM", "outputs": [{"name": "default"}],
            "inputs": [{"name": "default", "node_id": CAST, "output_name": "default"}], **node}
    for other in flow["nodes"]:
        for edge in other.get("inputs", []):
            if edge["node_id"] == CAST and other["type"] != "VISUALIZATION":
                edge["node_id"] = "added"
    flow["nodes"].append(node)
    return flow


def test_a_flow_in_the_input_is_derived_for_the_states():
    run = training({"preprocessing": {"data_wrangler_flow": FLOW_URI,
                                      "output_node": OUTPUT}})["run"]
    assert run["data_wrangler"] == {
        "enabled": True, "flow_s3_uri": FLOW_URI,
        "flow_bucket": "mlplatform-dev-artifacts-123456789012",
        "flow_key": "data-wrangler/churn/churn.flow",
        "output_s3_uri": f"{run['prefix']}data-wrangler/", "dataset_spec_given": False}
    assert run["job_names"]["data_wrangler"].startswith("mlplatform-dev-churn-dw-")


@pytest.mark.parametrize(("preprocessing", "key", "words"), [
    ({"data_wrangler_flow": "s3://someone-elses-bucket/data-wrangler/churn/x.flow"},
     "preprocessing.data_wrangler_flow", "not a flow file under the use case's flows prefix"),
    ({"data_wrangler_flow": f"{TRAINING_PLATFORM['data_wrangler_flows'][:-6]}ames/x.flow"},
     "preprocessing.data_wrangler_flow", "flows prefix"),
    ({"data_wrangler_flow": f"{FLOWS}churn.json"}, "preprocessing.data_wrangler_flow",
     f"allowed: {FLOWS}<name>.flow"),
    ({"output_node": OUTPUT}, "preprocessing.output_node", "without a flow"),
])
def test_the_first_state_refuses_a_flow_it_may_not_read_or_an_output_without_flow(
        preprocessing, key, words):
    exc = error(InvalidPipelineInput, training, {"preprocessing": preprocessing})
    assert exc.keys == [key] and words in str(exc), str(exc)


def test_the_example_flow_gives_data_wranglers_processing_inputs_output_and_arguments():
    job = handler(check_event(flow_document()))
    assert job["inputs"] == [
        {"InputName": "flow", "S3Input": {
            "S3Uri": FLOW_URI, "LocalPath": "/opt/ml/processing/flow", "S3DataType": "S3Prefix",
            "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}},
        {"InputName": "mlc_churn.csv", "S3Input": {
            "S3Uri": DATA, "LocalPath": "/opt/ml/processing/mlc_churn.csv",
            "S3DataType": "S3Prefix", "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated"}}]
    assert job["output_name"] == OUTPUT
    # One argument, the JSON in single quotes, as the SageMaker SDK passes Data Wrangler's.
    assert job["arguments"] == ["--output-config '" + json.dumps({OUTPUT: {"content_type": "CSV"}})
                                + "'"]
    spec = TRAINING_PLATFORM["dataset_spec_columns"]
    assert set(job["columns"]) == {spec["target"], *spec["id_columns"], *spec["features"]}


def test_a_flow_without_an_output_named_is_refused_with_its_outputs():
    message = refusal(check_event(flow_document(), output=None))
    assert "names no output to run: set preprocessing.output_node to one of" in message
    assert OUTPUT in message and f"{CAST}.default" in message
    assert "5a6b7c8d" not in message  # the insights report writes no data


def test_an_output_the_flow_lacks_is_refused_with_its_outputs():
    message = refusal(check_event(flow_document(), output="nope.default"))
    assert "has no output 'nope.default'; its outputs: " in message and OUTPUT in message


def test_an_output_missing_spec_columns_is_refused_before_training():
    flow = with_node_after_cast({
        "operator": "sagemaker.spark.manage_columns_0.1",
        "parameters": {"operator": "Drop column",
                       "drop_column_parameters": {"column_to_drop": ["churn", "customer_id"]}}})
    message = refusal(check_event(flow))
    assert "preprocessing.output_node" in message
    assert "lacks columns of the use case's dataset spec: target churn; id customer_id" in message


def test_a_rename_is_followed_and_a_spec_given_per_execution_is_left_to_preprocessing():
    renamed = with_node_after_cast({
        "operator": "sagemaker.spark.manage_columns_0.1",
        "parameters": {"operator": "Rename column", "rename_column_parameters": {
            "input_column": "state", "new_name": "us_state"}}})
    assert "feature state" in refusal(check_event(renamed))
    # The preprocessing job reads a spec given in S3 and checks the columns there.
    assert handler(check_event(renamed, spec_given=True))["output_name"] == OUTPUT


def test_columns_a_transform_may_change_are_left_to_preprocessing():
    custom = with_node_after_cast({"operator": "sagemaker.spark.custom_pandas_0.1",
                                   "parameters": {"code": "df = df.drop(columns=['churn'])"}})
    assert handler(check_event(custom))["columns"] is None


@pytest.mark.parametrize(("flow", "words"), [
    ("{not json", "is not JSON"),
    ("[]", "a JSON object with a 'nodes' list"),
])
def test_a_file_that_is_no_flow_is_refused(flow, words):
    assert words in refusal(check_event(flow))


def test_a_flow_reading_two_sources_is_refused():
    flow = flow_document()
    second = copy.deepcopy(flow["nodes"][0])
    second["node_id"] = "second-source"
    flow["nodes"].append(second)
    flow["nodes"][1]["inputs"].append({"name": "other", "node_id": "second-source",
                                       "output_name": "default"})
    assert "must read exactly one S3 source" in refusal(check_event(flow))


def test_a_use_case_whose_data_is_no_table_refuses_a_flow():
    platform = {**TRAINING_PLATFORM, "use_case": "defects", "dataset_spec_columns": None,
                "data_wrangler_flows": FLOWS.replace("/churn/", "/defects/")}
    flow = platform["data_wrangler_flows"] + "x.flow"
    exc = error(InvalidPipelineInput, training, {"preprocessing": {
        "data_wrangler_flow": flow, "output_node": OUTPUT}}, platform=platform)
    assert exc.keys == ["preprocessing.data_wrangler_flow"]
    assert 'use case "defects" does not read a table of target and feature columns' in str(exc)
