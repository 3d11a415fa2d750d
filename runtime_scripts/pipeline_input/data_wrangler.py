"""A Data Wrangler flow in place of the use case's own data preparation (training pipeline).

Declared per execution: `preprocessing: {"data_wrangler_flow": "s3://<artifacts>/data-wrangler/
<use case>/<name>.flow", "output_node": "<node id>.default"}` (docs/pipeline-inputs.md). Checked
twice before any job is paid for, both times here:
1. `Validate input` (the training module's `check`/`derive`): the keys, and the flow's location
   (under the use case's flows prefix, the one place the roles may read flows from).
2. `Check Data Wrangler flow` (this module's `check_flow`, the same Lambda), after the state
   machine read the flow object: the flow parses, the named output exists (else the flow's
   outputs are listed), it reads one S3 source, and its columns, where the flow records them,
   hold every target, id and feature column of the use case's bundled dataset spec.
The second check returns the Data Wrangler processing job's inputs, output and arguments.
"""

from __future__ import annotations

import json
from typing import Any

from . import wrangler_flow
from .errors import InvalidPipelineInput, Problem, render
from .schema import ListOf, Nullable, Obj, S3Uri, Str
from .values import split_s3_uri

CHECK = "data-wrangler-flow"  # the event's `check`: the second invocation (handler.py)
FLOW_KEY, NODE_KEY = "preprocessing.data_wrangler_flow", "preprocessing.output_node"
FLOW_SUFFIX = ".flow"
# AWS's contract for a flow run as a processing job (Data Wrangler's export notebooks and the
# SageMaker SDK's DataWranglerProcessor): the flow is the input named `flow` at
# /opt/ml/processing/flow; each S3 source is an input named after its dataset, at
# /opt/ml/processing/<name>; the output is named `<node id>.<output name>` and written from
# /opt/ml/processing/output; `--output-config '{"<output>": {"content_type": "CSV"}}'` is one
# container argument (as the SDK passes it) choosing the output's format.
PROCESSING_DIR = "/opt/ml/processing"
FLOW_INPUT = "flow"
OUTPUT_CONTENT_TYPE = "CSV"  # what the use case's preprocessing reads (it also reads Parquet)
ARGUMENT_MAX = 256  # CreateProcessingJob: each ContainerArguments item is at most 256 characters

SCHEMA = Obj({
    "data_wrangler_flow": Nullable(S3Uri()),
    "output_node": Nullable(Str(max_len=200)),
})
# Fixed per state machine (ml_constructs/pipeline_defaults.py): where flows may be read from,
# and the columns of the use case's bundled dataset spec.
PLATFORM_FIELDS = {
    "data_wrangler_flows": Str(max_len=1024),
    # null: the use case's data is no table of target and features (images, time series).
    "dataset_spec_columns": Nullable(Obj({"target": Str(max_len=255),
                                          "id_columns": ListOf(Str(max_len=255)),
                                          "features": ListOf(Str(max_len=255), 1)})),
}


def check(doc: dict[str, Any], platform: dict[str, Any], out: list[Problem]) -> None:
    section = doc["preprocessing"]
    flow, node = section["data_wrangler_flow"], section["output_node"]
    if flow is None:
        if node is not None:
            out.append(Problem(NODE_KEY, "names a Data Wrangler output without a flow",
                               f"set {FLOW_KEY} too, or drop {NODE_KEY}"))
        return
    if platform["dataset_spec_columns"] is None:
        out.append(Problem(FLOW_KEY, f"use case {render(platform['use_case'])} does not read a "
                           "table of target and feature columns, which is what a flow writes",
                           "null (its own preprocessing)"))
        return
    where = platform["data_wrangler_flows"]
    if not flow.startswith(where) or not flow.endswith(FLOW_SUFFIX) or flow == where:
        out.append(Problem(FLOW_KEY, f"{render(flow)} is not a flow file under the use case's "
                           "flows prefix (the one place the pipeline's roles may read flows)",
                           f"{where}<name>{FLOW_SUFFIX}"))


def derive(doc: dict[str, Any], run_prefix: str) -> dict[str, Any]:
    """`run.data_wrangler`: whether the flow runs, where it is and where it writes."""
    flow = doc["preprocessing"]["data_wrangler_flow"]
    if flow is None:
        return {"enabled": False}
    bucket, key = split_s3_uri(flow)
    return {"enabled": True, "flow_s3_uri": flow, "flow_bucket": bucket, "flow_key": key,
            "output_s3_uri": f"{run_prefix}data-wrangler/",
            "dataset_spec_given": doc["data"]["dataset_spec_s3_uri"] is not None}


# --- the second check: the flow itself -------------------------------------------------------
def check_flow(event: dict[str, Any]) -> dict[str, Any]:
    """Event: {"check": CHECK, "flow": <the flow object's text>, "preprocessing": {...},
    "data_s3_uri": <what the flow reads>, "dataset_spec_given": bool, "platform": {...}}.
    Returns the processing job's `inputs`, `output_name`, `arguments` and `columns` (the
    columns checked, or None where the flow does not record them)."""
    section = event["preprocessing"]
    try:
        flow = wrangler_flow.parse(event["flow"])
        output = section["output_node"]
        if output is None:
            raise wrangler_flow.FlowError(
                f"names no output to run: set {NODE_KEY} to one of "
                f"{', '.join(flow.output_names) or 'none (the flow has no outputs)'}")
        source = wrangler_flow.dataset_name(flow.source(output))
        columns = flow.columns(output)
    except wrangler_flow.FlowError as exc:
        raise InvalidPipelineInput([Problem(FLOW_KEY, f"{render(section['data_wrangler_flow'])}"
                                            f" {exc}")]) from None
    problems = []
    # A spec given per execution is read by the preprocessing job, which checks its columns.
    if columns is not None and not event["dataset_spec_given"]:
        missing = _missing(event["platform"]["dataset_spec_columns"], set(columns))
        if missing:
            problems.append(Problem(NODE_KEY, f"the flow's output {render(output)} lacks columns "
                                    f"of the use case's dataset spec: {missing}",
                                    "a flow whose output keeps the spec's target, id and "
                                    "feature columns by name"))
    arguments = [f"--output-config '{json.dumps({output: {'content_type': OUTPUT_CONTENT_TYPE}})}'"]
    if len(arguments[0]) > ARGUMENT_MAX:
        problems.append(Problem(NODE_KEY, f"{render(output)} is too long for the job's "
                                "--output-config argument", f"at most {ARGUMENT_MAX} characters "
                                "in all"))
    if source == FLOW_INPUT:
        problems.append(Problem(FLOW_KEY, f"the flow's dataset is named {render(FLOW_INPUT)}, "
                                "the name of the flow's own processing input", "rename the "
                                "dataset in Data Wrangler"))
    if problems:
        raise InvalidPipelineInput(problems)
    return {
        "inputs": [_input(FLOW_INPUT, section["data_wrangler_flow"]),
                   _input(source, event["data_s3_uri"])],
        "output_name": output,
        "arguments": arguments,
        "columns": columns,
    }


def _missing(spec: dict[str, Any], columns: set[str]) -> str:
    kinds = [("target", [spec["target"]]), ("id", spec["id_columns"]),
             ("feature", spec["features"])]
    return "; ".join(f"{kind} {', '.join(absent)}" for kind, names in kinds
                     if (absent := [n for n in names if n not in columns]))


def _input(name: str, s3_uri: str) -> dict[str, Any]:
    return {"InputName": name, "S3Input": {
        "S3Uri": s3_uri, "LocalPath": f"{PROCESSING_DIR}/{name}", "S3DataType": "S3Prefix",
        "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}
