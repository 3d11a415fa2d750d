"""The manifest data types of an S3 data source, as SageMaker reads them.

ManifestFile (training channels and batch transform): the S3Uri names a JSON manifest,
`[{"prefix": "s3://bucket/some/prefix/"}, "relative/key-1", "relative/key-2", ...]`, and the
input is every `<prefix><relative key>` it lists, each object named by its relative key (in a
File channel `/opt/ml/input/data/<channel>/<relative key>`; batch transform writes
`<S3OutputPath>/<relative key>.out`); a Pipe channel streams them in the manifest's order.

AugmentedManifestFile (training channels, Pipe mode only): the S3Uri names a JSON Lines file,
and SageMaker's guide (augmented manifest format for Pipe mode training) says each line's
attributes named by the channel's AttributeNames, in that order, are streamed (unlisted ones are
ignored): an attribute whose name ends in `-ref` is an S3 URI whose object is sent, any other
its value. With RecordWrapperType RecordIO each of them is one RecordIO record; without, they
are sent back to back. Here each is staged as one file, in stream order, for the Pipe feeder
(pipe.py), which wraps every file in one record; a string value is sent as its text, any other
value as its JSON (`1` -> `1`, as in the guide's example).

ShardedByS3Key over a manifest gives host i of n every n-th entry (key or line) here.
"""

from __future__ import annotations

import json
from pathlib import Path

from local_runner.executors import staging
from local_runner.executors.staging import StagingError

MANIFEST_FORMAT = ('[{"prefix": "s3://bucket/prefix/"}, "relative/key-1", "relative/key-2", '
                   '...]')
AUGMENTED_FORMAT = 'one JSON object per line, e.g. {"source-ref": "s3://bucket/key", "label": 1}'
REF_SUFFIX = "-ref"


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


def augmented_lines(s3, uri: str, attribute_names: list[str]) -> list[dict]:
    """The JSON objects of the augmented manifest at `uri`, each holding every listed name."""
    if not attribute_names:
        raise StagingError(f"AugmentedManifestFile {uri}: the channel names no AttributeNames")
    lines = []
    text = staging.read_object(s3, uri).decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except ValueError as exc:
            raise StagingError(f"AugmentedManifestFile {uri} line {number} is not JSON ({exc}):"
                               f" an augmented manifest has {AUGMENTED_FORMAT}") from None
        if not isinstance(document, dict):
            raise StagingError(f"AugmentedManifestFile {uri} line {number} is not a JSON "
                               f"object: an augmented manifest has {AUGMENTED_FORMAT}")
        missing = [name for name in attribute_names if name not in document]
        if missing:
            raise StagingError(f"AugmentedManifestFile {uri} line {number} has no attribute "
                               f"{', '.join(map(repr, missing))}: every line needs each of the "
                               f"channel's AttributeNames {attribute_names}")
        lines.append(document)
    if not lines:
        raise StagingError(f"AugmentedManifestFile {uri} has no line: it needs "
                           f"{AUGMENTED_FORMAT}")
    return lines


def _attribute_bytes(s3, uri: str, name: str, value) -> bytes:
    if name.endswith(REF_SUFFIX):
        if not (isinstance(value, str) and value.startswith("s3://")):
            raise StagingError(f"AugmentedManifestFile {uri}: attribute {name!r} ends in "
                               f"{REF_SUFFIX!r}, so it must be an s3:// URI, got {value!r}")
        return staging.read_object(s3, value)
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


def stage_source(s3, source: dict, local: Path, *, share: tuple[int, int] | None,
                 pipe: bool) -> list[Path]:
    """A channel's S3DataSource staged into `local`: for a File channel its files as the
    container sees them, for a Pipe channel the files to stream, in stream order."""
    data_type, uri = source.get("S3DataType", "S3Prefix"), source["S3Uri"]
    if data_type == "S3Prefix":
        return staging.download(s3, uri, local, share=share)
    if data_type == "ManifestFile":
        objects = manifest_objects(s3, uri)
        if share is not None:
            objects = staging.shard(objects, share, uri)
        if pipe:  # named by position: the feeder streams files in name order
            objects = [(o, f"{i:08d}/{key}") for i, (o, key) in enumerate(objects)]
        return staging.fetch(s3, objects, local)
    if data_type == "AugmentedManifestFile":
        if not pipe:
            raise StagingError(f"AugmentedManifestFile {uri}: SageMaker reads an augmented "
                               "manifest only in Pipe input mode")
        names = list(source.get("AttributeNames") or [])
        lines = augmented_lines(s3, uri, names)
        if share is not None:
            lines = staging.shard(lines, share, uri)
        local.mkdir(parents=True, exist_ok=True)
        files = []
        for i, line in enumerate(lines):
            for j, name in enumerate(names):
                path = local / f"{i:08d}-{j:02d}"
                path.write_bytes(_attribute_bytes(s3, uri, name, line[name]))
                files.append(path)
        return files
    raise StagingError(f"S3DataType {data_type!r} is not one of S3Prefix, ManifestFile, "
                       "AugmentedManifestFile")
