"""A SageMaker Studio domain for the stage's data scientists: VPC-only in the stage's isolated
VPC, its home volumes encrypted with the stage key, JupyterLab apps shut down when idle, user
profiles from config, and one least-privilege execution role:
- the curated data by LF-tag only, through Athena and Lake Formation (no S3 access to the
  data buckets at all, so nothing under the raw prefixes can be written, and no column Lake
  Formation leaves out can be read from the files);
- start and follow the use cases' training and batch inference executions (not deployment);
- read the model registry of the stage's use cases, and log to the tracking server if one is
  configured."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from config import StageConfig
from ml_constructs.compliance import acknowledge_role_policy, in_finding, wildcard_findings
from ml_constructs.data_lake import READER_REASON, DataLake
from ml_constructs.experiment_tracking import stage_tracking_server_arn
from ml_constructs.model_package_choice import list_packages_arn, package_arns
from ml_constructs.network import IsolatedNetwork
from ml_constructs.physical_names import replaceable_name
from ml_constructs.resource_names import BATCH_INFERENCE, TRAINING, StageNames, UseCaseNames
from ml_constructs.studio_environment import environment_script

# What Studio's JupyterLab reaches in a VPC-only domain beyond the jobs' endpoints
# (network.py): SageMaker's Studio and notebook front ends, and the lake's services.
STUDIO_ENDPOINTS = {
    "Studio": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_STUDIO,
    "Notebook": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_NOTEBOOK,
    "Athena": ec2.InterfaceVpcEndpointAwsService.ATHENA,
    "Glue": ec2.InterfaceVpcEndpointAwsService.GLUE,
    "LakeFormation": ec2.InterfaceVpcEndpointAwsService.LAKE_FORMATION,
    "StepFunctions": ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
}
STARTABLE = (TRAINING, BATCH_INFERENCE)  # the pipelines a data scientist may start


class StudioDomain(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig,
                 key: kms.IKey, network: IsolatedNetwork, lake: DataLake) -> None:
        super().__init__(scope, construct_id)
        names = StageNames(config.resource_prefix)
        studio = config.studio
        self.role = self._role(config, lake)
        # The data scientists read the curated tables of every use case by tag, at the levels
        # `studio.sensitivity` names.
        lake.governance.grant_reader(self, "LakeGrants", self.role.role_arn,
                                     [u.name for u in config.use_cases], studio.sensitivity)

        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=network.vpc, allow_all_outbound=False,
            description="Studio apps: HTTPS to the VPC endpoints, NFS to their home volume")
        # The home EFS volume SageMaker creates admits NFS from the domain's apps.
        self.security_group.add_egress_rule(ec2.Peer.ipv4(config.network.cidr),
                                            ec2.Port.tcp(2049), "NFS to the home EFS volume")
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443),
                                            "HTTPS to the VPC and S3 endpoints")
        self._endpoints(network, config.network.cidr)

        lifecycle = sagemaker.CfnStudioLifecycleConfig(
            self, "Environment", studio_lifecycle_config_name=names.studio_environment,
            studio_lifecycle_config_app_type="JupyterLab",
            studio_lifecycle_config_content=cdk.Fn.base64(environment_script(
                region=config.region, workgroup=lake.workgroup.name,
                database=lake.database_name, prefix=config.resource_prefix,
                tables={u.name: UseCaseNames(config.resource_prefix, u.name).glue_table
                        for u in config.use_cases})))
        # Every property of a lifecycle configuration is create-only (and the domain's
        # AuthMode and KmsKeyId): names that change with them, so a replacement never collides.
        lifecycle.studio_lifecycle_config_name = replaceable_name(
            lifecycle, names.studio_environment, name_property="StudioLifecycleConfigName",
            replaced_by=("StudioLifecycleConfigAppType", "StudioLifecycleConfigContent", "Tags"))
        lifecycle_arn = lifecycle.attr_studio_lifecycle_config_arn
        jupyter = sagemaker.CfnDomain.JupyterLabAppSettingsProperty(
            default_resource_spec=sagemaker.CfnDomain.ResourceSpecProperty(
                instance_type="ml.t3.medium", lifecycle_config_arn=lifecycle_arn),
            lifecycle_config_arns=[lifecycle_arn],
            # SageMaker's own idle shutdown of JupyterLab apps (no extension to install, which
            # a VPC-only app could not download anyway).
            app_lifecycle_management=sagemaker.CfnDomain.AppLifecycleManagementProperty(
                idle_settings=sagemaker.CfnDomain.IdleSettingsProperty(
                    lifecycle_management="ENABLED",
                    idle_timeout_in_minutes=studio.idle_timeout_minutes,
                    min_idle_timeout_in_minutes=60,
                    max_idle_timeout_in_minutes=studio.idle_timeout_minutes)))
        self.domain = sagemaker.CfnDomain(
            self, "Domain", domain_name=names.studio_domain, auth_mode="IAM",
            vpc_id=network.vpc.vpc_id, subnet_ids=list(network.subnet_ids),
            app_network_access_type="VpcOnly", kms_key_id=key.key_arn,
            default_user_settings=sagemaker.CfnDomain.UserSettingsProperty(
                execution_role=self.role.role_arn,
                security_groups=[self.security_group.security_group_id],
                jupyter_lab_app_settings=jupyter, default_landing_uri="studio::",
                studio_web_portal="ENABLED"),
            tag_propagation="ENABLED")
        self.domain.domain_name = replaceable_name(self.domain, names.studio_domain,
                                                   name_property="DomainName",
                                                   replaced_by=("AuthMode", "KmsKeyId"))
        # Deleting the domain keeps the home EFS volume (DeleteDomain's RetentionPolicy
        # defaults to Retain), so the users' notebooks outlive a `cdk destroy`.
        self._grant_studio_apps(self.domain.attr_domain_id)
        self.users = [sagemaker.CfnUserProfile(self, f"User{user}",
                                               domain_id=self.domain.attr_domain_id,
                                               user_profile_name=user)
                      for user in studio.users]
        cdk.CfnOutput(self, "DomainId", value=self.domain.attr_domain_id,
                      description="The data scientists' Studio domain")

    def _role(self, config: StageConfig, lake: DataLake) -> iam.Role:
        stack = cdk.Stack.of(self)
        role = iam.Role(self, "ExecutionRole",
                        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                        description="Studio: read the lake by LF-tag, start pipelines, read the "
                                    "registry")
        for statement in lake.reader_statements():
            role.add_to_policy(statement)
        machines, groups = [], []
        for use_case in config.use_cases:
            names = UseCaseNames(config.resource_prefix, use_case.name)
            machines += [names.state_machine(p) for p in STARTABLE]
            groups += package_arns(self, names.model_package_group)
        arn = stack.format_arn
        role.add_to_policy(iam.PolicyStatement(
            actions=["states:StartExecution", "states:ListExecutions",
                     "states:DescribeStateMachine"],
            resources=[arn(service="states", resource="stateMachine", resource_name=m,
                           arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME) for m in machines]))
        executions = [arn(service="states", resource="execution", resource_name=f"{m}:*",
                          arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME) for m in machines]
        role.add_to_policy(iam.PolicyStatement(
            actions=["states:DescribeExecution", "states:GetExecutionHistory",
                     "states:StopExecution"], resources=executions))
        role.add_to_policy(iam.PolicyStatement(
            actions=["sagemaker:DescribeModelPackageGroup", "sagemaker:DescribeModelPackage"],
            resources=groups))
        role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:ListModelPackages"],
                                               resources=[list_packages_arn(self)]))
        # The configured server, else the stage's own (experiment_tracking).
        server = config.studio.mlflow_tracking_server_arn or stage_tracking_server_arn(self,
                                                                                       config)
        if server:
            role.add_to_policy(iam.PolicyStatement(
                actions=["sagemaker-mlflow:AccessUI", "sagemaker-mlflow:CreateExperiment",
                         "sagemaker-mlflow:CreateRun", "sagemaker-mlflow:UpdateRun",
                         "sagemaker-mlflow:LogMetric", "sagemaker-mlflow:LogParam",
                         "sagemaker-mlflow:LogBatch", "sagemaker-mlflow:SetTag",
                         "sagemaker-mlflow:Get*", "sagemaker-mlflow:Search*",
                         "sagemaker:DescribeMlflowTrackingServer",
                         "sagemaker:CreatePresignedMlflowTrackingServerUrl"],
                resources=[server]))
        wildcards = [*lake.reader_wildcards(self), *(in_finding(self, e) for e in executions),
                     in_finding(self, list_packages_arn(self)),
                     *(in_finding(self, g) for g in groups if g.endswith("/*"))]
        actions = ("sagemaker-mlflow:Get*", "sagemaker-mlflow:Search*") if server else ()
        acknowledge_role_policy(
            role.node.find_child("DefaultPolicy"),
            f"{READER_REASON} Executions of the training and batch inference state machines "
            "of the stage's use cases are named per run; model packages are versions of the "
            "stage's own groups (ListModelPackages is authorized on model-package only); "
            "the tracking server's read actions, on that one server.",
            wildcard_findings(actions=actions, resources=tuple(dict.fromkeys(wildcards))))
        return role

    def _grant_studio_apps(self, domain_id: str) -> None:
        """What Studio does as the user profile's execution role when a user opens it: run
        JupyterLab apps in spaces of this domain (and only this one), and list them."""
        arn = cdk.Stack.of(self).format_arn
        scoped = {kind: arn(service="sagemaker", resource=kind, resource_name=f"{domain_id}/*")
                  for kind in ("app", "space", "user-profile")}
        policy = iam.Policy(self, "StudioApps", roles=[self.role], statements=[
            iam.PolicyStatement(
                actions=["sagemaker:CreateApp", "sagemaker:DeleteApp", "sagemaker:DescribeApp",
                         "sagemaker:CreateSpace", "sagemaker:UpdateSpace",
                         "sagemaker:DeleteSpace", "sagemaker:DescribeSpace",
                         "sagemaker:DescribeUserProfile", "sagemaker:AddTags",
                         "sagemaker:ListTags"],
                resources=list(scoped.values())),
            iam.PolicyStatement(actions=["sagemaker:DescribeDomain"], resources=[
                arn(service="sagemaker", resource="domain", resource_name=domain_id)]),
            # List actions without resource types (Service Authorization Reference).
            iam.PolicyStatement(actions=["sagemaker:ListApps", "sagemaker:ListSpaces",
                                         "sagemaker:ListUserProfiles"], resources=["*"])])
        acknowledge_role_policy(
            policy, "Apps, spaces and user profiles of this one domain are named by the users "
            "as they open Studio; SageMaker's list actions have no resource-level permissions.",
            wildcard_findings(resources=("*", *(in_finding(self, a) for a in scoped.values()))))

    def _endpoints(self, network: IsolatedNetwork, cidr: str) -> None:
        endpoints_sg = ec2.SecurityGroup(
            self, "EndpointsSecurityGroup", vpc=network.vpc, allow_all_outbound=False,
            description="Studio interface endpoints: HTTPS from the VPC")
        endpoints_sg.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443),
                                      "HTTPS from inside the VPC")
        for name, service in STUDIO_ENDPOINTS.items():
            ec2.InterfaceVpcEndpoint(self, f"{name}Endpoint", vpc=network.vpc, service=service,
                                     private_dns_enabled=True, open=False,
                                     security_groups=[endpoints_sg],
                                     subnets=ec2.SubnetSelection(
                                         subnet_type=ec2.SubnetType.PRIVATE_ISOLATED))

