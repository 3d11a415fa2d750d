"""Moving data between the emulated S3 and local folders, the way SageMaker and Glue stage it."""

from __future__ import annotations

from pathlib import Path

from local_runner.errors import RunnerError


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise RunnerError(f"{uri!r} is not an S3 URI", "use s3://bucket/key")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def list_keys(s3, uri: str) -> list[str]:
    bucket, prefix = split_s3_uri(uri)
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def upload_dir(s3, local: Path, uri: str) -> list[str]:
    """Every file under `local` to `uri` + its relative path."""
    bucket, prefix = split_s3_uri(uri)
    prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    uploaded = []
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        key = prefix + path.relative_to(local).as_posix()
        s3.upload_file(str(path), bucket, key)
        uploaded.append(f"s3://{bucket}/{key}")
    return uploaded
