"""The post-deployment smoke test: run the deployed training pipeline on the bundled sample.

Two halves in two accounts: `SmokeTestAccess` is a role in the stage's account that may upload
under one prefix of the raw bucket and start/watch executions of one state machine;
`smoke_test_step` is the CodeBuild step in the pipeline's account that assumes it. The same path
serves a stage in the pipeline's own account, so the cross-account case is not a special one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import pipelines
from constructs import Construct

from ml_constructs.compliance import acknowledge_role_policy, in_finding, wildcard_findings

SAMPLE_FILE = "runtime_scripts/use_cases/churn/sample_data/mlc_churn.csv"
UPLOAD_PREFIX = "smoke-tests"
POLL_SECONDS = 30
# The execution input (docs/pipeline-inputs.md); the script fills in __DATA__ and __RUN__. The
# stage's defaults otherwise, but one training job rather than a tuning sweep, and a model that
# passes the gate is registered for review only, never auto-approved for batch inference.
EXECUTION_INPUT = {
    "data": {"raw_s3_uri": "__DATA__", "run_glue": False},
    "tuning": {"enabled": False},
    "registry": {"approval_status": "PendingManualApproval",
                 "description": "CI smoke test __RUN__"},
}

# One bash script (CodeBuild runs a multi-line command as one script; the build spec selects
# bash). Any failure, a failed or timed-out execution included, exits non-zero: the action fails
# and later stages never deploy. Credentials of a chained role last at most an hour, so the
# script assumes the stage's role again before they run out.
SCRIPT = r"""set -euo pipefail
assume() {
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  creds=$(aws sts assume-role --role-arn "$SMOKE_TEST_ROLE_ARN" \
    --role-session-name "smoke-test-${CODEBUILD_BUILD_NUMBER:-0}" \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
  read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN <<< "$creds"
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  assumed_at=$(date +%s)
}
assume
run="smoke-${CODEBUILD_BUILD_NUMBER:-0}-$(date +%s)"
data="s3://${RAW_BUCKET}/${UPLOAD_PREFIX}/${run}/"
aws s3 cp "$SAMPLE_FILE" "${data}$(basename "$SAMPLE_FILE")"
input=${EXECUTION_INPUT//__DATA__/$data}
input=${input//__RUN__/$run}
execution=$(aws stepfunctions start-execution --state-machine-arn "$STATE_MACHINE_ARN" \
  --name "$run" --input "$input" --query executionArn --output text)
echo "started $execution on $data"
deadline=$(( $(date +%s) + SMOKE_TEST_TIMEOUT_SECONDS ))
while true; do
  if [ $(( $(date +%s) - assumed_at )) -ge 2700 ]; then assume; fi
  status=$(aws stepfunctions describe-execution --execution-arn "$execution" \
    --query status --output text)
  case "$status" in
    SUCCEEDED) echo "smoke test passed: $execution"; exit 0 ;;
    RUNNING|PENDING_REDRIVE) ;;
    *) echo "smoke test failed: $execution is $status" >&2
       aws stepfunctions describe-execution --execution-arn "$execution" \
         --query '[error, cause]' --output text >&2
       exit 1 ;;
  esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "smoke test timed out after ${SMOKE_TEST_TIMEOUT_SECONDS}s: stopping $execution" >&2
    aws stepfunctions stop-execution --execution-arn "$execution" \
      --error SmokeTestTimeout --cause "no result within ${SMOKE_TEST_TIMEOUT_SECONDS}s" >/dev/null
    exit 1
  fi
  sleep "$POLL_SECONDS"
done
"""


def caller_role_name(pipeline_prefix: str, stage: str) -> str:
    """The pipeline's smoke-test CodeBuild role: a fixed name, so a stage's account can trust it
    by ARN without a reference across stages."""
    return f"{pipeline_prefix}-smoke-test-{stage}"


def access_role_name(stage_prefix: str) -> str:
    """The role the smoke test assumes in the stage's account."""
    return f"{stage_prefix}-smoke-test-access"


def role_arn(account: str, name: str) -> str:
    return f"arn:{cdk.Aws.PARTITION}:iam::{account}:role/{name}"


@dataclass(frozen=True)
class SmokeTestAccessProps:
    raw_bucket_name: str
    key: kms.IKey
    state_machine_name: str
    caller_role_arn: str  # the pipeline's smoke-test CodeBuild role


class SmokeTestAccess(Construct):
    """The role the smoke test assumes in the stage's account, and nothing more."""

    def __init__(self, scope: Construct, construct_id: str, *, props: SmokeTestAccessProps,
                 role_name: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(self, "Role", role_name=role_name,
                             assumed_by=iam.ArnPrincipal(props.caller_role_arn),
                             description="CI smoke test: upload the sample, run training once")
        # The raw bucket's generated name, as the storage stack publishes it (an output read at
        # deploy time: stacks/storage_stack.py `data_bucket_name`).
        stack = cdk.Stack.of(self)
        uploads = s3.Bucket.from_bucket_name(self, "RawBucket", props.raw_bucket_name) \
            .arn_for_objects(f"{UPLOAD_PREFIX}/*")
        self.role.add_to_policy(iam.PolicyStatement(actions=["s3:PutObject"],
                                                    resources=[uploads]))
        # The raw bucket is SSE-KMS: an upload needs a data key, only through S3.
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[props.key.key_arn],
            conditions={"StringEquals": {
                "kms:ViaService": f"s3.{stack.region}.amazonaws.com"}}))
        state_machine = stack.format_arn(
            service="states", resource="stateMachine",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME, resource_name=props.state_machine_name)
        self.role.add_to_policy(iam.PolicyStatement(actions=["states:StartExecution"],
                                                    resources=[state_machine]))
        executions = stack.format_arn(
            service="states", resource="execution", arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            resource_name=f"{props.state_machine_name}:*")
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["states:DescribeExecution", "states:StopExecution"], resources=[executions]))
        acknowledge_role_policy(
            self.role.node.find_child("DefaultPolicy"),
            "The smoke test uploads under one prefix with a per-run key and watches executions "
            "whose names it generates per run, of one state machine only.",
            wildcard_findings(resources=(in_finding(self, uploads),
                                         in_finding(self, executions))))


@dataclass(frozen=True)
class SmokeTestOutputs:
    """CloudFormation outputs of the deployed stage the step reads (CDK Pipelines passes them
    as variables of the deploy action, so the step needs no lookups)."""

    state_machine_arn: cdk.CfnOutput
    raw_bucket_name: cdk.CfnOutput
    access_role_arn: cdk.CfnOutput


def smoke_test_step(*, source: pipelines.IFileSetProducer, outputs: SmokeTestOutputs,
                    role: iam.IRole, region: str, timeout_minutes: int) -> pipelines.CodeBuildStep:
    return pipelines.CodeBuildStep(
        "SmokeTest",
        input=source,  # the repository checkout: the sample data is committed
        role=role,
        commands=[SCRIPT],
        partial_build_spec=codebuild.BuildSpec.from_object({"env": {"shell": "bash"}}),
        env={"AWS_DEFAULT_REGION": region, "AWS_REGION": region, "SAMPLE_FILE": SAMPLE_FILE,
             "UPLOAD_PREFIX": UPLOAD_PREFIX, "POLL_SECONDS": str(POLL_SECONDS),
             "EXECUTION_INPUT": json.dumps(EXECUTION_INPUT, separators=(",", ":")),
             "SMOKE_TEST_TIMEOUT_SECONDS": str(timeout_minutes * 60)},
        env_from_cfn_outputs={"STATE_MACHINE_ARN": outputs.state_machine_arn,
                              "RAW_BUCKET": outputs.raw_bucket_name,
                              "SMOKE_TEST_ROLE_ARN": outputs.access_role_arn},
        # The build outlives the execution it waits for by a margin for upload and start-up.
        timeout=cdk.Duration.minutes(timeout_minutes + 15),
    )


class SmokeTestCaller(Construct):
    """The pipeline's half: the CodeBuild role of one stage's smoke test, which may assume that
    stage's `SmokeTestAccess` role and nothing else. Its role is the construct's default child,
    so the role keeps the logical id (and fixed name) it had as a direct child of the stack."""

    def __init__(self, scope: Construct, construct_id: str, *, role_name: str, stage: str,
                 access_role_arn: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(self, "Default", role_name=role_name,
                             assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
                             description=f"CI smoke test of stage {stage}")
        self.role.add_to_policy(iam.PolicyStatement(actions=["sts:AssumeRole"],
                                                    resources=[access_role_arn]))
