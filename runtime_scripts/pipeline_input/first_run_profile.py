"""Cross-validation's first run on a data location: the validator profiles small CSV data itself.

The state machine reads the data profile the split job left for this location; when there is
none yet (the first run), it asks the validator again with this module's CHECK. When the
location is in the bucket the validator may read and holds only CSV files of at most
contract.FIRST_RUN_PROFILE_MAX_BYTES in all, the validator reads them with the standard
library's csv module and answers the profile the split job would write (data_profile.profile_of
over the same rows: rows without a target and exact duplicates left out, as split.read_rows
does); the state machine's "Folds fit the classes?" then refuses too many folds in the first
second. A missing spec column is refused here, in the split job's words. Anything else (larger
data, Parquet, which needs pyarrow, another bucket, a dataset spec from S3) answers no profile,
and the split job checks the data as before. The profile is not written: the split job of any
run that passes writes it, and a refused run leaves nothing to reuse but a read of small data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from .. import contract
from ..common.resampling.data_profile import profile_of
from .errors import InvalidPipelineDefaults, InvalidPipelineInput, Problem
from .schema import Bool, ListOf, Nullable, Obj, S3Uri, Str
from .values import split_s3_uri

CHECK = "first-run-data-profile"  # the event's `check` (handler.py)
NO_PROFILE: dict[str, Any] = {"document": {}}  # the state machine's Choice finds no count

_NAME = Str(max_len=255)
EVENT = Obj({
    "check": Str(max_len=64),
    "data_s3_uri": S3Uri(),
    "dataset_spec_s3_uri": Nullable(S3Uri()),  # the input's: its columns may differ
    "group_column": Nullable(_NAME),  # the input's, else the spec's (below)
    # The use case's bundled dataset spec, as the split job reads it (pipeline_defaults.py).
    "spec": Obj({"name": _NAME, "target": _NAME, "features": ListOf(_NAME),
                 "group_column": Nullable(_NAME), "stratified": Bool()}),
    "readable_bucket": Str(max_len=63),  # the one bucket the validator's role may read
})


def data_files(listing: dict[str, Any], prefix: str) -> dict[str, int] | None:
    """{key: size} of the CSV files a job would read under `prefix` (jobio.find_data_files'
    rule: data suffixes, no hidden part below the prefix); None when the data is not small CSV
    (a truncated listing, a Parquet file, more than the limit in bytes)."""
    if listing.get("IsTruncated"):
        return None
    files: dict[str, int] = {}
    for item in listing.get("Contents") or []:
        key, size = item["Key"], item["Size"]
        suffix = "." + key.rsplit(".", 1)[-1].lower() if "." in key else ""
        if any(part.startswith(".") for part in key[len(prefix):].split("/")):
            continue
        if suffix in contract.PARQUET_SUFFIXES:
            return None
        if suffix in contract.CSV_SUFFIXES:
            files[key] = size
    if not files or sum(files.values()) > contract.FIRST_RUN_PROFILE_MAX_BYTES:
        return None
    return files


def csv_profile(texts: dict[str, str], spec: dict[str, Any], group_column: str | None,
                data_s3_uri: str) -> dict[str, Any]:
    """The profile split.split() writes for these CSV files ({name: text}): cells as text, as
    jobio.read_table reads them (leading blanks skipped, only '' missing), the spec's target
    and features (and the group column) required in every file."""
    needed = [spec["target"], *spec["features"], *([group_column] if group_column else [])]
    seen: set[tuple[str, ...]] = set()
    labels: list[str] = []
    groups: list[str | None] = []
    problems = []
    for name, text in texts.items():
        reader = csv.reader(io.StringIO(text), skipinitialspace=True)
        header = next(reader, None) or []
        missing = [c for c in needed if c not in header]
        if missing:
            problems.append(f"{name.rsplit('/', 1)[-1]}: columns missing: {', '.join(missing)}")
            continue
        at = [header.index(c) for c in needed]
        for row in _rows(reader):
            cells = tuple(row[i] if i < len(row) else "" for i in at)
            keyed = cells[:1 + len(spec["features"])]  # the target and features
            if keyed in seen:
                continue  # an exact duplicate: split.read_rows keeps the first
            seen.add(keyed)
            label = cells[0].strip()  # cells.categorical_value's rule for a text cell
            if not label:
                continue  # no target
            labels.append(label)
            if group_column:
                groups.append(cells[-1].strip() or None)
    if problems:
        raise InvalidPipelineInput([Problem("data.input_s3_uri", f"does not match dataset spec "
                                            f"{spec['name']!r}: {'; '.join(problems)}")])
    return profile_of(len(labels), labels if spec["stratified"] else None,
                      groups if group_column else None, data_s3_uri)


def _rows(reader: Iterable[list[str]]) -> Iterable[list[str]]:
    for row in reader:
        if row:  # pandas skips blank lines
            yield row


def check(event: dict[str, Any], s3: Any = None) -> dict[str, Any]:
    """The handler's answer to CHECK: {"document": profile}, or NO_PROFILE."""
    problems: list[Problem] = []
    checked = EVENT.check(event, "", problems)
    if problems:
        raise InvalidPipelineDefaults(problems, "event")
    bucket, prefix = split_s3_uri(checked["data_s3_uri"]) or ("", "")
    if checked["dataset_spec_s3_uri"] is not None or bucket != checked["readable_bucket"]:
        return NO_PROFILE
    if s3 is None:
        # The Lambda runtime's own SDK (Lambda's Python runtimes include boto3).
        import boto3
        s3 = boto3.client("s3")
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix,
                                 MaxKeys=contract.FIRST_RUN_PROFILE_MAX_FILES)
    files = data_files(listing, prefix)
    if files is None:
        return NO_PROFILE
    texts = {}
    for key in sorted(files):
        try:
            texts[key] = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        except UnicodeDecodeError:
            return NO_PROFILE  # the split job says what is wrong with the file
    spec = checked["spec"]
    group = checked["group_column"] or spec["group_column"]
    return {"document": csv_profile(texts, spec, group, checked["data_s3_uri"])}
