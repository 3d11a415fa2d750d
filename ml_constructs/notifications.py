"""The stage's pipeline notification topic: KMS-encrypted, TLS-only, optional email subscription."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class NotificationTopic(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, topic_name: str,
                 email: str | None) -> None:
        super().__init__(scope, construct_id)
        self.key = key
        self.topic = sns.Topic(self, "Topic", topic_name=topic_name, display_name=topic_name,
                               master_key=key, enforce_ssl=True)
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        """Publishing to an encrypted topic needs the key too, which `Topic.grant_publish` omits."""
        self.topic.grant_publish(grantee)
        self.key.grant(grantee, "kms:GenerateDataKey*", "kms:Decrypt")
