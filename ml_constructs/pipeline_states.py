"""Building blocks shared by every pipeline state machine: retry policy, failure handling, and
`.sync` SageMaker job states with exactly the permissions they need."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.api_retries import retry_transient_api_errors
from ml_constructs.compliance import acknowledge_role_policy, in_finding, wildcard_findings
from runtime_scripts import contract

# Where a caught error goes: `{"Error": ..., "Cause": ...}` for the failure path to report.
ERROR_PATH = "$.error"


def protect(state, failure_handler: sfn.IChainable, *,
            not_transient: sfn.IChainable | None = None):
    """Retry `state`'s API calls refused for a transient reason (ml_constructs/api_retries.py),
    then send any other error (or exhausted retries) to `failure_handler` with the error under
    `$.error`; `not_transient` takes a refused call first where a state handles one itself.
    Validation errors (a bad request) are never retried: that would pay for the same failure
    again. A job that was created and then failed is no API error: it arrives as
    States.TaskFailed, and ml_constructs/job_retries.py retries the transient ones."""
    retry_transient_api_errors(state, not_transient=not_transient or failure_handler,
                               error_path=ERROR_PATH)
    return catch_all(state, failure_handler)


def catch_all(state, failure_handler: sfn.IChainable):
    """The last catcher: everything else, to the failure path."""
    state.add_catch(failure_handler, errors=["States.ALL"], result_path=ERROR_PATH)
    return state


# --- SageMaker .sync jobs -------------------------------------------------------------------------
@dataclass(frozen=True)
class JobKind:
    api: str  # e.g. "createProcessingJob"
    arn_type: str  # the resource type in the job ARN
    events_rule: str  # the EventBridge managed rule `.sync` uses to wait for the job
    extra_actions: tuple[str, ...] = ()

    @property
    def noun(self) -> str:
        return self.api.removeprefix("create")


PROCESSING = JobKind("createProcessingJob", "processing-job",
                     "StepFunctionsGetEventsForSageMakerProcessingJobsRule")
TRAINING = JobKind("createTrainingJob", "training-job",
                   "StepFunctionsGetEventsForSageMakerTrainingJobsRule")
TUNING = JobKind("createHyperParameterTuningJob", "hyper-parameter-tuning-job",
                 "StepFunctionsGetEventsForSageMakerTuningJobsRule",
                 ("sagemaker:ListTrainingJobsForHyperParameterTuningJob",))
TRANSFORM = JobKind("createTransformJob", "transform-job",
                    "StepFunctionsGetEventsForSageMakerTransformJobsRule")


def sagemaker_job_state(
    scope: Construct,
    state_name: str,
    kind: JobKind,
    parameters: dict,
    *,
    result_selector: dict | None = None,
    result_path: str | None = None,
    comment: str,
) -> sfn.CustomState:
    """A `.sync` job task. CDK has no L2 task for processing or tuning jobs, and its training and
    transform tasks cannot express managed spot, checkpoints or DataProcessing, so all four use
    CustomState over the optimized integration."""
    state: dict = {
        "Type": "Task",
        "Comment": comment,
        "Resource": f"arn:{cdk.Aws.PARTITION}:states:::sagemaker:{kind.api}.sync",
        "Parameters": parameters,
    }
    if result_selector is not None:
        state["ResultSelector"] = result_selector
    if result_path is not None:
        state["ResultPath"] = result_path
    return sfn.CustomState(scope, state_name, state_json=state)


def create_model_state(scope: Construct, request: dict, *, name_prefix: str):
    """CreateModel through the aws-sdk integration (see `sagemaker_jobs.model`)."""
    stack = cdk.Stack.of(scope)
    return tasks.CallAwsService(
        scope, "Create model", service="sagemaker", action="createModel",
        parameters=request,
        iam_resources=[stack.format_arn(service="sagemaker", resource="model",
                                        resource_name=f"{name_prefix}-*")],
        additional_iam_statements=[iam.PolicyStatement(
            actions=["sagemaker:AddTags"],
            resources=[stack.format_arn(service="sagemaker", resource="model",
                                        resource_name=f"{name_prefix}-*")])],
        result_selector={"arn.$": "$.ModelArn"},
        result_path="$.created_model",
    )


def grant_sagemaker_jobs(
    scope: Construct,
    role: iam.IRole,
    kinds: list[JobKind],
    *,
    name_prefix: str,
    execution_role: iam.IRole,
) -> iam.Policy:
    """What Step Functions needs to run `.sync` jobs: create/describe/stop and tag the jobs this
    stage names, pass the job execution role to SageMaker only, and manage the managed rules."""
    stack = cdk.Stack.of(role)
    actions: set[str] = {"sagemaker:AddTags", "sagemaker:ListTags"}
    resources = []
    for kind in kinds:
        actions |= {f"sagemaker:Create{kind.noun}", f"sagemaker:Describe{kind.noun}",
                    f"sagemaker:Stop{kind.noun}", *kind.extra_actions}
        resources.append(stack.format_arn(service="sagemaker", resource=kind.arn_type,
                                          resource_name=f"{name_prefix}-*"))
    if TUNING in kinds:
        # A tuning job's trials are training jobs SageMaker names after the tuning job.
        resources.append(stack.format_arn(service="sagemaker", resource="training-job",
                                          resource_name=f"{name_prefix}-*"))
        actions.add("sagemaker:DescribeTrainingJob")
    rules = [stack.format_arn(service="events", resource="rule", resource_name=kind.events_rule)
             for kind in kinds]
    policy = iam.Policy(
        scope, "SageMakerJobsPolicy",
        statements=[
            iam.PolicyStatement(actions=sorted(actions), resources=resources),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[execution_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(actions=["events:PutTargets", "events:PutRule",
                                         "events:DescribeRule"], resources=rules),
        ],
    )
    policy.attach_to_role(role)
    acknowledge_role_policy(
        policy,
        "Job names are derived from each execution's name, so they are only known as the "
        "stage's name prefix; every ARN is limited to this stage's jobs of these kinds.",
        wildcard_findings(resources=tuple(in_finding(scope, r) for r in resources)),
    )
    return policy


def read_evaluation_state(scope: Construct, bucket, objects: str) -> tasks.CallAwsService:
    """evaluation.json into `$.evaluation.document` with S3 GetObject and States.StringToJson (no
    Lambda); the bucket and key come from `$.run.s3.evaluation_bucket` / `evaluation_key`, under
    the `objects` pattern of `bucket` (e.g. "runs/*")."""
    return tasks.CallAwsService(
        scope, "Read evaluation",
        service="s3", action="getObject",
        parameters={"Bucket.$": "$.run.s3.evaluation_bucket",
                    "Key.$": "$.run.s3.evaluation_key"},
        iam_resources=[bucket.arn_for_objects(objects)],
        result_selector={"document.$": "States.StringToJson($.Body)"},
        result_path="$.evaluation",
    )


def dataset_spec_choice(scope: Construct, job: sfn.IChainable, inputs: list[dict],
                        result_path: str) -> sfn.Choice:
    """The entry to `job`, a processing job whose ProcessingInputs are `<result_path>.inputs`:
    `inputs`, plus the dataset spec's `config` input when `$.data.dataset_spec_s3_uri` names one
    (a processing input cannot be null, so the list is built per case)."""
    spec = jobs.processing_input(contract.PROCESSING_INPUT_CONFIG, "$.data.dataset_spec_s3_uri")
    bundled = sfn.Pass(scope, "Use bundled dataset spec", parameters={"inputs": inputs},
                       result_path=result_path)
    custom = sfn.Pass(scope, "Use dataset spec from S3", parameters={"inputs": [*inputs, spec]},
                      result_path=result_path)
    bundled.next(job)
    custom.next(job)
    return (sfn.Choice(scope, "Dataset spec given?")
            .when(sfn.Condition.is_string("$.data.dataset_spec_s3_uri"), custom)
            .otherwise(bundled))
