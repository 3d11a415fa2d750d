"""Pipelines: the Glue ETL job, the training (+ tuning) and batch inference state machines, the
runtime image, the model registry group and the batch schedule."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from config import StageConfig
from ml_constructs.batch_pipeline import BatchPipeline, BatchPipelineProps
from ml_constructs.glue_etl import GlueEtl, GlueEtlProps
from ml_constructs.input_validation import InputValidator
from ml_constructs.network import IsolatedNetwork
from ml_constructs.notifications import NotificationTopic
from ml_constructs.pipeline_defaults import batch_defaults, platform_values, training_defaults
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_triggers import ScheduledStart
from ml_constructs.runtime_image import RuntimeImage
from ml_constructs.sagemaker_role import SageMakerExecutionRole
from ml_constructs.training_pipeline import TrainingPipeline, TrainingPipelineProps
from stacks.log_retention import retention
from stacks.storage_stack import StorageStack, import_data_buckets


class PipelinesStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig,
                 storage: StorageStack, network: IsolatedNetwork | None, git_commit: str,
                 **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix = config.resource_prefix
        use_case = config.use_cases[0]
        key = storage.key
        buckets = import_data_buckets(self, storage)
        raw, curated, artifacts = buckets["Raw"], buckets["Curated"], buckets["Artifacts"]
        log_retention = retention(config.log_retention_days)

        image = RuntimeImage(self, "RuntimeImage",
                             use_case=use_case, region=config.region)
        execution_role = SageMakerExecutionRole(
            self, "SageMakerExecution", key=key,
            read_buckets=[raw, curated],
            artifacts_bucket=artifacts, in_vpc=network is not None).role
        image.grant_pull(execution_role)
        settings = image.job_settings(role=execution_role, key=key, git_commit=git_commit,
                                      network=network)

        group_name = f"{prefix}-churn"
        # No description: it is create-only, so editing it would make CloudFormation replace
        # the group, and a replaced registry is an empty one (no version left to deploy).
        group = sagemaker.CfnModelPackageGroup(
            self, "ModelPackageGroup", model_package_group_name=group_name)
        glue_etl = GlueEtl(self, "GlueEtl", props=GlueEtlProps(
            name_prefix=prefix, key=key, raw_bucket=raw,
            curated_bucket=curated))
        notifications = NotificationTopic(self, "Notifications", key=key,
                                          topic_name=f"{prefix}-pipelines",
                                          email=config.notification_email)
        validation = config.input_validation
        validator = InputValidator(self, "InputValidator", function_name=f"{prefix}-pipeline-input",
                                   key=key, log_retention=log_retention,
                                   reserved_concurrency=validation.reserved_concurrency)
        platform = platform_values(config, artifacts=artifacts, group=group_name)
        finish = {"key": key, "log_retention": log_retention}

        training = TrainingPipeline(self, "Training", props=TrainingPipelineProps(
            frame=PipelineFrame(self, "TrainingFrame", pipeline="training",
                                state_machine_name=f"{prefix}-training",
                                notifications=notifications, validator=validator,
                                job_retries=config.job_retries),
            job_settings=settings, execution_role=execution_role,
            artifacts_bucket=artifacts, model_package_group_name=group_name,
            name_prefix=prefix, glue_job_name=glue_etl.job_name,
            defaults=training_defaults(config, use_case, raw=raw, curated=curated),
            platform=platform,
        ), timeout=cdk.Duration.hours(24), **finish)
        batch = BatchPipeline(self, "BatchInference", props=BatchPipelineProps(
            frame=PipelineFrame(self, "BatchFrame", pipeline="batch",
                                state_machine_name=f"{prefix}-batch-inference",
                                notifications=notifications, validator=validator,
                                job_retries=config.job_retries),
            job_settings=settings, execution_role=execution_role,
            artifacts_bucket=artifacts, model_package_group_name=group_name, name_prefix=prefix,
            defaults=batch_defaults(config, use_case, raw=raw), platform=platform,
        ), timeout=cdk.Duration.hours(12), **finish)
        for pipeline in (training, batch):
            pipeline.node.add_dependency(group)
            key.grant_decrypt(pipeline.state_machine)  # reads evaluation.json / packages

        if use_case.batch_inference.schedule:
            ScheduledStart(self, "BatchSchedule", state_machine=batch.state_machine,
                           schedule_name=f"{prefix}-batch-inference",
                           expression=use_case.batch_inference.schedule, key=key,
                           description="Scheduled batch inference with the latest approved model")

        self.training_state_machine = training.state_machine
        self.batch_state_machine = batch.state_machine
        self.model_package_group_name = group_name  # the serving stack deploys its versions
        self.runtime_image = image  # whose repository serving models pull from
        cdk.CfnOutput(self, "TrainingStateMachineArn",
                      value=training.state_machine.state_machine_arn)
        cdk.CfnOutput(self, "BatchStateMachineArn", value=batch.state_machine.state_machine_arn)
        cdk.CfnOutput(self, "ModelPackageGroupName", value=group_name)
        cdk.CfnOutput(self, "NotificationTopicArn", value=notifications.topic.topic_arn)

