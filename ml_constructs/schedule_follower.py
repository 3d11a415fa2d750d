"""Keeps the deployment state machine's monitoring schedules on the job definitions of the
deployed templates.

A job definition's name changes whenever CloudFormation replaces it (`replaceable_name`); the
schedule, created by the deployment state machine once the endpoint exists, still names the old
one, which CloudFormation deletes at the end of the same update. So the update also points an
existing schedule at the new definition (UpdateMonitoringSchedule), after the new definition is
created and before the old one is deleted; on a rollback CloudFormation runs it again with the
old name. Without a schedule yet (no model deployed), SageMaker answers ResourceNotFound and
there is nothing to follow: the state machine creates the schedule over the current name.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.compliance import (
    acknowledge_role_policy,
    acknowledge_sdk_provider,
    ref_in_finding,
    wildcard_findings,
)
from ml_constructs.model_monitor import ModelMonitor

# The error UpdateMonitoringSchedule returns for a schedule that does not exist (botocore's
# sagemaker model lists ResourceNotFound among the operation's errors).
NO_SCHEDULE_YET = "ResourceNotFound"


class ScheduleFollower(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, monitor: ModelMonitor,
                 schedule: str, key: kms.IKey, log_retention: logs.RetentionDays) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        # A generated name: retained by `cdk destroy`, and never in the way of the next deploy.
        log_group = logs.LogGroup(self, "Logs", encryption_key=key, retention=log_retention,
                                  removal_policy=cdk.RemovalPolicy.RETAIN)
        schedule_arns = [stack.format_arn(service="sagemaker", resource="monitoring-schedule",
                                          resource_name=m.schedule_name)
                         for m in monitor.monitorings]
        # Its own role, instead of the managed AWSLambdaBasicExecutionRole CDK would attach.
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Deploy time: point the monitoring schedules at their job definitions")
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn, f"{log_group.log_group_arn}:log-stream:*"]))
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["sagemaker:UpdateMonitoringSchedule"], resources=schedule_arns))
        self.updates = []
        for monitoring in monitor.monitorings:
            call = cr.AwsSdkCall(
                service="SageMaker", action="updateMonitoringSchedule",
                parameters=jobs.monitoring_schedule(
                    name=monitoring.schedule_name, job_definition=monitoring.job_definition_name,
                    monitoring_type=monitoring.monitoring_type, schedule=schedule, tags=False),
                # A new job definition name is a new physical resource: the update runs again.
                physical_resource_id=cr.PhysicalResourceId.of(monitoring.job_definition_name),
                ignore_error_codes_matching=NO_SCHEDULE_YET)
            update = cr.AwsCustomResource(
                self, f"{monitoring.monitoring_type}Schedule", on_create=call, on_update=call,
                role=self.role, log_group=log_group, install_latest_aws_sdk=False,
                timeout=cdk.Duration.minutes(2))
            # The name is a literal in the template, not a reference: say the order explicitly.
            update.node.add_dependency(monitor.job_definition(monitoring.monitoring_type))
            self.updates.append(update)
        self._acknowledge(stack, log_group)

    def _acknowledge(self, stack: cdk.Stack, log_group: logs.LogGroup) -> None:
        acknowledge_role_policy(
            self.role.node.find_child("DefaultPolicy"),
            "Log streams get generated names inside this function's own log group.",
            wildcard_findings(resources=(f"{ref_in_finding(log_group)}:log-stream:*",)))
        acknowledge_sdk_provider(stack)
