"""Bounded reads of a data location in the raw bucket, for the first-run checks.

What a job would read under a prefix (jobio.find_data_files' rule: CSV and Parquet suffixes, no
hidden part below the prefix), sized by one ListObjectsV2 page; then, per file, only what is
cheap: a small CSV file whole, a large one's first bytes (its header), a Parquet file's footer
(two ranged GETs at most). S3's GetObject takes an HTTP `Range` header (`bytes=0-65535`, or
`bytes=-65536` for the last bytes) and answers only those bytes, with the same s3:GetObject
permission as a whole object. Anything that cannot be read so answers None: the split job then
reads the data itself and says what is wrong.
"""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .. import contract
from . import parquet_footer
from .data_profile import listed_files
from .parquet_footer import Footer, FooterError

# The files' heads and footers are fetched side by side: one GET is ~20 ms of latency, and a
# listing holds up to contract.FIRST_RUN_PROFILE_MAX_FILES files.
_PARALLEL_READS = 8


@dataclass(frozen=True)
class DataFiles:
    csv: dict[str, int]  # key -> size
    parquet: dict[str, int]
    # Every object below the prefix (data or not) -> size: what a processing job stages, as
    # data_profile.listed_files gives it.
    listed: dict[str, int]

    @property
    def small_csv(self) -> bool:
        """CSV only, small enough to be read whole (contract.FIRST_RUN_PROFILE_MAX_BYTES)."""
        return (bool(self.csv) and not self.parquet
                and sum(self.csv.values()) <= contract.FIRST_RUN_PROFILE_MAX_BYTES)


def client(s3: Any) -> Any:
    if s3 is not None:
        return s3
    # The Lambda runtime's own SDK (Lambda's Python runtimes include boto3).
    import boto3
    return boto3.client("s3")


def data_files(s3: Any, bucket: str, prefix: str) -> DataFiles | None:
    """The data files under the prefix; None when there are none or more than one page."""
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix,
                                 MaxKeys=contract.FIRST_RUN_PROFILE_MAX_FILES)
    if listing.get("IsTruncated"):
        return None
    found: dict[str, dict[str, int]] = {"csv": {}, "parquet": {}}
    for item in listing.get("Contents") or []:
        key, size = item["Key"], item["Size"]
        if any(part.startswith(".") for part in key[len(prefix):].split("/")):
            continue
        suffix = "." + key.rsplit(".", 1)[-1].lower() if "." in key else ""
        if suffix in contract.PARQUET_SUFFIXES:
            found["parquet"][key] = size
        elif suffix in contract.CSV_SUFFIXES:
            found["csv"][key] = size
    files = DataFiles(**found, listed=listed_files(listing, prefix) or {})
    return files if files.csv or files.parquet else None


def read_all(s3: Any, bucket: str, keys: list[str]) -> dict[str, str] | None:
    """Small CSV files as text; None when one is not UTF-8."""
    texts = {}
    for key in sorted(keys):
        try:
            texts[key] = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        except UnicodeDecodeError:
            return None
    return texts


def csv_header(s3: Any, bucket: str, key: str, size: int) -> list[str] | None:
    """A CSV file's header row from its first bytes, as jobio.read_table reads it (leading
    blanks skipped); None when it does not end within them or is not UTF-8."""
    end = min(size, contract.FIRST_RUN_RANGE_BYTES)
    if end <= 0:
        return None
    head = _range(s3, bucket, key, f"bytes=0-{end - 1}")
    if end < size:  # cut: keep whole lines only
        head = head[:head.rfind(b"\n") + 1]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # strict: a header cut inside a quoted line break is an error, not a shorter name.
    reader = csv.reader(io.StringIO(text), skipinitialspace=True, strict=True)
    try:
        return next(reader, None) or None
    except csv.Error:
        return None


def footer(s3: Any, bucket: str, key: str, size: int) -> Footer | None:
    """A Parquet file's footer: its last bytes, and the rest of the metadata if longer."""
    if size < len(parquet_footer.MAGIC) + parquet_footer.TAIL:
        return None
    tail = _range(s3, bucket, key, f"bytes=-{min(size, contract.FIRST_RUN_RANGE_BYTES)}")
    try:
        length = parquet_footer.footer_length(tail)
        if length + parquet_footer.TAIL > min(size, contract.FIRST_RUN_FOOTER_MAX_BYTES):
            return None
        if length + parquet_footer.TAIL > len(tail):
            tail = _range(s3, bucket, key, f"bytes=-{length + parquet_footer.TAIL}")
        return parquet_footer.parse(tail[-parquet_footer.TAIL - length:-parquet_footer.TAIL])
    except FooterError:
        return None


def heads(s3: Any, bucket: str, files: DataFiles) -> dict[str, list[str] | Footer | None]:
    """Every file's cheap facts: a CSV file's header, a Parquet file's footer (None: unread)."""
    jobs = [(key, size, csv_header) for key, size in files.csv.items()] + \
           [(key, size, footer) for key, size in files.parquet.items()]
    with ThreadPoolExecutor(_PARALLEL_READS) as pool:
        answers = pool.map(lambda job: job[2](s3, bucket, job[0], job[1]), jobs)
        return dict(zip([key for key, _, _ in jobs], answers, strict=True))


def columns_of(head: list[str] | Footer) -> list[str]:
    return head.columns if isinstance(head, Footer) else head


def missing_columns(facts: dict[str, list[str] | Footer | None],
                    needed: list[str]) -> list[str]:
    """'<file>: columns missing: a, b' for each file read whose columns lack some of `needed`
    (the split jobs' words)."""
    problems = []
    for key in sorted(facts):
        head = facts[key]
        if head is None:
            continue
        missing = [c for c in needed if c not in columns_of(head)]
        if missing:
            problems.append(f"{key.rsplit('/', 1)[-1]}: columns missing: {', '.join(missing)}")
    return problems


def _range(s3: Any, bucket: str, key: str, byte_range: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key, Range=byte_range)["Body"].read()
