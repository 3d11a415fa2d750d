"""The platform's customer-managed KMS key."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class PlatformKey(Construct):
    """One rotating CMK for data, logs, topics and SageMaker volumes of a stage.

    The key policy lets CloudWatch Logs in this account and region use it, so state machine and
    Glue log groups can be encrypted with it (Logs is a service principal, not an IAM role, and
    cannot be granted through IAM alone).
    """

    def __init__(self, scope: Construct, construct_id: str, *, alias: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description=f"Data, logs and job volumes of {alias.removeprefix('alias/')}",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            pending_window=cdk.Duration.days(30),
        )
        stack = cdk.Stack.of(self)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsInThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                         "kms:Describe*"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn":
                            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:*"
                    }
                },
            )
        )


def let_alarms_publish(key: kms.IKey, topic_arn: str, *,
                       sid: str = "AllowCloudWatchAlarmsToPublishToTheServingTopic") -> None:
    """CloudWatch alarms publish to a topic encrypted with `key` only if the key policy lets
    CloudWatch use the key (it is a service principal, not an IAM role); scoped to that one
    topic through SNS's encryption context. The statement lands in the key's own stack."""
    key.add_to_resource_policy(iam.PolicyStatement(
        sid=sid,
        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions=["kms:Decrypt", "kms:GenerateDataKey*"],
        resources=["*"],  # in a key policy, "*" means this key
        conditions={"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}}))
