"""Where a backtest's data profile lives, and whether it still describes the data.

The window split job writes the profile of the data it read (contract.TIME_PROFILE_FILE: every
file under the data's S3 prefix with its size, the periods and their row counts) under a key
derived from the data's location. The backtest state machine lists the data's files and reads
the profile right after the first state; the validator trusts the profile only when the listing
holds exactly the files it names, with the same sizes, so data that grew since is never refused
by an old profile (the split job checks it then).
"""

from __future__ import annotations

from typing import Any

from .names import short_hash
from .values import split_s3_uri


def profile_location(bucket: str, use_case: str, data_uri: str,
                     profile_file: str) -> dict[str, str]:
    """Where a split job writes the profile of the data at `data_uri` (`profile`: its folder)
    and the first states read it (`profile_file` in it: contract.DATA_PROFILE_FILE for
    cross-validation's, TIME_PROFILE_FILE for a backtest's); the data's bucket and prefix."""
    key = f"profiles/{use_case}/{short_hash(data_uri)}/"
    parts = split_s3_uri(data_uri) or ("", "")
    return {"profile": f"s3://{bucket}/{key}", "profile_bucket": bucket,
            "profile_key": f"{key}{profile_file}",
            "data_bucket": parts[0], "data_prefix": parts[1] or ""}


def listed_files(listing: dict[str, Any], prefix: str) -> dict[str, int] | None:
    """{path below the prefix: size} of a ListObjectsV2 answer; None when it is not the whole
    listing (truncated) or not one at all."""
    if not isinstance(listing, dict) or listing.get("IsTruncated"):
        return None
    files = {}
    for item in listing.get("Contents") or []:
        key, size = item.get("Key"), item.get("Size")
        if not isinstance(key, str) or not isinstance(size, int):
            return None
        if key.endswith("/") and size == 0:  # a console-made "folder"
            continue
        files[key[len(prefix):]] = size
    return files


def current_profile(data: dict[str, Any]) -> dict[str, Any] | None:
    """The profile in `data` ({"profile": ..., "listing": ..., "prefix": ...}) when the listed
    files are exactly the profiled ones; else None."""
    profile = data.get("profile")
    if not isinstance(profile, dict) or not isinstance(profile.get("files"), dict):
        return None
    files = listed_files(data.get("listing"), str(data.get("prefix") or ""))
    if not files or files != profile["files"]:
        return None
    time = profile.get("time")
    if not isinstance(time, dict) or not {"spec", "first", "last", "rows_per_period"} <= set(time):
        return None
    # rows_per_period null: a first run's bounds from Parquet statistics (first_run_windows.py).
    if time["rows_per_period"] is not None and not isinstance(time["rows_per_period"], dict):
        return None
    return profile
