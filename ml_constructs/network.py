"""Optional VPC isolation: private isolated subnets (no internet route), VPC endpoints for every
AWS service the jobs call, flow logs, and one security group for SageMaker jobs and endpoints."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ml_constructs.compliance import acknowledge, acknowledge_role_policy

# What SageMaker jobs, endpoints and the pipelines reach from inside the VPC.
INTERFACE_ENDPOINTS = {
    "SageMakerApi": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
    "SageMakerRuntime": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
}


class IsolatedNetwork(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str,
        max_azs: int,
        key: kms.IKey,
        log_retention: logs.RetentionDays,
        experiment_tracking: bool = False,
    ) -> None:
        """`experiment_tracking`: the jobs log to a SageMaker MLflow tracking server, whose API
        a VPC reaches through its own interface endpoint (AWS's guide to MLflow with
        PrivateLink: `aws.sagemaker.<region>.experiments`, beside the SageMaker API one)."""
        super().__init__(scope, construct_id)
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=key,
            retention=log_retention,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=max_azs,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                )
            ],
            flow_logs={
                "all-traffic": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        self.security_group = ec2.SecurityGroup(
            self,
            "JobsSecurityGroup",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="SageMaker jobs and endpoints: each other and the VPC endpoints only",
        )
        # Distributed training and multi-instance processing talk between instances.
        self.security_group.add_ingress_rule(
            self.security_group, ec2.Port.all_traffic(), "between instances of the same job"
        )
        self.security_group.add_egress_rule(
            self.security_group, ec2.Port.all_traffic(), "between instances of the same job"
        )
        # HTTPS to anywhere *routable*: the isolated subnets have no internet route, so this is
        # the interface endpoints plus S3 through its gateway endpoint (whose prefix list is
        # only known in the deployed account).
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to the VPC and S3 endpoints"
        )
        endpoints_sg = ec2.SecurityGroup(
            self,
            "EndpointsSecurityGroup",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="Interface endpoints: HTTPS from the VPC",
        )
        # The configured CIDR, not the VPC's CidrBlock token: cdk-nag cannot read a token and
        # would treat the rule as open to the world.
        endpoints_sg.add_ingress_rule(
            ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from inside the VPC"
        )
        acknowledge(
            self.security_group,
            "The all-traffic rule only admits members of this same security group (instances of "
            "one distributed job); nothing outside the group can reach any port.",
            "NIST.800.53.R5-EC2RestrictedCommonPorts",
        )
        acknowledge_role_policy(
            self.vpc.node.find_child("all-traffic")
            .node.find_child("IAMRole")
            .node.find_child("DefaultPolicy"),
            "The VPC flow log delivery role writes only to its own log group.",
            [],
        )
        endpoints = dict(INTERFACE_ENDPOINTS)
        if experiment_tracking:
            endpoints["MlflowTracking"] = ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_EXPERIMENTS
        for name, service in endpoints.items():
            # open=False: the explicit CIDR rule above replaces CDK's token-based one.
            self.vpc.add_interface_endpoint(
                name,
                service=service,
                private_dns_enabled=True,
                open=False,
                security_groups=[endpoints_sg],
            )

    @property
    def subnet_ids(self) -> tuple[str, ...]:
        return tuple(
            self.vpc.isolated_subnets[i].subnet_id for i in range(len(self.vpc.isolated_subnets))
        )

    @property
    def security_group_ids(self) -> tuple[str, ...]:
        return (self.security_group.security_group_id,)
