"""Pipelines: per use case of the stage, its runtime image, model registry group, Glue ETL job,
training and batch inference state machines and batch schedule (ml_constructs/
use_case_pipelines.py); shared by them, the jobs' execution role, the notification topic, the
input validator, the Glue database and the MLflow tracking server (`experiment_tracking`)."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from config import StageConfig
from ml_constructs.data_lake import DataLake
from ml_constructs.experiment_tracking import ExperimentTracking
from ml_constructs.glue_etl import GlueCatalog
from ml_constructs.input_validation import InputValidator
from ml_constructs.lake_governance import GovernedUseCase
from ml_constructs.network import IsolatedNetwork
from ml_constructs.notifications import NotificationTopic
from ml_constructs.resource_names import StageNames
from ml_constructs.sagemaker_role import SageMakerExecutionRole
from ml_constructs.use_case_pipelines import SharedPipelineResources, UseCasePipelines
from stacks.log_retention import retention
from stacks.storage_stack import StorageStack, import_data_buckets


class PipelinesStack(cdk.Stack):
    """`use_cases`: use case name -> its UseCasePipelines (group_name, image,
    training_state_machine, batch_state_machine, names), in stage order."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig,
                 storage: StorageStack, network: IsolatedNetwork | None, git_commit: str,
                 **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        names, key = StageNames(config.resource_prefix), storage.key
        buckets = import_data_buckets(self, storage)
        raw, curated, artifacts = buckets["Raw"], buckets["Curated"], buckets["Artifacts"]
        log_retention = retention(config.log_retention_days)
        # One execution role for every use case: a job's inputs are execution-time choices
        # anywhere in the stage's data buckets, and CDK puts every use case's image in the
        # same assets repository, so a role per use case would narrow nothing a job may touch.
        execution_role = SageMakerExecutionRole(
            self, "SageMakerExecution", key=key, read_buckets=[raw, curated],
            artifacts_bucket=artifacts, in_vpc=network is not None).role
        tracking = None
        if config.experiment_tracking.enabled:
            tracking = ExperimentTracking(self, "ExperimentTracking", stage=config,
                                          artifacts_bucket=artifacts, key=key)
            tracking.grant_logging(execution_role)
        notifications = NotificationTopic(self, "Notifications", key=key,
                                          topic_name=names.pipelines_topic,
                                          email=config.notification_email)
        validator = InputValidator(
            self, "InputValidator", function_name=names.pipeline_input_function, key=key,
            log_retention=log_retention,
            reserved_concurrency=config.input_validation.reserved_concurrency,
            readable_bucket=raw)
        # Construct id of the single-use-case layout: the database's name is fixed, and a new
        # logical id would make CloudFormation create it again before deleting the old one.
        glue_catalog = GlueCatalog(
            self, "GlueEtl", database_name=names.glue_database,
            security_configuration_name=names.etl_security_configuration, key=key)
        shared = SharedPipelineResources(
            key=key, raw_bucket=raw, curated_bucket=curated, artifacts_bucket=artifacts,
            execution_role=execution_role, notifications=notifications, validator=validator,
            glue_catalog=glue_catalog, network=network, log_retention=log_retention,
            git_commit=git_commit, tracking_server_arn=tracking.arn if tracking else None)

        self.use_cases = {use_case.name: UseCasePipelines(self, use_case.name, config=config,
                                                          use_case=use_case, shared=shared)
                          for use_case in config.use_cases}
        self.lake = None  # the governed lake (Lake Formation, Athena), when the stage has one
        if config.lake_formation.enabled:
            self.lake = DataLake(self, "DataLake", config=config, shared=shared, use_cases=[
                GovernedUseCase(config=u, etl_role=self.use_cases[u.name].glue_etl.role,
                                prediction_table=self.use_cases[u.name].prediction_table)
                for u in config.use_cases])
        cdk.CfnOutput(self, "NotificationTopicArn", value=notifications.topic.topic_arn)
