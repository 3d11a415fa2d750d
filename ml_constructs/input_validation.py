"""The Lambda behind every pipeline's first state: merge the execution input over the stage's
defaults, validate it and derive job names and S3 locations (runtime_scripts/pipeline_input)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_constructs.compliance import (
    acknowledge,
    acknowledge_role_policy,
    in_finding,
    ref_in_finding,
    wildcard_findings,
)
from ml_constructs.physical_names import name_per_stack
from ml_constructs.python_asset import PROJECT_ROOT, exclude_patterns, package_files

PACKAGE = "runtime_scripts.pipeline_input"
HANDLER = f"{PACKAGE}.handler.handler"
ERROR_NAME = "InvalidPipelineInput"  # the exception class the handler raises on bad input


# One vCPU's worth (Lambda: 1,769 MB is the equivalent of one vCPU).
VALIDATOR_MEMORY_MB = 1769


class InputValidator(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, function_name: str,
                 key: kms.IKey, log_retention: logs.RetentionDays,
                 reserved_concurrency: int | None,
                 readable_bucket: s3.IBucket | None = None) -> None:
        super().__init__(scope, construct_id)
        # The function logs here (LoggingConfig), not to Lambda's default /aws/lambda/<name>.
        # Retained by `cdk destroy`: a name that is new for every incarnation of the stack.
        log_group = logs.LogGroup(self, "Logs",
                                  log_group_name=name_per_stack(f"/aws/lambda/{function_name}"),
                                  encryption_key=key, retention=log_retention,
                                  removal_policy=cdk.RemovalPolicy.RETAIN)
        # An inline policy scoped to its own log group, instead of the managed
        # AWSLambdaBasicExecutionRole that grants every log group in the account.
        reads = " and read the raw bucket's data" if readable_bucket else ""
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                        description=f"{function_name}: write its own logs{reads}, nothing else")
        role.add_to_policy(iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn, f"{log_group.log_group_arn}:log-stream:*"],
        ))
        wildcard_resources = [f"{ref_in_finding(log_group)}:log-stream:*", "*"]
        if readable_bucket is not None:
            # A cross-validation's or backtest's first run (pipeline_input/first_run_profile.py,
            # first_run_windows.py): list a data location, read its small CSV files whole and
            # a larger file's header or a Parquet file's footer by ranged GETs, never write.
            # ListObjectsV2 needs s3:ListBucket on the bucket; GetObject, ranged or not,
            # s3:GetObject on the object and, for an SSE-KMS object, kms:Decrypt on its key.
            role.add_to_policy(iam.PolicyStatement(actions=["s3:ListBucket"],
                                                   resources=[readable_bucket.bucket_arn]))
            role.add_to_policy(iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[readable_bucket.arn_for_objects("*")]))
            key.grant_decrypt(role)
            wildcard_resources.append(in_finding(self, readable_bucket.arn_for_objects("*")))
        self.function = lambda_.Function(
            self, "Function",
            function_name=function_name,
            description="Validates a pipeline execution's input; names the offending key",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            # The package and the project modules it imports (runtime_scripts/contract.py, the
            # limits it shares with the stage config), in the project's own layout.
            code=lambda_.Code.from_asset(
                str(PROJECT_ROOT), exclude=exclude_patterns(package_files(PACKAGE))),
            role=role,
            log_group=log_group,
            # Lambda allocates CPU in proportion to memory, one vCPU at 1,769 MB: a first run's
            # exact read parses CSV in Python within contract.FIRST_RUN_PROFILE_SECONDS (the
            # budget's reasoning is there); most invocations take tens of milliseconds.
            memory_size=VALIDATOR_MEMORY_MB,
            timeout=cdk.Duration.seconds(30),
            reserved_concurrent_executions=reserved_concurrency,
            environment_encryption=key,
            tracing=lambda_.Tracing.ACTIVE,
        )
        acknowledge_role_policy(
            role.node.find_child("DefaultPolicy"),
            "Log streams are created per invocation with generated names inside this function's "
            "own log group; X-Ray trace segments have no resource ARN (AWS requires '*'); a "
            "cross-validation or backtest input may name any data location in the raw bucket, "
            "whose small CSV files, headers and Parquet footers the first run reads (read only).",
            wildcard_findings(resources=tuple(wildcard_resources)),
        )
        acknowledge(
            self.function,
            "Invoked synchronously by Step Functions, which receives and handles every error; an "
            "asynchronous dead-letter queue would never receive anything.",
            "NIST.800.53.R5-LambdaDLQ",
        )
        if reserved_concurrency is None:
            acknowledge(
                self.function,
                "Reserving concurrency is off by default (input_validation.reserved_concurrency): "
                "Lambda keeps 100 of an account's concurrency unreserved and a new account's "
                "quota can be 10, so a reservation can fail the first deploy; each invocation "
                "is one short call per pipeline execution.",
                "NIST.800.53.R5-LambdaConcurrency",
            )
        acknowledge(
            self.function,
            "A function over its input that calls no network service but S3 (a first run's "
            "small data, through S3's public endpoint over TLS, as the bucket policy requires): "
            "a VPC would add a gateway endpoint and cold-start latency, and no isolation the "
            "role's read-only grant on one bucket does not give.",
            "NIST.800.53.R5-LambdaInsideVPC",
        )

