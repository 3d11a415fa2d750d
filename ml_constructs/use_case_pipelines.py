"""Everything one use case of a stage trains and scores with: its runtime image, its model
package group, its Glue ETL job and table, its training and batch inference state machines
(tagged `use-case` and `pipeline`), its batch schedule and its stack outputs. What the use
cases of a stage share (key, buckets, the jobs' execution role, the notification topic, the
input validator, the Glue database) comes in `SharedPipelineResources`.

What the serving side needs of a use case (ml_constructs/use_case_serving.py
`UseCasePipelines`): `group_name`, `image` and `training_state_machine`; the stack exposes them
per use case name (PipelinesStack.use_cases).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from config import StageConfig, UseCaseConfig
from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.backtest_pipeline import BacktestPipeline, BacktestPipelineProps
from ml_constructs.batch_pipeline import BatchPipeline, BatchPipelineProps
from ml_constructs.cross_validation_pipeline import (
    CrossValidationPipeline,
    CrossValidationPipelineProps,
)
from ml_constructs.glue_etl import GlueCatalog, GlueEtl, GlueEtlProps
from ml_constructs.input_validation import InputValidator
from ml_constructs.lake_governance import lake_tags
from ml_constructs.network import IsolatedNetwork
from ml_constructs.notifications import NotificationTopic
from ml_constructs.own_algorithm import OwnAlgorithm
from ml_constructs.pipeline_defaults import (
    backtest_defaults,
    backtest_platform,
    batch_defaults,
    batch_platform,
    cross_validation_defaults,
    cross_validation_platform,
    first_run_profile_spec,
    first_run_time_spec,
    training_defaults,
    training_platform,
)
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_triggers import ScheduledStart
from ml_constructs.prediction_table import PredictionTable, PredictionTableProps
from ml_constructs.resource_names import (
    BACKTEST,
    BATCH_INFERENCE,
    CROSS_VALIDATION,
    TRAINING,
    USE_CASE_TAG,
    UseCaseNames,
)
from ml_constructs.runtime_image import RuntimeImage
from ml_constructs.training_pipeline import TrainingPipeline, TrainingPipelineProps
from ml_constructs.training_rules import training_rule_props

TRAINING_TIMEOUT = cdk.Duration.hours(24)
# K trainings a few at a time, and with `final_model` one more on all the data.
CROSS_VALIDATION_TIMEOUT = cdk.Duration.hours(48)
BATCH_TIMEOUT = cdk.Duration.hours(12)
# Windows run a few at a time, each a training pipeline of its own.
BACKTEST_TIMEOUT = cdk.Duration.hours(72)


@dataclass(frozen=True)
class SharedPipelineResources:
    """What every use case of a stage uses alike."""

    key: kms.IKey
    raw_bucket: s3.IBucket
    curated_bucket: s3.IBucket
    artifacts_bucket: s3.IBucket
    execution_role: iam.IRole  # the role SageMaker jobs and models run as
    notifications: NotificationTopic
    validator: InputValidator
    glue_catalog: GlueCatalog
    network: IsolatedNetwork | None
    log_retention: logs.RetentionDays
    git_commit: str
    tracking_server_arn: str | None = None  # the stage's MLflow tracking server, if any


class UseCasePipelines(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig,
                 use_case: UseCaseConfig, shared: SharedPipelineResources) -> None:
        super().__init__(scope, construct_id)
        self.names = names = UseCaseNames(config.resource_prefix, use_case.name)
        manifest = use_case.manifest
        self.image = RuntimeImage(self, "RuntimeImage", use_case=use_case, region=config.region)
        self.image.grant_pull(shared.execution_role)
        settings = self.image.job_settings(
            role=shared.execution_role, key=shared.key, git_commit=shared.git_commit,
            network=shared.network, tracking_server_arn=shared.tracking_server_arn,
            tags={**config.tags, USE_CASE_TAG: use_case.name})

        self.group_name = names.model_package_group
        # No description: it is create-only, so editing it would make CloudFormation replace
        # the group, and a replaced registry is an empty one (no version left to deploy).
        group = sagemaker.CfnModelPackageGroup(
            self, "ModelPackageGroup", model_package_group_name=names.model_package_group)
        glue_etl = GlueEtl(self, "GlueEtl", props=GlueEtlProps(
            job_name=names.glue_job, table_name=names.glue_table, catalog=shared.glue_catalog,
            key=shared.key, raw_bucket=shared.raw_bucket, curated_bucket=shared.curated_bucket,
            raw_prefix=use_case.prefix, curated_prefix=use_case.prefix,
            schema=manifest.path(manifest.glue_schema),
            lake_tags=lake_tags(config.lake_formation, use_case)))
        self.glue_etl = glue_etl
        artifacts = shared.artifacts_bucket.bucket_name
        finish = {"key": shared.key, "log_retention": shared.log_retention}
        # What every pipeline that trains takes when no algorithm resource is named, the use
        # case's own algorithm resource when the stage creates one, and the jobs' volume key.
        image_spec = {"algorithm_specification": jobs.image_algorithm_specification(settings),
                      **jobs.volume_key_platform(settings)}
        own = None
        if use_case.training.own_algorithm:
            own = OwnAlgorithm(self, "Algorithm", base_name=names.algorithm, settings=settings,
                               manifest=manifest, instance_type=use_case.training.instance_type,
                               key=shared.key, log_retention=shared.log_retention)
            image_spec["own_algorithm"] = own.name

        training = TrainingPipeline(self, "Training", props=TrainingPipelineProps(
            frame=self._frame("TrainingFrame", "training", TRAINING, config, shared),
            job_settings=settings, execution_role=shared.execution_role,
            artifacts_bucket=shared.artifacts_bucket,
            model_package_group_name=names.model_package_group,
            name_prefix=config.resource_prefix, runs_prefix=names.training_runs_prefix,
            glue_job_name=glue_etl.job_name, serving=use_case.served,
            defaults=trains_with(own, training_defaults(
                config, use_case, raw_bucket=shared.raw_bucket.bucket_name,
                curated_bucket=shared.curated_bucket.bucket_name)),
            platform={**training_platform(
                config, use_case, artifacts_bucket=artifacts,
                script_mode_hyperparameters=self.image.script_mode_hyperparameters),
                **image_spec},
            region=config.region,
            **training_rule_props(use_case, region=config.region),
        ), timeout=TRAINING_TIMEOUT, **finish)
        batch = BatchPipeline(self, "BatchInference", props=BatchPipelineProps(
            frame=self._frame("BatchFrame", "batch", BATCH_INFERENCE, config, shared),
            job_settings=settings, execution_role=shared.execution_role,
            artifacts_bucket=shared.artifacts_bucket,
            model_package_group_name=names.model_package_group,
            name_prefix=config.resource_prefix, runs_prefix=names.batch_runs_prefix,
            defaults=batch_defaults(config, use_case,
                                    raw_bucket=shared.raw_bucket.bucket_name),
            platform={**batch_platform(config, use_case, artifacts_bucket=artifacts),
                      **jobs.volume_key_platform(settings)},
            manifest=manifest,
        ), timeout=BATCH_TIMEOUT, **finish)
        self.prediction_table: PredictionTable | None = None
        if manifest.batch_predictions is not None:
            self.prediction_table = PredictionTable(self, "PredictionTable",
                                                    props=PredictionTableProps(
                database=shared.glue_catalog.database, table_name=names.predictions_table,
                bucket=shared.artifacts_bucket, prefix=names.predictions_prefix,
                columns=manifest.serving.prediction_columns, spec=manifest.batch_predictions,
                description=f"{use_case.name}: batch predictions, one partition per day"))
        for pipeline in (training, batch):
            pipeline.node.add_dependency(group)
            shared.key.grant_decrypt(pipeline.state_machine)  # reads evaluation.json / packages
        self.cross_validation_state_machine: sfn.StateMachine | None = None
        if manifest.cross_validation.allowed:
            cross_validation = CrossValidationPipeline(
                self, "CrossValidation", props=CrossValidationPipelineProps(
                    frame=self._frame("CrossValidationFrame", CROSS_VALIDATION, CROSS_VALIDATION,
                                      config, shared),
                    job_settings=settings, execution_role=shared.execution_role,
                    artifacts_bucket=shared.artifacts_bucket, raw_bucket=shared.raw_bucket,
                    key=shared.key, name_prefix=config.resource_prefix,
                    runs_prefix=names.training_runs_prefix,
                    profiles_prefix=names.data_profiles_prefix,
                    map_results_prefix=names.map_results_prefix,
                    model_package_group_name=names.model_package_group,
                    # Its final model is the use case's bundle on the use case's image alone.
                    serving=manifest.serving,
                    profile_spec=first_run_profile_spec(use_case),
                    defaults=trains_with(own, cross_validation_defaults(
                        config, use_case, raw_bucket=shared.raw_bucket.bucket_name)),
                    platform={**cross_validation_platform(config, use_case,
                                                          artifacts_bucket=artifacts),
                              **image_spec},
                    sharded_training=manifest.image.sharded_training,
                ), timeout=CROSS_VALIDATION_TIMEOUT, **finish)
            cross_validation.node.add_dependency(group)  # its final model registers there
            self.cross_validation_state_machine = cross_validation.state_machine
            cdk.CfnOutput(self, "CrossValidationStateMachineArn",
                          value=cross_validation.state_machine.state_machine_arn,
                          description=f"{use_case.name}: the cross-validation state machine")
        self.backtest_state_machine: sfn.StateMachine | None = None
        if manifest.backtest.allowed:
            backtest = BacktestPipeline(self, "Backtest", props=BacktestPipelineProps(
                frame=self._frame("BacktestFrame", "backtest", BACKTEST, config, shared),
                job_settings=settings, execution_role=shared.execution_role,
                raw_bucket=shared.raw_bucket, artifacts_bucket=shared.artifacts_bucket,
                key=shared.key,
                name_prefix=config.resource_prefix, runs_prefix=names.training_runs_prefix,
                profiles_prefix=names.data_profiles_prefix,
                map_results_prefix=names.map_results_prefix,
                max_job_attempts=config.job_retries.max_attempts,
                profile_spec=first_run_time_spec(use_case),
                defaults=trains_with(own, backtest_defaults(
                    config, use_case, raw_bucket=shared.raw_bucket.bucket_name)),
                platform={**backtest_platform(config, use_case, artifacts_bucket=artifacts),
                          **image_spec},
                sharded_training=manifest.image.sharded_training,
            ), timeout=BACKTEST_TIMEOUT, **finish)
            shared.key.grant_decrypt(backtest.state_machine)  # reads backtest.json, the profile
            self.backtest_state_machine = backtest.state_machine
            cdk.CfnOutput(self, "BacktestStateMachineArn",
                          value=backtest.state_machine.state_machine_arn,
                          description=f"{use_case.name}: the backtest state machine")
        names.tag(self)

        if use_case.batch_inference.schedule:
            ScheduledStart(self, "BatchSchedule", state_machine=batch.state_machine,
                           schedule_name=names.batch_schedule,
                           expression=use_case.batch_inference.schedule, key=shared.key,
                           description=f"Scheduled batch inference of {use_case.name} with "
                                       "the latest approved model")

        self.training_state_machine: sfn.StateMachine = training.state_machine
        self.batch_state_machine: sfn.StateMachine = batch.state_machine
        # Logical ids under this construct's id (the use case's name): unique in the stack.
        cdk.CfnOutput(self, "TrainingStateMachineArn",
                      value=training.state_machine.state_machine_arn,
                      description=f"{use_case.name}: the training state machine")
        cdk.CfnOutput(self, "BatchStateMachineArn", value=batch.state_machine.state_machine_arn,
                      description=f"{use_case.name}: the batch inference state machine")
        cdk.CfnOutput(self, "ModelPackageGroupName", value=names.model_package_group,
                      description=f"{use_case.name}: the model registry group")

    def _frame(self, construct_id: str, validator_pipeline: str, pipeline: str,
               config: StageConfig, shared: SharedPipelineResources) -> PipelineFrame:
        """The frame owns the state machine, its role and its log group: tagged with the
        pipeline, so tools find a use case's pipelines by their tags."""
        frame = PipelineFrame(self, construct_id, pipeline=validator_pipeline,
                              state_machine_name=self.names.state_machine(pipeline),
                              notifications=shared.notifications, validator=shared.validator,
                              job_retries=config.job_retries)
        self.names.tag(frame, pipeline)
        return frame


def trains_with(own: OwnAlgorithm | None, defaults: dict) -> dict:
    """`defaults` whose training names the use case's own algorithm resource, if it has one."""
    if own is None:
        return defaults
    return {**defaults, "training": {**defaults["training"], "algorithm_name": own.name}}
