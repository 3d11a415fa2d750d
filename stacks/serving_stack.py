"""Serving: per use case, the deployment state machine (registry -> endpoint, blue/green with
rollback), its trigger, the endpoint's alarms, Model Monitor job definitions and drift-triggered
retraining (ml_constructs/use_case_serving.py); shared by them, the notification topic and the
deployment input validator."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from constructs import Construct

from config import StageConfig
from ml_constructs.encryption import let_alarms_publish
from ml_constructs.input_validation import InputValidator
from ml_constructs.network import IsolatedNetwork
from ml_constructs.notifications import NotificationTopic
from ml_constructs.use_case_serving import (
    ServingShared,
    UseCasePipelines,
    UseCaseServing,
    UseCaseServingProps,
)
from stacks.log_retention import retention
from stacks.storage_stack import StorageStack, import_data_buckets


class ServingStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig,
                 storage: StorageStack, network: IsolatedNetwork | None,
                 pipelines: Mapping[str, UseCasePipelines], git_commit: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix, key = config.resource_prefix, storage.key
        buckets = import_data_buckets(self, storage)
        log_retention = retention(config.log_retention_days)
        topic_name = f"{prefix}-serving"
        notifications = NotificationTopic(self, "Notifications", key=key, topic_name=topic_name,
                                          email=config.notification_email)
        # Into the storage stack's key policy (no reference back to this stack).
        let_alarms_publish(key, f"arn:{cdk.Aws.PARTITION}:sns:{self.region}:"
                                f"{cdk.Aws.ACCOUNT_ID}:{topic_name}")
        shared = ServingShared(
            config=config, key=key, artifacts_bucket=buckets["Artifacts"],
            monitoring_bucket=buckets["Monitoring"], network=network,
            notifications=notifications,
            validator=InputValidator(self, "InputValidator",
                                     function_name=f"{prefix}-deployment-input", key=key,
                                     log_retention=log_retention,
                                     reserved_concurrency=config.input_validation
                                     .reserved_concurrency),
            log_retention=log_retention, git_commit=git_commit)
        self.use_cases = {
            use_case.name: UseCaseServing(self, use_case.name, props=UseCaseServingProps(
                shared=shared, use_case=use_case, pipelines=pipelines[use_case.name]))
            for use_case in config.use_cases}
        cdk.CfnOutput(self, "ServingTopicArn", value=notifications.topic.topic_arn)
