"""Storage: the stage's KMS key and buckets (raw, curated, artifacts, monitoring, access logs)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from config import StageConfig
from ml_constructs.encryption import PlatformKey
from ml_constructs.secure_bucket import AccessLogBucket, BucketLifecycle, SecureBucket

DATA_BUCKETS = ("Raw", "Curated", "Artifacts", "Monitoring")


def bucket_output(kind: str) -> str:
    """The storage stack's output that publishes a data bucket's name, e.g. RawBucketName."""
    return f"{kind}BucketName"


def data_bucket_name(scope: Construct, storage: cdk.Stack, kind: str) -> str:
    """A data bucket's name as another stack of the stage sees it. CloudFormation generates it
    (a retained bucket never blocks the next deploy, README "Deploy to an AWS account"); the
    storage stack publishes it as an output, read at deploy time (`Fn::GetStackOutput`, no
    export to lock the two stacks together)."""
    cdk.Stack.of(scope).add_stack_dependency(storage)  # the output exists before it is read
    return cdk.Fn.get_stack_output(storage.stack_name, bucket_output(kind))


def import_data_buckets(scope: Construct, storage: cdk.Stack) -> dict[str, s3.IBucket]:
    """The stage's data buckets, by kind, as seen from another stack."""
    return {kind: s3.Bucket.from_bucket_name(scope, f"{kind}Bucket",
                                             data_bucket_name(scope, storage, kind))
            for kind in DATA_BUCKETS}


class StorageStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig,
                 **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        storage = config.storage
        self.key = PlatformKey(self, "PlatformKey", alias=f"alias/{config.resource_prefix}").key
        self.access_logs = AccessLogBucket(
            self, "AccessLogs", expiration_days=storage.access_log_expiration_days
        ).bucket
        lifecycle = BucketLifecycle(
            noncurrent_version_expiration_days=storage.noncurrent_version_expiration_days,
            incomplete_upload_expiration_days=storage.incomplete_upload_expiration_days,
        )
        cold_lifecycle = BucketLifecycle(
            noncurrent_version_expiration_days=storage.noncurrent_version_expiration_days,
            incomplete_upload_expiration_days=storage.incomplete_upload_expiration_days,
            infrequent_access_transition_days=storage.infrequent_access_transition_days,
        )
        # Raw landing data and captured traffic are read rarely once processed: move them to
        # Infrequent Access; curated data and artifacts are read by every pipeline run.
        lifecycles = {"Raw": cold_lifecycle, "Curated": lifecycle, "Artifacts": lifecycle,
                      "Monitoring": cold_lifecycle}
        buckets = {
            name: SecureBucket(self, name, key=self.key, access_logs=self.access_logs,
                               lifecycle=lifecycles[name]).bucket
            for name in DATA_BUCKETS
        }
        self.raw_bucket = buckets["Raw"]
        self.curated_bucket = buckets["Curated"]
        self.artifacts_bucket = buckets["Artifacts"]
        self.monitoring_bucket = buckets["Monitoring"]

        for name, bucket in buckets.items():
            cdk.CfnOutput(self, bucket_output(name), value=bucket.bucket_name,
                          description=f"{name} data bucket")
        cdk.CfnOutput(self, "PlatformKeyArn", value=self.key.key_arn,
                      description="KMS key for data, logs and job volumes")
