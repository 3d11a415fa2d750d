"""One use case's serving side: its execution role, Model Monitor job definitions, alarms, the
deployment state machine `<prefix>-<use case>-deployment` (registry -> endpoint, blue/green with
rollback, data capture, baseline, autoscaling, schedules), the rule that deploys its approved
models, and its drift-triggered retraining gate. The serving stack builds one per use case.

The endpoint itself, its autoscaling and its monitoring schedules are created by the deployment
state machine, not by CloudFormation: the endpoint only exists once a model is approved, and both
autoscaling targets and monitoring schedules must name an existing endpoint (docs/serving.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from config import StageConfig, UseCaseConfig
from ml_constructs.deployment_permissions import DeploymentPermissions, DeploymentPermissionsProps
from ml_constructs.endpoint_deployment import EndpointDeployment, EndpointDeploymentProps
from ml_constructs.input_validation import InputValidator
from ml_constructs.model_monitor import ModelMonitor, ModelMonitorProps, ModelQuality
from ml_constructs.network import IsolatedNetwork
from ml_constructs.notifications import NotificationTopic
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_triggers import ModelApprovedStart
from ml_constructs.resource_names import PIPELINE_TAG, USE_CASE_TAG
from ml_constructs.retraining import RetrainingGate, RetrainingGateProps
from ml_constructs.runtime_image import RuntimeImage
from ml_constructs.sagemaker_role import SageMakerExecutionRole
from ml_constructs.schedule_follower import ScheduleFollower
from ml_constructs.serving_alarms import ServingAlarms, ServingAlarmsProps
from ml_constructs.serving_defaults import (
    VARIANT_NAME,
    ServingNames,
    deployment_defaults,
    deployment_platform,
    monitored,
)


class UseCasePipelines(Protocol):
    """What the pipelines stack gives a use case's serving side."""

    group_name: str  # its model package group
    image: RuntimeImage
    training_state_machine: sfn.IStateMachine


@dataclass(frozen=True)
class ServingShared:
    """What the use cases of one serving stack share."""

    config: StageConfig
    key: kms.IKey
    artifacts_bucket: s3.IBucket
    monitoring_bucket: s3.IBucket
    network: IsolatedNetwork | None
    notifications: NotificationTopic
    validator: InputValidator
    log_retention: logs.RetentionDays
    git_commit: str


@dataclass(frozen=True)
class UseCaseServingProps:
    shared: ServingShared
    use_case: UseCaseConfig
    pipelines: UseCasePipelines


def output_suffix(use_case: str) -> str:
    """`sales` -> `Sales`, `house-prices` -> `HousePrices`: a use case in an output's name."""
    return "".join(part[:1].upper() + part[1:] for part in use_case.split("-"))


class UseCaseServing(Construct):
    def __init__(self, scope: Construct, construct_id: str, *,
                 props: UseCaseServingProps) -> None:
        super().__init__(scope, construct_id)
        shared, pipelines = props.shared, props.pipelines
        config, key = shared.config, shared.key
        use_case = props.use_case
        self.names = names = ServingNames.of(config, use_case)
        manifest = use_case.manifest
        serverless = use_case.serving.serverless is not None

        # Model quality monitoring merges the labels under the configured ground truth prefix.
        ground_truth = ((use_case.monitoring.ground_truth_s3_uri,)
                        if monitored(use_case) and use_case.monitoring.ground_truth_s3_uri
                        else ())
        # Models read their artifacts; endpoints write captured data; monitoring jobs read
        # captures and baselines and write reports: all in the monitoring bucket.
        role = SageMakerExecutionRole(self, "ServingExecution", key=key,
                                      read_buckets=[shared.artifacts_bucket],
                                      artifacts_bucket=shared.monitoring_bucket,
                                      in_vpc=shared.network is not None,
                                      read_prefixes=ground_truth).role
        pipelines.image.grant_pull(role)
        settings = pipelines.image.job_settings(role=role, key=key, git_commit=shared.git_commit,
                                                network=shared.network,
                                                tags={**config.tags, USE_CASE_TAG: use_case.name})

        self.monitor: ModelMonitor | None = None
        model_quality = None
        if monitored(use_case):
            if use_case.monitoring.ground_truth_s3_uri:
                model_quality = ModelQuality.of(manifest, use_case.model_quality_metric,
                                                key=f"{self._config_key(config)}.monitoring")
            self.monitor = ModelMonitor(self, "ModelMonitor", props=ModelMonitorProps(
                names=names, manifest=manifest, region=config.region,
                config=use_case.monitoring, model_quality=model_quality,
                monitoring_bucket=shared.monitoring_bucket, key=key, role=role,
                subnet_ids=settings.subnet_ids, security_group_ids=settings.security_group_ids))
            ScheduleFollower(self, "ScheduleFollower", monitor=self.monitor,
                             schedule=use_case.monitoring.schedule, key=key,
                             log_retention=shared.log_retention)
        monitorings = self.monitor.monitorings if self.monitor else []
        schedules = {m.monitoring_type: m.schedule_name for m in monitorings}
        self.alarms = ServingAlarms(self, "Alarms", props=ServingAlarmsProps(
            names=names, variant_name=VARIANT_NAME, rollback=use_case.serving.alarms,
            monitoring=use_case.monitoring, serverless=serverless,
            topic=shared.notifications.topic, data_quality_schedule=schedules.get("DataQuality"),
            model_quality_schedule=schedules.get("ModelQuality"), model_quality=model_quality,
            drift=manifest.monitoring.drift, manifest=manifest,
            model_package_group=pipelines.group_name))

        self.deployment = self._deployment(shared, use_case, pipelines.group_name, settings,
                                           role, monitorings)
        # Manual starts with {} deploy the latest Approved version.
        self.approval_rule = ModelApprovedStart(self, "OnModelApproved",
                                                state_machine=self.deployment.state_machine,
                                                group=pipelines.group_name).rule

        self.retraining: RetrainingGate | None = None
        if use_case.monitoring.retrain_on_drift and self.alarms.retraining_triggers:
            self.retraining = RetrainingGate(self, "Retraining", props=RetrainingGateProps(
                frame=PipelineFrame(self, "RetrainingFrame", pipeline="retraining",
                                    state_machine_name=names.state_machine("retraining-gate"),
                                    notifications=shared.notifications, validator=None,
                                    job_retries=config.job_retries),
                training_state_machine=pipelines.training_state_machine,
                min_hours=use_case.monitoring.min_hours_between_retraining,
                alarms=self.alarms.retraining_triggers), key=key,
                log_retention=shared.log_retention)
            cdk.Tags.of(self.retraining.state_machine).add(PIPELINE_TAG, "retraining-gate")

        cdk.Tags.of(self).add(USE_CASE_TAG, use_case.name)
        stack, suffix = cdk.Stack.of(self), output_suffix(use_case.name)
        cdk.CfnOutput(stack, f"DeploymentStateMachineArn{suffix}",
                      value=self.deployment.state_machine.state_machine_arn,
                      description=f"{use_case.name}: the deployment state machine")
        cdk.CfnOutput(stack, f"EndpointName{suffix}", value=names.endpoint,
                      description=f"{use_case.name}: the real-time endpoint")

    def _deployment(self, shared: ServingShared, use_case: UseCaseConfig, group_name: str,
                    settings, role, monitorings) -> EndpointDeployment:
        config, names = shared.config, self.names
        job_definitions = {m.job_definition_name: m.arn_kind for m in monitorings}
        permissions = DeploymentPermissions(self, "DeploymentPermissions",
                                            props=DeploymentPermissionsProps(
            name_prefix=names.prefix, endpoint_name=names.endpoint, execution_role=role,
            key=shared.key, monitoring_bucket=shared.monitoring_bucket,
            rollback_alarm_names=self.alarms.rollback_alarm_names,
            job_definitions=job_definitions, baseline_jobs=self.monitor is not None,
            autoscaling=use_case.serving.serverless is None))
        deployment = EndpointDeployment(self, "Deployment", props=EndpointDeploymentProps(
            frame=PipelineFrame(self, "DeploymentFrame", pipeline="deployment",
                                state_machine_name=names.state_machine("deployment"),
                                notifications=shared.notifications, validator=shared.validator,
                                job_retries=config.job_retries),
            job_settings=settings, model_package_group_name=group_name,
            name_prefix=names.prefix, endpoint_name=names.endpoint, serving=use_case.serving,
            monitoring_config=use_case.monitoring, monitor=self.monitor, permissions=permissions,
            rollback_alarm_names=self.alarms.rollback_alarm_names,
            defaults=deployment_defaults(use_case),
            platform=deployment_platform(
                config, use_case, artifacts_bucket=shared.artifacts_bucket.bucket_name,
                monitoring_bucket=shared.monitoring_bucket.bucket_name,
                model_package_group=group_name),
        ), key=shared.key, log_retention=shared.log_retention)
        deployment.node.add_dependency(self.alarms)  # rollback alarms exist before any update
        cdk.Tags.of(deployment.state_machine).add(PIPELINE_TAG, "deployment")
        return deployment

    def _config_key(self, config: StageConfig) -> str:
        names = [u.name for u in config.use_cases]
        return f"use_cases[{names.index(self.names.use_case)}]"
