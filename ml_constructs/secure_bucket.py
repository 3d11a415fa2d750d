"""The one way a bucket is made here: KMS, TLS-only, private, versioned, logged, retained."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_constructs.compliance import acknowledge


@dataclass(frozen=True)
class BucketLifecycle:
    noncurrent_version_expiration_days: int
    incomplete_upload_expiration_days: int
    infrequent_access_transition_days: int | None = None


def _lifecycle_rules(lifecycle: BucketLifecycle) -> list[s3.LifecycleRule]:
    rules = [
        s3.LifecycleRule(
            id="expire-noncurrent-versions",
            noncurrent_version_expiration=cdk.Duration.days(
                lifecycle.noncurrent_version_expiration_days
            ),
            abort_incomplete_multipart_upload_after=cdk.Duration.days(
                lifecycle.incomplete_upload_expiration_days
            ),
        )
    ]
    if lifecycle.infrequent_access_transition_days:
        rules.append(
            s3.LifecycleRule(
                id="current-versions-to-infrequent-access",
                transitions=[
                    s3.Transition(
                        storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                        transition_after=cdk.Duration.days(
                            lifecycle.infrequent_access_transition_days
                        ),
                    )
                ],
            )
        )
    return rules


class AccessLogBucket(Construct):
    """Target of S3 server access logs. S3 log delivery cannot write to SSE-KMS buckets, so this
    one bucket uses SSE-S3 (AES-256), the strongest encryption AWS allows for it."""

    def __init__(self, scope: Construct, construct_id: str, *, expiration_days: int) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=cdk.Duration.days(expiration_days),
                    noncurrent_version_expiration=cdk.Duration.days(30),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                )
            ],
        )
        acknowledge(
            self.bucket,
            "This bucket is the server access log target; logging it into itself would loop.",
            "AwsSolutions-S1",
            "NIST.800.53.R5-S3BucketLoggingEnabled",
        )
        acknowledge(
            self.bucket,
            "S3 server access log delivery only supports SSE-S3 on the target bucket, not SSE-KMS.",
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
        )
        acknowledge(
            self.bucket,
            "Access logs are an audit trail kept for their retention period in-region; "
            "cross-region replication is a disaster-recovery choice left to the account's policy.",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
        )


class SecureBucket(Construct):
    """A data bucket: customer-managed KMS with bucket keys, TLS 1.2+ only, all public access
    blocked, versioned, access-logged, lifecycle-managed and retained on stack deletion."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        access_logs: s3.IBucket,
        lifecycle: BucketLifecycle,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            # No bucket_name: CloudFormation generates one, so a bucket retained by `cdk destroy`
            # (or by a rolled-back first deploy) never blocks the next deploy.
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{construct_id.lower()}/",
            lifecycle_rules=_lifecycle_rules(lifecycle),
            # Data outlives the stack: `cdk destroy` must never delete training data or models.
            removal_policy=cdk.RemovalPolicy.RETAIN,
            auto_delete_objects=False,
        )
        acknowledge(
            self.bucket,
            "Versioning plus retention protect the data in-region; cross-region replication is a "
            "disaster-recovery choice that needs a second region, left to the account's policy.",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
        )
