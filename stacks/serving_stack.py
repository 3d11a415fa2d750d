"""Serving: the deployment state machine (registry -> endpoint, blue/green with rollback), its
triggers, the endpoint's alarms, Model Monitor job definitions and drift-triggered retraining.

The endpoint itself, its autoscaling and its monitoring schedules are created by the deployment
state machine, not by CloudFormation: the endpoint only exists once a model is approved, and both
autoscaling targets and monitoring schedules must name an existing endpoint (docs/serving.md).
"""

from __future__ import annotations

import dataclasses

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from config import StageConfig
from ml_constructs.deployment_permissions import DeploymentPermissions, DeploymentPermissionsProps
from ml_constructs.encryption import let_alarms_publish
from ml_constructs.endpoint_deployment import EndpointDeployment, EndpointDeploymentProps
from ml_constructs.input_validation import InputValidator
from ml_constructs.model_monitor import ModelMonitor, ModelMonitorProps, monitored_features
from ml_constructs.network import IsolatedNetwork
from ml_constructs.notifications import NotificationTopic
from ml_constructs.pipeline_state_machine import PipelineFrame
from ml_constructs.pipeline_triggers import ModelApprovedStart
from ml_constructs.retraining import RetrainingGate, RetrainingGateProps
from ml_constructs.runtime_image import RuntimeImage
from ml_constructs.sagemaker_role import SageMakerExecutionRole
from ml_constructs.schedule_follower import ScheduleFollower
from ml_constructs.serving_alarms import ServingAlarms, ServingAlarmsProps
from ml_constructs.serving_defaults import (
    VARIANT_NAME,
    deployment_defaults,
    deployment_platform,
    endpoint_name,
)
from stacks.log_retention import retention
from stacks.storage_stack import StorageStack, import_data_buckets


class ServingStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig,
                 storage: StorageStack, network: IsolatedNetwork | None,
                 training_state_machine: sfn.IStateMachine, model_package_group_name: str,
                 runtime_image: RuntimeImage, git_commit: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix, key = config.resource_prefix, storage.key
        use_case = config.use_cases[0]
        use_case = dataclasses.replace(use_case, monitoring=dataclasses.replace(
            use_case.monitoring, model_quality_metric=use_case.model_quality_metric))
        buckets = import_data_buckets(self, storage)
        artifacts, monitoring_bucket = buckets["Artifacts"], buckets["Monitoring"]
        log_retention = retention(config.log_retention_days)
        serverless = use_case.serving.serverless is not None
        monitored = use_case.monitoring.enabled and not serverless
        endpoint = endpoint_name(config)

        # Models read their artifacts; endpoints write captured data; monitoring jobs read
        # captures and baselines and write reports: all in the monitoring bucket.
        role = SageMakerExecutionRole(self, "ServingExecution", key=key, read_buckets=[artifacts],
                                      artifacts_bucket=monitoring_bucket,
                                      in_vpc=network is not None).role
        runtime_image.grant_pull(role)
        settings = runtime_image.job_settings(role=role, key=key, git_commit=git_commit,
                                              network=network)
        topic_name = f"{prefix}-serving"
        notifications = NotificationTopic(self, "Notifications", key=key, topic_name=topic_name,
                                          email=config.notification_email)
        # Into the storage stack's key policy (no reference back to this stack).
        let_alarms_publish(storage.key, f"arn:{cdk.Aws.PARTITION}:sns:{self.region}:"
                                        f"{cdk.Aws.ACCOUNT_ID}:{topic_name}")

        monitor = None
        if monitored:
            monitor = ModelMonitor(self, "ModelMonitor", props=ModelMonitorProps(
                name_prefix=prefix, endpoint_name=endpoint, region=config.region,
                config=use_case.monitoring, monitoring_bucket=monitoring_bucket, key=key,
                role=role, subnet_ids=settings.subnet_ids,
                security_group_ids=settings.security_group_ids))
            ScheduleFollower(self, "ScheduleFollower", monitor=monitor,
                             schedule=use_case.monitoring.schedule, key=key,
                             log_retention=log_retention)
        monitorings = monitor.monitorings if monitor else []
        schedules = {m.monitoring_type: m.schedule_name for m in monitorings}
        alarms = ServingAlarms(self, "Alarms", props=ServingAlarmsProps(
            name_prefix=prefix, endpoint_name=endpoint, variant_name=VARIANT_NAME,
            rollback=use_case.serving.alarms, monitoring=use_case.monitoring, serverless=serverless,
            topic=notifications.topic, features=tuple(monitored_features()),
            data_quality_schedule=schedules.get("DataQuality"),
            model_quality_schedule=schedules.get("ModelQuality")))

        job_definitions = {m.job_definition_name: m.arn_kind for m in monitorings}
        permissions = DeploymentPermissions(self, "DeploymentPermissions",
                                            props=DeploymentPermissionsProps(
            name_prefix=prefix, endpoint_name=endpoint, execution_role=role, key=key,
            monitoring_bucket=monitoring_bucket,
            rollback_alarm_names=alarms.rollback_alarm_names, job_definitions=job_definitions,
            baseline_jobs=monitor is not None, autoscaling=not serverless))
        validation = config.input_validation
        validator = InputValidator(self, "InputValidator",
                                   function_name=f"{prefix}-deployment-input", key=key,
                                   log_retention=log_retention,
                                   reserved_concurrency=validation.reserved_concurrency)
        deployment = EndpointDeployment(self, "Deployment", props=EndpointDeploymentProps(
            frame=PipelineFrame(self, "DeploymentFrame", pipeline="deployment",
                                state_machine_name=f"{prefix}-deployment",
                                notifications=notifications, validator=validator,
                                job_retries=config.job_retries),
            job_settings=settings, model_package_group_name=model_package_group_name,
            name_prefix=prefix, endpoint_name=endpoint, serving=use_case.serving,
            monitoring_config=use_case.monitoring, monitor=monitor, permissions=permissions,
            rollback_alarm_names=alarms.rollback_alarm_names,
            defaults=deployment_defaults(config),
            platform=deployment_platform(config, artifacts_bucket=artifacts.bucket_name,
                                         monitoring_bucket=monitoring_bucket.bucket_name,
                                         model_package_group=model_package_group_name),
        ), key=key, log_retention=log_retention)
        deployment.node.add_dependency(alarms)  # rollback alarms exist before any update
        self.deployment_state_machine = deployment.state_machine
        # Manual starts with {} deploy the latest Approved version.
        self.approval_rule = ModelApprovedStart(self, "OnModelApproved",
                                                state_machine=deployment.state_machine,
                                                group=model_package_group_name).rule

        self.retraining: RetrainingGate | None = None
        if use_case.monitoring.retrain_on_drift and alarms.retraining_triggers:
            self.retraining = RetrainingGate(self, "Retraining", props=RetrainingGateProps(
                frame=PipelineFrame(self, "RetrainingFrame", pipeline="retraining",
                                    state_machine_name=f"{prefix}-retraining-gate",
                                    notifications=notifications, validator=None,
                                    job_retries=config.job_retries),
                training_state_machine=training_state_machine,
                min_hours=use_case.monitoring.min_hours_between_retraining,
                alarms=alarms.retraining_triggers), key=key, log_retention=log_retention)

        cdk.CfnOutput(self, "DeploymentStateMachineArn",
                      value=deployment.state_machine.state_machine_arn)
        cdk.CfnOutput(self, "EndpointName", value=endpoint)
        cdk.CfnOutput(self, "ServingTopicArn", value=notifications.topic.topic_arn)
