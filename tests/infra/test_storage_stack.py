"""The storage stack: KMS everywhere, TLS-only, private, versioned, logged, retained."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template

DATA_BUCKET_COUNT = 4


@pytest.fixture(scope="module")
def template(dev) -> Template:
    return Template.from_stack(dev.stack("Storage"))


def _buckets(template: Template) -> dict:
    return template.find_resources("AWS::S3::Bucket")


def _data_buckets(template: Template) -> dict:
    return {k: v for k, v in _buckets(template).items()
            if "LoggingConfiguration" in v["Properties"]}


def test_kms_key_rotates_and_is_retained(template):
    template.resource_count_is("AWS::KMS::Key", 1)
    template.has_resource("AWS::KMS::Key", {
        "Properties": {"EnableKeyRotation": True},
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
    })
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/mlplatform-dev"})


def test_four_data_buckets_and_one_log_bucket(template):
    assert len(_buckets(template)) == DATA_BUCKET_COUNT + 1
    assert len(_data_buckets(template)) == DATA_BUCKET_COUNT


def test_data_buckets_use_the_customer_managed_key(template):
    key_id = next(iter(template.find_resources("AWS::KMS::Key")))
    for bucket in _data_buckets(template).values():
        rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
            "Fn::GetAtt": [key_id, "Arn"]}
        assert rule["BucketKeyEnabled"] is True


def test_log_bucket_uses_sse_s3_because_log_delivery_requires_it(template):
    (log_bucket,) = [b for b in _buckets(template).values()
                     if "LoggingConfiguration" not in b["Properties"]]
    rule = log_bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_every_bucket_is_private_versioned_and_retained(template):
    for bucket in template.find_resources("AWS::S3::Bucket").values():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True,
            "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
        assert bucket["DeletionPolicy"] == "Retain"
        assert bucket["UpdateReplacePolicy"] == "Retain"


def test_data_buckets_log_to_the_log_bucket_under_their_own_prefix(template):
    log_id = next(k for k, b in _buckets(template).items()
                  if "LoggingConfiguration" not in b["Properties"])
    prefixes = set()
    for bucket in _data_buckets(template).values():
        logging = bucket["Properties"]["LoggingConfiguration"]
        assert logging["DestinationBucketName"] == {"Ref": log_id}
        prefixes.add(logging["LogFilePrefix"])
    assert prefixes == {"raw/", "curated/", "artifacts/", "monitoring/"}


def test_lifecycle_expires_noncurrent_versions_and_aborts_uploads(template):
    for bucket in _data_buckets(template).values():
        rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        (rule,) = [r for r in rules if r["Id"] == "expire-noncurrent-versions"]
        assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30  # dev override
        assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7
        assert rule["Status"] == "Enabled"


def test_every_bucket_policy_denies_plain_http_and_old_tls(template):
    policies = template.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == DATA_BUCKET_COUNT + 1
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        denies = [s for s in statements if s["Effect"] == "Deny"]
        conditions = [s["Condition"] for s in denies]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


def test_no_bucket_deletes_its_objects_on_destroy(template):
    template.resource_count_is("Custom::S3AutoDeleteObjects", 0)
    assert not template.find_resources("AWS::Lambda::Function")


def test_key_policy_lets_cloudwatch_logs_of_this_account_use_it(template):
    template.has_resource_properties("AWS::KMS::Key", {
        "KeyPolicy": {"Statement": Match.array_with([Match.object_like({
            "Sid": "AllowCloudWatchLogsInThisAccount",
            "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
        })])}
    })


def test_logical_ids_are_stable(template):
    ids = set(template.to_json()["Resources"])
    for name in ("Raw", "Curated", "Artifacts", "Monitoring"):
        assert any(i.startswith(f"{name}Bucket") for i in ids), ids


def test_everything_is_tagged_with_project_stage_and_cost_centre(template):
    for bucket in _buckets(template).values():
        tags = {t["Key"]: t["Value"] for t in bucket["Properties"]["Tags"]}
        assert tags["project"] == "mlplatform"
        assert tags["stage"] == "dev"
        assert tags["cost-centre"] == "ml-platform-dev"
