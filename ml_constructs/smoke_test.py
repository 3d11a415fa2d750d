"""The post-deployment smoke test: run each use case's deployed training pipeline on the sample
its manifest names (`sample_data`).

Two halves in two accounts: `SmokeTestAccess` is a role in the stage's account that may upload
under one prefix of the raw bucket and start/watch executions of the use cases' training state
machines; `smoke_test_steps` are the CodeBuild steps in the pipeline's account that assume it,
one per use case. The same path serves a stage in the pipeline's own account, so the
cross-account case is not a special one.
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

from config import StageConfig
from ml_constructs.compliance import acknowledge_role_policy, in_finding, wildcard_findings
from ml_constructs.resource_names import TRAINING, UseCaseNames
from runtime_scripts.common.manifest import UseCaseManifest

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
# The state machine is in the stage's account and partition, which the role's ARN names
# (arn:<partition>:iam::<account>:role/<name>).
IFS=: read -r _ partition _ _ account _ <<< "$SMOKE_TEST_ROLE_ARN"
state_machine="arn:${partition}:states:${AWS_REGION}:${account}:stateMachine:${STATE_MACHINE_NAME}"
run="smoke-${USE_CASE}-${CODEBUILD_BUILD_NUMBER:-0}-$(date +%s)"
data="s3://${RAW_BUCKET}/${UPLOAD_PREFIX}/${run}/"
aws s3 cp "$SAMPLE_FILE" "${data}$(basename "$SAMPLE_FILE")"
input=${EXECUTION_INPUT//__DATA__/$data}
input=${input//__RUN__/$run}
execution=$(aws stepfunctions start-execution --state-machine-arn "$state_machine" \
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
class SmokeTarget:
    """One use case the smoke test runs: its training state machine and its sample file."""

    use_case: str
    state_machine_name: str
    sample_file: str  # relative to the repository root (the CodeBuild checkout)

    @classmethod
    def of(cls, manifest: UseCaseManifest, stage_prefix: str) -> SmokeTarget:
        names = UseCaseNames(prefix=stage_prefix, use_case=manifest.name)
        return cls(use_case=manifest.name,
                   state_machine_name=names.state_machine(TRAINING),
                   sample_file=f"runtime_scripts/use_cases/{manifest.name}/"
                               f"{manifest.sample_data}")


def smoke_targets(config: StageConfig) -> list[SmokeTarget]:
    return [SmokeTarget.of(u.manifest, config.resource_prefix) for u in config.use_cases]


@dataclass(frozen=True)
class SmokeTestAccessProps:
    raw_bucket_name: str
    key: kms.IKey
    state_machine_names: tuple[str, ...]  # the training state machines it may run
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
        def arn(resource: str, name: str) -> str:
            return stack.format_arn(service="states", resource=resource, resource_name=name,
                                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)

        names = props.state_machine_names
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["states:StartExecution"], resources=[arn("stateMachine", n) for n in names]))
        executions = [arn("execution", f"{n}:*") for n in names]
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["states:DescribeExecution", "states:StopExecution"], resources=executions))
        acknowledge_role_policy(
            self.role.node.find_child("DefaultPolicy"),
            "The smoke test uploads under one prefix with a per-run key and watches executions "
            "whose names it generates per run, of the use cases' training state machines only.",
            wildcard_findings(resources=(in_finding(self, uploads),
                                         *(in_finding(self, e) for e in executions))))


@dataclass(frozen=True)
class SmokeTestOutputs:
    """CloudFormation outputs of the deployed stage the steps read (CDK Pipelines passes them
    as variables of the deploy action, so the steps need no lookups)."""

    raw_bucket_name: cdk.CfnOutput
    access_role_arn: cdk.CfnOutput


def smoke_test_steps(*, source: pipelines.IFileSetProducer, outputs: SmokeTestOutputs,
                     targets: list[SmokeTarget], role: iam.IRole, region: str,
                     timeout_minutes: int) -> list[pipelines.CodeBuildStep]:
    """One step per use case (CDK Pipelines runs a stage's post steps side by side)."""
    return [pipelines.CodeBuildStep(
        f"SmokeTest-{target.use_case}",
        input=source,  # the repository checkout: the sample data is committed
        role=role,
        commands=[SCRIPT],
        partial_build_spec=codebuild.BuildSpec.from_object({"env": {"shell": "bash"}}),
        env={"AWS_DEFAULT_REGION": region, "AWS_REGION": region, "USE_CASE": target.use_case,
             "STATE_MACHINE_NAME": target.state_machine_name, "SAMPLE_FILE": target.sample_file,
             "UPLOAD_PREFIX": UPLOAD_PREFIX, "POLL_SECONDS": str(POLL_SECONDS),
             "EXECUTION_INPUT": json.dumps(EXECUTION_INPUT, separators=(",", ":")),
             "SMOKE_TEST_TIMEOUT_SECONDS": str(timeout_minutes * 60)},
        env_from_cfn_outputs={"RAW_BUCKET": outputs.raw_bucket_name,
                              "SMOKE_TEST_ROLE_ARN": outputs.access_role_arn},
        # The build outlives the execution it waits for by a margin for upload and start-up.
        timeout=cdk.Duration.minutes(timeout_minutes + 15),
    ) for target in targets]


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
