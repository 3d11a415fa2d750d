"""S3DataType ManifestFile, as SageMaker reads one: the S3Uri names a JSON manifest,
`[{"prefix": "s3://bucket/some/prefix/"}, "relative/key-1", "relative/key-2", ...]`, and the job's
input is every `<prefix><relative key>` it lists, each object named by its relative key (batch
transform writes `<S3OutputPath>/<relative key>.out`)."""

from __future__ import annotations

import json

from local_runner.executors import staging
from local_runner.executors.staging import StagingError

MANIFEST_FORMAT = ('[{"prefix": "s3://bucket/prefix/"}, "relative/key-1", "relative/key-2", '
                   '...]')


def manifest_objects(s3, uri: str) -> list[tuple[str, str]]:
    """(object URI, relative key) of each entry of the manifest at `uri`, in its order."""
    try:
        listed = json.loads(staging.read_object(s3, uri))
    except ValueError as exc:
        raise StagingError(f"ManifestFile {uri} is not JSON ({exc}): a manifest is "
                           f"{MANIFEST_FORMAT}") from None
    head = listed[0] if isinstance(listed, list) and listed else None
    prefix = head.get("prefix") if isinstance(head, dict) else None
    keys = listed[1:] if prefix else []
    if not (isinstance(prefix, str) and prefix.startswith("s3://") and keys
            and all(isinstance(key, str) and key for key in keys)):
        raise StagingError(f"ManifestFile {uri} is not a manifest: SageMaker reads "
                           f"{MANIFEST_FORMAT}, a prefix then at least one key")
    return [(prefix + key, key) for key in keys]
