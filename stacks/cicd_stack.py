"""CI/CD: the CDK Pipelines pipeline that tests, synthesizes and deploys the configured stages in
order, with an approval before the configured stage and a smoke test after the first one."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_codestarnotifications as notifications
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import pipelines
from constructs import Construct

from config import DeliveredStage, StageConfig
from ml_constructs.delivery_compliance import acknowledge_generated_roles
from ml_constructs.delivery_pipeline import DeliveryPipeline, DeliveryPipelineProps, ScanOnPush
from ml_constructs.delivery_replication import harden_replication_buckets
from ml_constructs.encryption import PlatformKey
from ml_constructs.notifications import NotificationTopic
from ml_constructs.physical_names import replaceable_name
from ml_constructs.secure_bucket import AccessLogBucket, BucketLifecycle, SecureBucket
from ml_constructs.smoke_test import (
    SmokeTestCaller,
    access_role_name,
    caller_role_name,
    role_arn,
    smoke_targets,
    smoke_test_steps,
)
from stacks.deployment_stage import DeliveryOptions, DeploymentStage

# Executions read only their own, recent artifacts; older ones are cost without use.
ARTIFACT_EXPIRATION_DAYS = 90
# CodeStar Notifications event ids for a pipeline (AWS "Events for notification rules").
NOTIFY_EVENTS = ("codepipeline-pipeline-pipeline-execution-failed",
                 "codepipeline-pipeline-manual-approval-needed")


class CicdStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig,
                 delivery: list[DeliveredStage], git_commit: str, **kwargs) -> None:
        """`delivery`: the stages the pipeline deploys, as config's `plan_delivery` checked and
        planned them."""
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        cicd = config.cicd
        prefix = config.resource_prefix
        key = PlatformKey(self, "Key", alias=f"alias/{prefix}-pipeline").key
        artifact_bucket = self._artifact_bucket(config, key)
        delivery_pipeline = DeliveryPipeline(self, "Delivery", props=DeliveryPipelineProps(
            pipeline_name=prefix, connection_arn=str(cicd.connection_arn),
            repository=str(cicd.repository), branch=cicd.branch, synth_stage=config.stage,
            artifact_bucket=artifact_bucket,
            deploys_elsewhere=any(stage.elsewhere for stage in delivery)))
        self.pipeline = delivery_pipeline.pipeline

        smoke_steps: list[pipelines.CodeBuildStep] = []
        for stage in delivery:
            smoke_steps += self._add_stage(delivery_pipeline, stage, git_commit=git_commit)

        # ECR scan on push is a registry setting: once per account and region (the stages
        # elsewhere set it in theirs: DeliveredStage.scan_on_push).
        if cicd.registry_scan_on_push:
            ScanOnPush(self, "ScanOnPush")
        topic = NotificationTopic(self, "Notifications", key=key, topic_name=f"{prefix}-pipeline",
                                  email=cicd.notification_email or config.notification_email)
        rule = notifications.NotificationRule(
            self, "FailureAndApprovalNotifications", source=delivery_pipeline.code_pipeline,
            events=list(NOTIFY_EVENTS), targets=[topic.topic],
            detail_type=notifications.DetailType.FULL)
        # Its source pipeline is create-only: the name follows it (ml_constructs/physical_names).
        rule_resource = rule.node.default_child
        rule_resource.name = replaceable_name(rule_resource, f"{prefix}-pipeline",
                                              name_property="Name", replaced_by=("Resource",))

        # CDK Pipelines creates its CodeBuild projects and roles here, not before: acknowledge
        # their findings only once they exist.
        self.pipeline.build_pipeline()
        delivery_pipeline.grant_connection_use(str(cicd.connection_arn))
        replicas = harden_replication_buckets(
            delivery_pipeline.code_pipeline,
            log_expiration_days=config.storage.access_log_expiration_days,
            artifact_expiration_days=ARTIFACT_EXPIRATION_DAYS)
        accounts = [s.config.account for s in delivery if s.config.account]
        acknowledge_generated_roles(
            self, delivery_pipeline, artifact_objects=artifact_bucket.arn_for_objects("*"),
            accounts=dict.fromkeys([self.account, *accounts]),
            steps=smoke_steps, replicas=replicas)
        cdk.CfnOutput(self, "PipelineName", value=delivery_pipeline.code_pipeline.pipeline_name)
        cdk.CfnOutput(self, "NotificationTopicArn", value=topic.topic.topic_arn)

    def _add_stage(self, delivery: DeliveryPipeline, planned: DeliveredStage, *,
                   git_commit: str) -> list[pipelines.CodeBuildStep]:
        """Deploy one stage: an approval first where configured, the smoke test after it."""
        cicd = self.config.cicd
        prefix = self.config.resource_prefix
        stage_config = planned.config
        smoke_role = None
        if planned.smoke_test:
            smoke_role = SmokeTestCaller(
                self, f"SmokeTestRole-{stage_config.stage}",
                role_name=caller_role_name(prefix, stage_config.stage), stage=stage_config.stage,
                access_role_arn=role_arn(stage_config.account or self.account,
                                         access_role_name(stage_config.resource_prefix))).role
        options = DeliveryOptions(
            smoke_test_caller_arn=role_arn(self.account, caller_role_name(
                prefix, stage_config.stage)) if smoke_role else None,
            smoke_test_role_name=access_role_name(stage_config.resource_prefix),
            scan_on_push=planned.scan_on_push)
        stage = DeploymentStage(self, stage_config.stage, config=stage_config,
                                git_commit=git_commit, options=options)
        pre: list[pipelines.Step] = []
        if planned.approval_before:
            pre.append(pipelines.ManualApprovalStep(
                f"Approve-{stage_config.stage}",
                comment=f"Promote to {stage_config.stage}: check the earlier stages and the "
                        "smoke test before approving."))
        post: list[pipelines.CodeBuildStep] = []
        if smoke_role is not None:
            post += smoke_test_steps(
                source=delivery.source, outputs=stage.smoke_test_outputs(),
                targets=smoke_targets(stage_config), role=smoke_role,
                region=stage_config.region, timeout_minutes=cicd.smoke_test_timeout_minutes)
        self.pipeline.add_stage(stage, pre=pre, post=post)
        return post

    def _artifact_bucket(self, config: StageConfig, key: kms.IKey) -> s3.IBucket:
        logs = AccessLogBucket(self, "AccessLogs",
                               expiration_days=config.storage.access_log_expiration_days).bucket
        bucket = SecureBucket(
            self, "Artifacts", key=key, access_logs=logs,
            lifecycle=BucketLifecycle(
                noncurrent_version_expiration_days=config.storage
                .noncurrent_version_expiration_days,
                incomplete_upload_expiration_days=config.storage
                .incomplete_upload_expiration_days)).bucket
        bucket.add_lifecycle_rule(id="expire-old-pipeline-artifacts",
                                  expiration=cdk.Duration.days(ARTIFACT_EXPIRATION_DAYS))
        return bucket
