"""The resampling pipelines' data profile (cross-validation, backtest): the first states read
the profile the last split job left for this data location and, when there is none (the first
run on the location), ask the validator to profile the data itself. Either answer lands under
one result path, `{"document": <profile>}` (an empty document: nothing known), where the
pipeline's own check reads it before any job is paid for.

    -> <read state> (S3 GetObject of <profiles>/<hash of the location>/...)
         |-- S3.NoSuchKeyException --> "Profile the data" (the validator: first_run_*.py)
         |-- any other error --------> the failure path
       both -> <check>
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ml_constructs.api_retries import retry_transient_api_errors
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_states import ERROR_PATH, catch_all

PROFILE_THE_DATA = "Profile the data"


@dataclass(frozen=True)
class DataProfileProps:
    frame: PipelineFrame
    artifacts_bucket: s3.IBucket  # holds the profiles
    profiles_prefix: str  # the use case's folder of them
    # The one bucket whose data the validator profiles on a first run (its role reads it).
    raw_bucket: s3.IBucket
    check: str  # the validator's first-run check (first_run_profile.CHECK, first_run_windows')
    data_path: str  # JSONPath of the data's S3 URI
    # The use case's bundled dataset spec, as the pipeline's split job reads it.
    spec: dict
    # What of the request the check needs besides the data ({"folds": JsonPath, ...}).
    request: dict
    result_path: str
    read_state_id: str  # the read's state name (each pipeline's documented one)
    read_comment: str
    profile_comment: str


class DataProfileStates:
    """`entry` reads the stored profile; `then(check)` joins both answers to the check."""

    def __init__(self, scope: Construct, *, props: DataProfileProps) -> None:
        frame = props.frame
        self.entry = tasks.CallAwsService(
            scope, props.read_state_id, service="s3", action="getObject",
            parameters={"Bucket.$": "$.run.s3.profile_bucket", "Key.$": "$.run.s3.profile_key"},
            iam_resources=[props.artifacts_bucket.arn_for_objects(f"{props.profiles_prefix}*")],
            # Without s3:ListBucket S3 answers a missing key with AccessDenied, not NoSuchKey.
            additional_iam_statements=[iam.PolicyStatement(
                actions=["s3:ListBucket"], resources=[props.artifacts_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": f"{props.profiles_prefix}*"}})],
            result_selector={"document.$": "States.StringToJson($.Body)"},
            result_path=props.result_path, comment=props.read_comment)
        self.first_run = frame.invoke_validator(
            PROFILE_THE_DATA, {
                "check": props.check,
                "data_s3_uri": sfn.JsonPath.string_at(props.data_path),
                "dataset_spec_s3_uri": sfn.JsonPath.string_at("$.data.dataset_spec_s3_uri"),
                **props.request,
                "spec": props.spec,
                "readable_bucket": props.raw_bucket.bucket_name,
            }, result_path=props.result_path, comment=props.profile_comment)
        # Catchers match in order: the generic name's transient check first (api_retries.py),
        # then never profiled (the first run on this data), then everything else.
        retry_transient_api_errors(self.entry, not_transient=frame.notify_failure,
                                   error_path=ERROR_PATH)
        self.entry.add_catch(self.first_run, errors=["S3.NoSuchKeyException"],
                             result_path=sfn.JsonPath.DISCARD)
        catch_all(self.entry, frame.notify_failure)

    def then(self, check: sfn.IChainable) -> sfn.IChainable:
        self.entry.next(check)
        self.first_run.next(check)
        return self.entry
