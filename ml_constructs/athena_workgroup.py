"""The stage's Athena workgroup: query results in the artefacts bucket, encrypted with the stage
key, and the workgroup's settings enforced over the client's (a query cannot send its results
elsewhere or unencrypted). `reader_statements` is what a principal needs to query through it."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

RESULTS_PREFIX = "athena-results/"
# A runaway query over the whole lake is stopped after this many bytes scanned (10 GB).
BYTES_SCANNED_CUTOFF = 10 * 1000 ** 3


class AthenaWorkgroup(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, name: str, key: kms.IKey,
                 artifacts_bucket: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        self.name = name
        self.key = key
        self.artifacts_bucket = artifacts_bucket
        self.results_uri = artifacts_bucket.s3_url_for_object(RESULTS_PREFIX)
        self.workgroup = athena.CfnWorkGroup(
            self, "WorkGroup", name=name,
            description="Queries over the curated tables and the batch predictions",
            state="ENABLED",
            # Named queries and results are the team's; deleting the stack removes them too.
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                # The workgroup's result location and encryption override the client's.
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=BYTES_SCANNED_CUTOFF,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=self.results_uri,
                    expected_bucket_owner=cdk.Aws.ACCOUNT_ID,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn))))
        self.workgroup_arn = cdk.Stack.of(self).format_arn(
            service="athena", resource="workgroup", resource_name=name)

    def reader_statements(self) -> list[iam.PolicyStatement]:
        """Run queries in the workgroup and read their results back; the data itself comes
        through Lake Formation (lakeformation:GetDataAccess, granted with the catalog)."""
        bucket = self.artifacts_bucket
        return [
            iam.PolicyStatement(
                actions=["athena:StartQueryExecution", "athena:GetQueryExecution",
                         "athena:GetQueryResults", "athena:GetQueryResultsStream",
                         "athena:StopQueryExecution", "athena:GetWorkGroup",
                         "athena:ListQueryExecutions", "athena:BatchGetQueryExecution"],
                resources=[self.workgroup_arn]),
            # Athena writes and reads the results as the caller, in the enforced location.
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload",
                         "s3:ListMultipartUploadParts"],
                resources=[bucket.arn_for_objects(f"{RESULTS_PREFIX}*")]),
            iam.PolicyStatement(
                actions=["s3:ListBucket"], resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{RESULTS_PREFIX}*"]}}),
            iam.PolicyStatement(actions=["s3:GetBucketLocation"], resources=[bucket.bucket_arn]),
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[self.key.key_arn]),
        ]
