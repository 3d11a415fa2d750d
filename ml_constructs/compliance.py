"""cdk-nag packs for the whole app, and the one way to acknowledge a finding.

Every acknowledgement names one finding on one construct and says why it is acceptable, so a
reviewer can audit each exception; there is no app-wide or stack-wide suppression.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks
from constructs import IConstruct


def nag_packs(scope: IConstruct) -> list:
    return [AwsSolutionsChecks(scope), NIST80053R5Checks(scope)]


def apply_nag_packs(app: cdk.App) -> None:
    """Run the packs at synth: any unacknowledged finding fails `cdk synth`."""
    cdk.Validations.of(app).add_plugins(*nag_packs(app))


def acknowledge(construct: IConstruct, reason: str, *finding_ids: str) -> None:
    """Acknowledge specific findings (exact ids, e.g. 'AwsSolutions-IAM5[Action::s3:GetObject*]')
    on exactly this construct, with the reason they are acceptable."""
    if len(reason) < 20:
        raise ValueError(f"acknowledging {finding_ids} needs a specific reason, got {reason!r}")
    cdk.Validations.of(construct).acknowledge(
        *(cdk.Acknowledgment(id=finding, reason=reason) for finding in finding_ids)
    )


def ref_in_finding(resource: IConstruct, attribute: str = "Arn") -> str:
    """How cdk-nag spells a reference to `resource`'s attribute inside a finding id, e.g.
    `<RawBucket672A0DBB.Arn>`, resolved from the logical id so a rename cannot break it."""
    stack = cdk.Stack.of(resource)
    logical_id = stack.resolve(resource.node.default_child.logical_id)
    return f"<{logical_id}.{attribute}>"


def wildcard_findings(*, actions: tuple[str, ...] = (), resources: tuple[str, ...] = ()) -> list:
    """AwsSolutions-IAM5 finding ids for the wildcard actions and resources a policy needs."""
    return ([f"AwsSolutions-IAM5[Action::{a}]" for a in actions]
            + [f"AwsSolutions-IAM5[Resource::{r}]" for r in resources])


# The wildcard actions CDK's own grants write (`bucket.grant_read`/`grant_read_write`,
# `key.grant_encrypt_decrypt`): acknowledged wherever a role holds such a grant.
BUCKET_READ_ACTIONS = ("s3:GetObject*", "s3:GetBucket*", "s3:List*")
BUCKET_WRITE_ACTIONS = (*BUCKET_READ_ACTIONS, "s3:DeleteObject*", "s3:Abort*")
KEY_ACTIONS = ("kms:GenerateDataKey*", "kms:ReEncrypt*")

ROLE_OWNED_POLICY_REASON = (
    "CDK attaches least-privilege grants as a policy owned by exactly this one role and deleted "
    "with it; a customer-managed policy would add an attachment surface without narrowing access."
)


def acknowledge_role_policy(policy: IConstruct, reason: str, findings: list[str]) -> None:
    """Acknowledge a role's own policy: the NIST inline-policy finding plus its wildcards."""
    acknowledge(policy, ROLE_OWNED_POLICY_REASON, "NIST.800.53.R5-IAMNoInlinePolicy")
    if findings:
        acknowledge(policy, reason, *findings)


def in_finding(scope: IConstruct, value: str) -> str:
    """How cdk-nag spells `value` (a string that may hold tokens: `format_arn` output, say) in a
    finding id: references become `<LogicalId.Attr>` and pseudo parameters `<AWS::AccountId>`."""
    return _render(cdk.Stack.of(scope).resolve(value))


def _render(node) -> str:
    if isinstance(node, str):
        return node
    if "Fn::Join" in node:
        separator, parts = node["Fn::Join"]
        return separator.join(_render(part) for part in parts)
    if "Ref" in node:
        return f"<{node['Ref']}>"
    if "Fn::GetAtt" in node:
        logical_id, attribute = node["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>"
    if "Fn::GetStackOutput" in node:  # another stack's output: cdk-nag writes its JSON
        return json.dumps(node, separators=(",", ":"))
    raise ValueError(f"cannot render {node!r} as cdk-nag does")


# The construct id of CDK's one provider function per stack behind every AwsCustomResource (a
# SingletonFunction whose uuid is fixed in aws-cdk-lib's custom_resources).
SDK_PROVIDER_FUNCTION_ID = "AWS679f53fac002430cb0da5b7982bd2287"


def acknowledge_sdk_provider(stack: cdk.Stack) -> None:
    """The findings every AwsCustomResource's provider function has, on the stack's one."""
    provider = stack.node.find_child(SDK_PROVIDER_FUNCTION_ID)
    acknowledge(
        provider,
        "Runs only while CloudFormation deploys the stack, synchronously for it; "
        "CloudFormation receives every error, so a dead-letter queue would stay empty.",
        "NIST.800.53.R5-LambdaDLQ")
    acknowledge(
        provider,
        "Calls one SageMaker API at deploy time, a few times a year; reserving concurrency "
        "for it would take capacity from the account for nothing.",
        "NIST.800.53.R5-LambdaConcurrency")
    acknowledge(
        provider,
        "Calls the SageMaker API only; in the isolated stage it would need its own SageMaker "
        "API endpoint route for a call CloudFormation makes a few times a year.",
        "NIST.800.53.R5-LambdaInsideVPC")
