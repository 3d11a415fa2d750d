"""A Data Wrangler flow as the training pipeline's data preparation: when the execution names a
flow (runtime_scripts/pipeline_input/data_wrangler.py), the state machine reads it, has the
input validator check it against the use case's dataset spec, runs it as a processing job in
Data Wrangler's container, and the use case's own preprocessing then splits and encodes the
flow's output (the splits, the fitted transform and the baseline that evaluation, the registry
and serving need come only from there). Otherwise the states are skipped.

AWS runs a flow as a processing job in the image the SageMaker SDK names
(`image_uris.retrieve("data-wrangler", region)`), whose entry point is built in: the flow as
the input `flow` at /opt/ml/processing/flow, each S3 source as an input named after its dataset,
the output `<node id>.default`, and `--output-config` choosing its format (what Data Wrangler's
export notebooks send; the validator builds those pieces)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from config import UseCaseConfig
from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_states import PROCESSING, sagemaker_job_state
from ml_constructs.runtime_image import builtin_image_uri
from runtime_scripts.pipeline_input import data_wrangler as checks

IMAGE_FRAMEWORK = "data-wrangler"
FLOW = "$.run.data_wrangler"
JOB = f"{FLOW}.job"  # what `Check Data Wrangler flow` returns


def flows_prefix(use_case: str) -> str:
    """The artifacts bucket's folder of a use case's flows: the one place the pipeline reads
    flows from (its state machine may read nothing else there)."""
    return f"data-wrangler/{use_case}/"


def dataset_spec_columns(use_case: UseCaseConfig) -> dict | None:
    """The columns of the use case's bundled dataset spec that a flow's output must keep; None
    for a spec that is not a table of target and feature columns (images, time series): a flow
    writes one table, which such a use case's preprocessing does not read as its data."""
    manifest = use_case.manifest
    spec = json.loads(manifest.path(manifest.dataset_spec).read_text())
    if not isinstance(spec.get("features"), dict) or "target" not in spec:
        return None
    return {"target": spec["target"], "id_columns": list(spec.get("id_columns", [])),
            "features": list(spec["features"])}


@dataclass(frozen=True)
class DataWranglerProps:
    frame: PipelineFrame
    job_settings: jobs.JobSettings
    artifacts_bucket: s3.IBucket
    use_case: str
    region: str


class DataWranglerStates(Construct):
    """`entry(then)`: a Choice that runs the flow's check and job before `then` when the
    validated input names a flow, else goes straight to `then`."""

    def __init__(self, scope: Construct, construct_id: str, *, props: DataWranglerProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.image_uri = builtin_image_uri(IMAGE_FRAMEWORK, props.region)

    def check_states(self, then: sfn.IChainable) -> sfn.IChainable:
        """Before anything is paid for: read the flow object, have the validator check it."""
        frame = self.props.frame
        read = frame.protect(tasks.CallAwsService(
            self, "Read Data Wrangler flow",
            service="s3", action="getObject",
            parameters={"Bucket.$": f"{FLOW}.flow_bucket", "Key.$": f"{FLOW}.flow_key"},
            iam_resources=[self.props.artifacts_bucket.arn_for_objects(
                f"{flows_prefix(self.props.use_case)}*")],
            result_selector={"text.$": "$.Body"},
            result_path="$.data_wrangler_flow",
        ))
        check = frame.invoke_validator(
            "Check Data Wrangler flow", {
                "check": checks.CHECK,
                "pipeline": frame.pipeline,
                "flow": sfn.JsonPath.string_at("$.data_wrangler_flow.text"),
                "preprocessing": sfn.JsonPath.object_at("$.preprocessing"),
                "data_s3_uri": sfn.JsonPath.string_at("$.run.s3.preprocessing_input"),
                "dataset_spec_given": sfn.JsonPath.object_at(f"{FLOW}.dataset_spec_given"),
                "platform": sfn.JsonPath.object_at("$.platform"),
            }, result_path=JOB,
            comment="The flow's output exists, reads one S3 source and keeps the dataset "
                    "spec's columns")
        # The flow's text goes no further than the check (state size, and it is in S3).
        forget = sfn.Pass(self, "Forget Data Wrangler flow text",
                          result=sfn.Result.from_object({}), result_path="$.data_wrangler_flow")
        read.next(check).next(forget).next(then)
        return (sfn.Choice(self, "Data Wrangler flow given?")
                .when(sfn.Condition.boolean_equals(f"{FLOW}.enabled", True), read)
                .otherwise(then))

    def job_states(self, then: sfn.IChainable) -> sfn.IChainable:
        """The flow's processing job, then the use case's preprocessing reads its output."""
        settings, frame = self.props.job_settings, self.props.frame
        request = jobs.processing_job(
            settings, job_name_path="$.run.job_names.data_wrangler", command=[],
            inputs=f"{JOB}.inputs",
            outputs=[{"OutputName.$": f"{JOB}.output_name", "S3Output": {
                "S3Uri.$": f"{FLOW}.output_s3_uri",
                "LocalPath": f"{checks.PROCESSING_DIR}/output", "S3UploadMode": "EndOfJob"}}],
            data_path="$.run.s3.preprocessing_input", arguments_path=f"{JOB}.arguments")
        # Data Wrangler's image and its built-in entry point; no variables of our image.
        request["AppSpecification"] = {"ImageUri": self.image_uri,
                                       "ContainerArguments.$": f"{JOB}.arguments"}
        del request["Environment"]
        # It logs to no tracking server: isolated even where our jobs cannot be (tracking).
        request["NetworkConfig"]["EnableNetworkIsolation"] = True
        job = frame.protect_job(sagemaker_job_state(
            self, "Run Data Wrangler flow", PROCESSING, request,
            result_selector={"arn.$": "$.ProcessingJobArn"},
            result_path="$.jobs.data_wrangler",
            comment="The flow's output node over the run's data, in Data Wrangler's container",
        ), kind="data_wrangler")
        use_output = sfn.Pass(
            self, "Preprocess the flow's output", input_path=f"{FLOW}.output_s3_uri",
            result_path="$.run.s3.preprocessing_input",
            comment="The use case's preprocessing reads what the flow wrote")
        job.next(use_output).next(then)
        return (sfn.Choice(self, "Run Data Wrangler flow?")
                .when(sfn.Condition.boolean_equals(f"{FLOW}.enabled", True), job)
                .otherwise(then))
