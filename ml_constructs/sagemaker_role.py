"""The execution role SageMaker jobs and models run as: exactly the data they touch."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_constructs.compliance import (
    BUCKET_WRITE_ACTIONS,
    KEY_ACTIONS,
    acknowledge_role_policy,
    in_finding,
    wildcard_findings,
)


class SageMakerExecutionRole(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey,
                 read_buckets: list[s3.IBucket], artifacts_bucket: s3.IBucket,
                 in_vpc: bool, read_prefixes: tuple[str, ...] = ()) -> None:
        """`read_prefixes`: s3://bucket/prefix/ locations outside the platform's buckets the
        jobs read (e.g. a model quality monitor's ground truth labels)."""
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.role = iam.Role(self, "Role",
                             assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                             description="Processing, training, tuning and transform jobs")
        for bucket in read_buckets:
            bucket.grant_read(self.role)
        artifacts_bucket.grant_read_write(self.role)
        prefix_objects = []
        for uri in read_prefixes:
            bucket_name, _, prefix = uri.removeprefix("s3://").partition("/")
            bucket_arn = stack.format_arn(service="s3", region="", account="",
                                          resource=bucket_name)
            prefix_objects.append(f"{bucket_arn}/{prefix}*")
            self.role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"],
                                                        resources=[prefix_objects[-1]]))
            self.role.add_to_policy(iam.PolicyStatement(
                actions=["s3:ListBucket"], resources=[bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}}))
        key.grant_encrypt_decrypt(self.role)
        # Every job passes the key as VolumeKmsKeyId. SageMaker's developer guide (execution role
        # permissions of CreateProcessingJob, CreateTrainingJob, CreateHyperParameterTuningJob)
        # puts kms:CreateGrant for a volume key on the execution role, the role the job runs as
        # (a transform job runs as its model's role, a monitoring job as its definition's):
        # SageMaker creates the EBS volume's grant with it. Only grants for AWS resources.
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["kms:CreateGrant"], resources=[key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}}))
        self.role.add_to_policy(iam.PolicyStatement(actions=["kms:DescribeKey"],
                                                    resources=[key.key_arn]))
        log_groups = stack.format_arn(service="logs", resource="log-group",
                                      arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                                      resource_name="/aws/sagemaker/*")
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                     "logs:DescribeLogStreams"],
            resources=[log_groups, f"{log_groups}:log-stream:*"]))
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"], resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": ["aws/sagemaker/*",
                                                                "/aws/sagemaker/*"]}}))
        # Needed by SageMaker to pull any ECR image; the action has no resource-level scope.
        self.role.add_to_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"],
                                                    resources=["*"]))
        if in_vpc:
            self.role.add_to_policy(iam.PolicyStatement(
                actions=["ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission",
                         "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission",
                         "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs",
                         "ec2:DescribeDhcpOptions", "ec2:DescribeSubnets",
                         "ec2:DescribeSecurityGroups"],
                resources=["*"]))
        acknowledge_role_policy(
            self.role.node.find_child("DefaultPolicy"),
            "Jobs read and write objects whose keys are generated per execution inside the "
            "platform's own buckets (CDK bucket grants), and read under the configured ground "
            "truth prefixes; KMS actions from CDK's key grant on one "
            "key; ecr:GetAuthorizationToken, cloudwatch:PutMetricData (namespace-conditioned) and "
            "the ENI actions SageMaker needs in a VPC have no resource-level permissions; log "
            "streams are named by SageMaker under /aws/sagemaker/.",
            wildcard_findings(
                actions=(*BUCKET_WRITE_ACTIONS, *KEY_ACTIONS),
                resources=("*", in_finding(self, log_groups),
                           in_finding(self, f"{log_groups}:log-stream:*"),
                           *(in_finding(self, b.arn_for_objects("*"))
                             for b in [*read_buckets, artifacts_bucket]),
                           *(in_finding(self, arn) for arn in prefix_objects)),
            ),
        )
