"""What the deployment state machine's role needs beyond the permission each task grants itself:
passing the serving role, KMS grants for endpoint volumes, the baseline copy, the rollback alarms,
what Application Auto Scaling requires of its caller, and tags on what it creates."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_constructs.compliance import acknowledge_role_policy, in_finding, wildcard_findings
from ml_constructs.model_monitor import baseline_prefix
from ml_constructs.model_package_choice import list_packages_arn
from ml_constructs.pipeline_states import PROCESSING, grant_sagemaker_jobs

AUTOSCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
AUTOSCALING_ROLE = f"aws-service-role/{AUTOSCALING_SERVICE}/" \
                   "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"


@dataclass(frozen=True)
class DeploymentPermissionsProps:
    name_prefix: str
    endpoint_name: str
    execution_role: iam.IRole
    key: kms.IKey
    monitoring_bucket: s3.IBucket
    rollback_alarm_names: list[str]
    job_definitions: dict[str, str]  # name -> "data-quality" | "model-quality"
    baseline_jobs: bool  # the state machine runs .sync baseline processing jobs
    autoscaling: bool


class DeploymentPermissions(Construct):
    def __init__(self, scope: Construct, construct_id: str, *,
                 props: DeploymentPermissionsProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.monitoring_bucket = props.monitoring_bucket

    def _arn(self, service: str, resource: str, name: str,
             arn_format: cdk.ArnFormat = cdk.ArnFormat.SLASH_RESOURCE_NAME) -> str:
        return cdk.Stack.of(self).format_arn(service=service, resource=resource,
                                             resource_name=name, arn_format=arn_format)

    def attach(self, role: iam.IRole) -> None:
        props = self.props
        prefix, endpoint = props.name_prefix, props.endpoint_name
        endpoint_arn = self._arn("sagemaker", "endpoint", endpoint)
        configs = self._arn("sagemaker", "endpoint-config", f"{prefix}-*")
        schedules = self._arn("sagemaker", "monitoring-schedule", f"{prefix}-*")
        baseline_runs = props.monitoring_bucket.arn_for_objects(
            f"{baseline_prefix(endpoint)}runs/*")
        statements = [
            # SageMaker creates grants on the key for the endpoint's volumes and captured data.
            iam.PolicyStatement(actions=["kms:CreateGrant"], resources=[props.key.key_arn],
                                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}}),
            iam.PolicyStatement(actions=["kms:DescribeKey", "kms:Decrypt",
                                         "kms:GenerateDataKey"], resources=[props.key.key_arn]),
            iam.PolicyStatement(actions=["sagemaker:AddTags"],
                                resources=[endpoint_arn, configs, schedules]),
            iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=[
                self._arn("cloudwatch", "alarm", name, cdk.ArnFormat.COLON_RESOURCE_NAME)
                for name in props.rollback_alarm_names]),
        ]
        wildcards = [configs, schedules]
        if props.job_definitions:
            statements.append(iam.PolicyStatement(
                actions=sorted({f"sagemaker:Describe{kind.title().replace('-', '')}"
                                "JobDefinition" for kind in props.job_definitions.values()}),
                resources=[self._arn("sagemaker", f"{kind}-job-definition", name)
                           for name, kind in props.job_definitions.items()]))
            # The promotion copies the run's baseline files (CopyObject reads the source).
            statements.append(iam.PolicyStatement(actions=["s3:GetObject"],
                                                  resources=[baseline_runs]))
            wildcards.append(baseline_runs)
        if props.autoscaling:
            statements += self._autoscaling_caller(endpoint_arn, configs)
            wildcards.append(self._target_tracking_alarms())
        if not props.baseline_jobs:
            # Otherwise grant_sagemaker_jobs passes the role (for the jobs and the model alike).
            statements.append(iam.PolicyStatement(
                actions=["iam:PassRole"], resources=[props.execution_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}))
        policy = iam.Policy(self, "Policy", statements=statements)
        policy.attach_to_role(role)
        acknowledge_role_policy(
            policy,
            "Endpoint configs and schedules are named after the use case's prefix and the "
            "execution; "
            "baseline files are written per run under one prefix; Application Auto Scaling "
            "names its target-tracking alarms after the endpoint; each is limited to this "
            "stage's resources.",
            wildcard_findings(resources=tuple(in_finding(self, r) for r in wildcards)))
        if props.baseline_jobs:
            grant_sagemaker_jobs(self, role, [PROCESSING], name_prefix=prefix,
                                 execution_role=props.execution_role)

    def _target_tracking_alarms(self) -> str:
        return self._arn("cloudwatch", "alarm",
                         f"TargetTracking-endpoint/{self.props.endpoint_name}/*",
                         cdk.ArnFormat.COLON_RESOURCE_NAME)

    def _autoscaling_caller(self, endpoint_arn: str, configs: str) -> list[iam.PolicyStatement]:
        """What Application Auto Scaling checks its caller may do for a SageMaker variant."""
        return [
            iam.PolicyStatement(actions=["sagemaker:DescribeEndpoint",
                                         "sagemaker:DescribeEndpointConfig",
                                         "sagemaker:UpdateEndpointWeightsAndCapacities"],
                                resources=[endpoint_arn, configs]),
            iam.PolicyStatement(actions=["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms",
                                         "cloudwatch:DeleteAlarms"],
                                resources=[self._target_tracking_alarms()]),
            iam.PolicyStatement(actions=["iam:CreateServiceLinkedRole"],
                                resources=[cdk.Stack.of(self).format_arn(
                                    service="iam", region="", resource="role",
                                    resource_name=AUTOSCALING_ROLE)],
                                conditions={"StringLike": {
                                    "iam:AWSServiceName": AUTOSCALING_SERVICE}}),
        ]

    def acknowledge_state_machine_policy(self, frame, state_machine, *, model_package_group: str,
                                         monitoring: bool) -> None:
        """The wildcards of the tasks' own grants (CallAwsService), on the role's DefaultPolicy."""
        props = self.props
        resources = [
            self._arn("sagemaker", "model-package", f"{model_package_group}/*"),
            list_packages_arn(self),
            self._arn("sagemaker", "model", f"{props.name_prefix}-*"),
            self._arn("sagemaker", "endpoint-config", f"{props.name_prefix}-*"),
        ]
        if monitoring:
            resources.append(props.monitoring_bucket.arn_for_objects(
                f"{baseline_prefix(props.endpoint_name)}current/*"))
        frame.acknowledge_policy(
            state_machine,
            "Reads versions of its own model package group (ListModelPackages is authorized on "
            "model packages only, the request filters to the group); creates models and "
            "endpoint configs named after the use case's prefix and the execution; writes the two "
            "current baseline files; Application Auto Scaling and ListMonitoringSchedules have "
            "no resource-level permissions ('*').",
            # '*' is also acknowledged by the frame for X-Ray; said again here with these reasons.
            wildcard_findings(resources=("*", *(in_finding(state_machine, r)
                                                for r in resources))))
