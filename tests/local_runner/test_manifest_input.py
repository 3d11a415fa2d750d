"""S3DataType ManifestFile and AugmentedManifestFile, read locally as SageMaker documents them:
a JSON list of a prefix and the keys under it (batch transform and training channels), JSON
lines whose named attributes a Pipe channel streams (training); anything else fails the job
naming the format."""

from __future__ import annotations

import io
import json
import struct
import tarfile

import boto3
import pytest
from moto import mock_aws

from local_runner.executors.manifest_input import manifest_objects, stage_source
from local_runner.executors.pipe import RECORDIO_MAGIC
from local_runner.executors.results import LocalProgram
from local_runner.executors.staging import StagingError
from local_runner.executors.training import run_training_job


@pytest.fixture(scope="module")
def s3():
    """One mocked bucket for the module (each test writes keys of its own or rewrites them)."""
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


# --- training channels ---------------------------------------------------------------------------
# A `train` that keeps what the container got: the train channel's first Pipe epoch as
# train.stream and the validation channel's files as staged, in the model it uploads.
TRAIN = """#!/bin/sh
set -e
cat "$SM_INPUT_DIR/data/train_0" > "$SM_MODEL_DIR/train.stream"
cp -r "$SM_CHANNEL_VALIDATION" "$SM_MODEL_DIR/validation"
"""


def _put(s3, key: str, body: bytes) -> str:
    s3.put_object(Bucket="data", Key=key, Body=body)
    return f"s3://data/{key}"


def _channel(name: str, uri: str, data_type: str, mode: str, **extra) -> dict:
    return {"ChannelName": name, "InputMode": mode,
            "DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": uri,
                                            "S3DataDistributionType": "FullyReplicated",
                                            **extra.pop("source", {})}}, **extra}


def _train(s3, tmp_path, channels: list[dict]):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "train").write_text(TRAIN)
    (bin_dir / "train").chmod(0o755)
    request = {"TrainingJobName": "manifests", "AlgorithmSpecification": {
        "TrainingImage": "own", "TrainingInputMode": "File"}, "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": "s3://data/out/"},
        "ResourceConfig": {"InstanceCount": 1}, "StoppingCondition": {"MaxRuntimeInSeconds": 60}}
    return run_training_job(request, s3, LocalProgram(bin_dir), tmp_path / "job",
                            checkpoints=False)


def _model_files(s3) -> dict[str, bytes]:
    body = s3.get_object(Bucket="data", Key="out/manifests/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        return {m.name.removeprefix("./"): archive.extractfile(m).read()
                for m in archive.getmembers() if m.isfile()}


def _records(stream: bytes) -> list[bytes]:
    records = []
    while stream:
        magic, length = struct.unpack("<II", stream[:8])
        assert magic == RECORDIO_MAGIC
        records.append(stream[8:8 + length])
        stream = stream[8 + length + (4 - length % 4) % 4:]
    return records


def test_manifest_channels_stage_their_objects_by_key_and_pipe_them_in_manifest_order(s3,
                                                                                     tmp_path):
    for key, body in (("rows/b.csv", b"1,b\n"), ("rows/a.csv", b"0,a\n"),
                      ("rows/other.csv", b"unlisted\n")):
        _put(s3, key, body)
    listed = [{"prefix": "s3://data/rows/"}, "b.csv", "a.csv"]
    uri = _manifest(s3, listed)
    outcome = _train(s3, tmp_path, [_channel("train", uri, "ManifestFile", "Pipe"),
                                    _channel("validation", uri, "ManifestFile", "File")])
    assert outcome.completed, outcome.failure_reason
    files = _model_files(s3)
    assert files["train.stream"] == b"1,b\n0,a\n"  # the manifest's order, not the keys'
    assert {k: v for k, v in files.items() if k.startswith("validation/")} == {
        "validation/b.csv": b"1,b\n", "validation/a.csv": b"0,a\n"}  # only what it lists


def test_an_augmented_manifest_streams_each_lines_named_attributes_as_recordio_records(s3,
                                                                                      tmp_path):
    image = _put(s3, "images/1.png", b"\x89PNG one")
    other = _put(s3, "images/2.png", b"\x89PNG two")
    lines = [{"source-ref": image, "label": 1, "note": "unlisted"},
             {"note": "order of keys does not matter", "label": 0, "source-ref": other}]
    uri = _put(s3, "train.manifest", "\n".join(map(json.dumps, lines)).encode() + b"\n")
    _put(s3, "validation/rows.csv", b"0,1\n")
    outcome = _train(s3, tmp_path, [
        _channel("train", uri, "AugmentedManifestFile", "Pipe", RecordWrapperType="RecordIO",
                 source={"AttributeNames": ["source-ref", "label"]}),
        _channel("validation", "s3://data/validation/", "S3Prefix", "File")])
    assert outcome.completed, outcome.failure_reason
    assert _records(_model_files(s3)["train.stream"]) == [
        b"\x89PNG one", b"1", b"\x89PNG two", b"0"]


@pytest.mark.parametrize(("body", "names", "mode", "message"), [
    (b'{"source-ref": "s3://data/x", "label": 1}\n', ["source-ref", "label"], "File",
     "only in Pipe input mode"),
    (b'{"label": 1}\n{"source-ref": "s3://data/x"}\n', ["source-ref", "label"], "Pipe",
     "line 1 has no attribute 'source-ref'"),
    (b'{"label": 1}\nnot json\n', ["label"], "Pipe", "line 2 is not JSON"),
    (b'{"label-ref": "images/1.png"}\n', ["label-ref"], "Pipe", "must be an s3:// URI"),
])
def test_a_bad_augmented_manifest_fails_the_job_naming_the_line_and_rule(s3, tmp_path, body,
                                                                        names, mode, message):
    uri = _put(s3, "bad.manifest", body)
    outcome = _train(s3, tmp_path, [_channel("train", uri, "AugmentedManifestFile", mode,
                                             source={"AttributeNames": names})])
    assert not outcome.completed and message in outcome.failure_reason


def test_a_sharded_manifest_gives_each_host_every_other_entry(s3, tmp_path):
    listed = [{"prefix": "s3://data/rows/"}, "0.csv", "1.csv", "2.csv"]
    for key in listed[1:]:
        _put(s3, f"rows/{key}", key.encode())
    source = {"S3DataType": "ManifestFile", "S3Uri": _manifest(s3, listed)}
    first = stage_source(s3, source, tmp_path / "1", share=(0, 2), pipe=False)
    second = stage_source(s3, source, tmp_path / "2", share=(1, 2), pipe=False)
    assert [p.name for p in first] == ["0.csv", "2.csv"]
    assert [p.name for p in second] == ["1.csv"]
