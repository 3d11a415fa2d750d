"""The fan-out of the resampling pipelines (cross-validation, backtest): a distributed Map
over the item list a split job wrote to S3, each item one child execution of an iteration
(the use case's own jobs on that fold or window), with the Map's results written to S3.

    <split job> -> FanOut.state (Map, DISTRIBUTED, ItemReader: the item list) -> <aggregate job>
    each item:  ItemSelector -> <iteration> ; any error -> "<label> failed: explain" -> Fail

Why a CustomState and not the L2 `DistributedMap`: the L2's S3 item reader and result writer
grant s3:GetObject / s3:PutObject on the whole bucket (`<bucket>/*`); the platform's roles reach
only their use case's run folders, so the Map's JSON is written here and `grant` gives exactly
what AWS documents the Map needs: states:StartExecution on the state machine itself and
states:DescribeExecution / StopExecution on its child executions (named
`execution:<state machine>/<map run>:<id>`), s3:GetObject on the item list, and s3:PutObject,
GetObject, ListMultipartUploadParts, AbortMultipartUpload under the results prefix (Step
Functions developer guide, "IAM policies for Distributed Map states").

An iteration's states live in the child execution: they cannot reach the parent's failure
path, so `ItemFrame` gives them their own: the error, with the item's index in the cause,
fails the child; the Map fails once more items failed than ToleratedFailurePercentage allows
(States.ExceedToleratedFailureThreshold), which the parent's frame catches and notifies.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from config import JobRetryConfig
from ml_constructs.api_retries import retry_transient_api_errors
from ml_constructs.compliance import acknowledge_role_policy, in_finding, wildcard_findings
from ml_constructs.job_retries import retry_transient_failures
from ml_constructs.pipeline_states import ERROR_PATH, catch_all

MAP_LABEL_MAX = 40  # Step Functions: a Map's Label is at most 40 characters


class ItemFrame(Construct):
    """The failure path of one item's iteration: `protect_job` as PipelineFrame's, into
    "<label> failed: explain" (the item's index from `index_path` in the cause) -> Fail."""

    def __init__(self, scope: Construct, construct_id: str, *, label: str, index_path: str,
                 job_retries: JobRetryConfig) -> None:
        super().__init__(scope, construct_id)
        self.label, self.job_retries = label, job_retries
        self.failed = sfn.Fail(self, f"{label} failed", error_path=f"{ERROR_PATH}.Error",
                               cause_path=f"{ERROR_PATH}.Cause")
        self.explain = sfn.Pass(self, f"{label} failed: explain", parameters={
            "Error.$": f"{ERROR_PATH}.Error",
            "Cause.$": f"States.Format('{label.lower()} {{}}: {{}}', {index_path}, "
                       f"{ERROR_PATH}.Cause)",
        }, result_path=ERROR_PATH)
        self.explain.next(self.failed)

    def protect(self, state):
        retry_transient_api_errors(state, not_transient=self.explain, error_path=ERROR_PATH)
        return catch_all(state, self.explain)

    def protect_job(self, job: sfn.CustomState, *, kind: str) -> sfn.CustomState:
        retry_transient_api_errors(job, not_transient=self.explain, error_path=ERROR_PATH)
        retry_transient_failures(self, job, kind=kind, policy=self.job_retries,
                                 failure_handler=self.explain)
        return catch_all(job, self.explain)


@dataclass(frozen=True)
class FanOutProps:
    bucket: s3.IBucket  # holds the item list and the Map's results
    key: kms.IKey  # the bucket's key
    item_list_bucket_path: str  # JSONPaths to the item list the split job wrote
    item_list_key_path: str
    item_list_objects: str  # the item lists' key pattern, for IAM, e.g. "runs/x/*/folds.json"
    results_prefix: str  # where the Map writes its results (Step Functions adds the run's id)
    item_selector: dict  # each child's input (`$$.Map.Item.Value` / `.Index` and the state's)
    max_concurrency_path: str
    tolerated_failure_percentage_path: str
    label: str  # names the child executions (`<state machine>/<label>:<id>`)
    state_machine_name: str  # the parent's: its own child executions
    result_path: str
    comment: str


class FanOut(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, state_id: str,
                 props: FanOutProps, iteration: sfn.IChainable) -> None:
        super().__init__(scope, construct_id)
        if len(props.label) > MAP_LABEL_MAX:
            raise ValueError(f"Map label {props.label!r} is over {MAP_LABEL_MAX} characters")
        self.props = props
        graph = sfn.StateGraph(iteration.start_state, f"{state_id} iteration")
        partition = cdk.Aws.PARTITION
        self.state = sfn.CustomState(scope, state_id, state_json={
            "Type": "Map",
            "Comment": props.comment,
            "Label": props.label,
            "ItemReader": {
                "Resource": f"arn:{partition}:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket.$": props.item_list_bucket_path,
                               "Key.$": props.item_list_key_path},
            },
            "ItemSelector": props.item_selector,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED",
                                                  "ExecutionType": "STANDARD"},
                              **graph.to_graph_json()},
            "MaxConcurrencyPath": props.max_concurrency_path,
            "ToleratedFailurePercentagePath": props.tolerated_failure_percentage_path,
            "ResultWriter": {
                "Resource": f"arn:{partition}:states:::s3:putObject",
                "Parameters": {"Bucket": props.bucket.bucket_name,
                               "Prefix": props.results_prefix.rstrip("/")},
            },
            "ResultPath": props.result_path,
        })

    def grant(self, state_machine: sfn.StateMachine) -> None:
        props = self.props
        stack = cdk.Stack.of(self)
        own = stack.format_arn(service="states", resource="stateMachine",
                               resource_name=props.state_machine_name,
                               arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)
        children = stack.format_arn(service="states", resource="execution",
                                    resource_name=f"{props.state_machine_name}/*",
                                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)
        results = props.bucket.arn_for_objects(f"{props.results_prefix.rstrip('/')}/*")
        items = props.bucket.arn_for_objects(props.item_list_objects)
        policy = iam.Policy(self, "MapPolicy", statements=[
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[own]),
            iam.PolicyStatement(actions=["states:DescribeExecution", "states:StopExecution"],
                                resources=[children]),
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[items]),
            iam.PolicyStatement(actions=["s3:PutObject", "s3:GetObject",
                                         "s3:ListMultipartUploadParts",
                                         "s3:AbortMultipartUpload"], resources=[results]),
            # SSE-KMS: reading the item list decrypts; writing the results makes data keys.
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"],
                                resources=[props.key.key_arn]),
        ])
        policy.attach_to_role(state_machine.role)
        acknowledge_role_policy(
            policy,
            "Step Functions names the Map's child executions itself (<state machine>/<map "
            "run>:<id>); the item lists are under each execution's run folder and the Map's "
            "results under a prefix of their own, each with a name Step Functions or the "
            "execution gives.",
            wildcard_findings(resources=tuple(in_finding(self, arn)
                                              for arn in (children, results, items))),
        )
