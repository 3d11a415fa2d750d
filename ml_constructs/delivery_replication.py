"""Cross-region artifact replication buckets, brought up to the platform's bucket baseline.

A stage in another region than the pipeline needs a copy of the artifacts there. CodePipeline
creates one support stack per such region (`cross-region-stack-<account>:<region>`) with a bucket
and a KMS key (rotated: the pipeline sets `enable_key_rotation`). That bucket is neither versioned
nor access-logged; this module adds both, an expiry, and a log bucket beside it, through the L1
resource because CDK creates the bucket itself. Call after `build_pipeline()`.
"""

from __future__ import annotations

from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from ml_constructs.compliance import acknowledge
from ml_constructs.secure_bucket import AccessLogBucket

LOG_PREFIX = "replication/"


def harden_replication_buckets(pipeline: codepipeline.Pipeline, *, log_expiration_days: int,
                               artifact_expiration_days: int) -> list[s3.IBucket]:
    """Versioning, access logs and expiry on every replication bucket; returns the buckets."""
    buckets = []
    for support in pipeline.cross_region_support.values():
        bucket = support.replication_bucket
        stack = support.stack
        logs = stack.node.try_find_child("AccessLogs")
        if logs is None:
            logs = AccessLogBucket(stack, "AccessLogs", expiration_days=log_expiration_days)
        cfn = bucket.node.default_child
        assert isinstance(cfn, s3.CfnBucket)
        cfn.versioning_configuration = s3.CfnBucket.VersioningConfigurationProperty(
            status="Enabled")
        cfn.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=logs.bucket.bucket_name, log_file_prefix=LOG_PREFIX)
        cfn.lifecycle_configuration = s3.CfnBucket.LifecycleConfigurationProperty(rules=[
            s3.CfnBucket.RuleProperty(
                id="expire-replicated-artifacts", status="Enabled",
                expiration_in_days=artifact_expiration_days,
                noncurrent_version_expiration=s3.CfnBucket.NoncurrentVersionExpirationProperty(
                    noncurrent_days=7),
                abort_incomplete_multipart_upload=s3.CfnBucket.AbortIncompleteMultipartUploadProperty(
                    days_after_initiation=7))])
        # What the L2 adds for `server_access_logs_bucket`: S3 log delivery may write the prefix,
        # only for this bucket of this account.
        logs.bucket.add_to_resource_policy(iam.PolicyStatement(
            principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"], resources=[logs.bucket.arn_for_objects(f"{LOG_PREFIX}*")],
            conditions={"ArnLike": {"aws:SourceArn": bucket.bucket_arn},
                        "StringEquals": {"aws:SourceAccount": stack.account}}))
        acknowledge(bucket, "A replica of pipeline artifacts in the stage's region; the source "
                    "bucket in the pipeline's region holds the originals.",
                    "NIST.800.53.R5-S3BucketReplicationEnabled")
        buckets.append(bucket)
    return buckets

