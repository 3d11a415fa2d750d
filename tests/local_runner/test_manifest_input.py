"""S3DataType ManifestFile, read locally as SageMaker documents it (TransformS3DataSource): a
JSON list of a prefix and the keys under it; anything else fails the job naming the format."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from local_runner.executors.manifest_input import manifest_objects
from local_runner.executors.staging import StagingError


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket="data", CreateBucketConfiguration={
            "LocationConstraint": "eu-west-1"})
        yield client


def _manifest(s3, body) -> str:
    s3.put_object(Bucket="data", Key="in.manifest",
                  Body=body if isinstance(body, bytes) else json.dumps(body).encode())
    return "s3://data/in.manifest"


def test_a_manifest_names_its_objects_by_their_keys_under_its_prefix(s3):
    uri = _manifest(s3, [{"prefix": "s3://data/images/"}, "metal/good/1.png", "fabric/spot/2.png"])
    assert manifest_objects(s3, uri) == [("s3://data/images/metal/good/1.png", "metal/good/1.png"),
                                         ("s3://data/images/fabric/spot/2.png",
                                          "fabric/spot/2.png")]


@pytest.mark.parametrize("body", [b"metal/good/1.png\n", ["metal/good/1.png"],
                                  [{"prefix": "s3://data/images/"}], [{"prefix": "images/"}, "a"]])
def test_what_is_not_a_manifest_fails_naming_the_format(s3, body):
    with pytest.raises(StagingError, match=r'\[\{"prefix": "s3://bucket/prefix/"\}'):
        manifest_objects(s3, _manifest(s3, body))
