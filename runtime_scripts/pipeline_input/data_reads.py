"""Bounded reads of a data location in the raw bucket, for the first-run checks.

What a job would read under a prefix (jobio.find_data_files' rule: CSV and Parquet suffixes, no
hidden part below the prefix), sized by one ListObjectsV2 page; then, per file, only what is
cheap: CSV data within the read budget (contract.FIRST_RUN_PROFILE_MAX_BYTES in all, decided by
the listing's sizes, and FIRST_RUN_PROFILE_SECONDS, checked as it streams in) every row, line by
line, never whole in memory; a larger CSV file's first bytes (its header); a Parquet file's
footer (two ranged GETs at most). S3's GetObject takes an HTTP `Range` header (`bytes=0-65535`,
or `bytes=-65536` for the last bytes; one range per request) and answers only those bytes, with
the same s3:GetObject permission as a whole object. Anything that cannot be read so answers
None: the split job then reads the data itself and says what is wrong. Every answer says how
far the check went (`extent`): exact (every row read) or bounded (headers, footers, nothing).
"""

from __future__ import annotations

import codecs
import csv
import io
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from .. import contract
from . import parquet_footer
from .data_profile import listed_files
from .parquet_footer import Footer, FooterError
from .schema import Nullable, S3Uri, Str
from .values import split_s3_uri

# The files' heads and footers are fetched side by side: one GET is ~20 ms of latency, and a
# listing holds up to contract.FIRST_RUN_PROFILE_MAX_FILES files.
_PARALLEL_READS = 8
T = TypeVar("T")
_CHUNK_BYTES = 256 * 1024  # what one read of a streamed object's body takes
_OVER_BUDGET = f"more than the {contract.FIRST_RUN_PROFILE_MAX_BYTES // 2**20} MiB read budget"


# The fields of both first-run checks' events (ml_constructs/data_profile_states.py sends them).
NAME = Str(max_len=255)
EVENT_FIELDS = {
    "check": Str(max_len=64),
    "data_s3_uri": S3Uri(),
    "dataset_spec_s3_uri": Nullable(S3Uri()),  # the input's: its columns may differ
    "readable_bucket": Str(max_len=63),  # the one bucket the validator's role may read
}


def no_profile(extent: dict[str, Any]) -> dict[str, Any]:
    """A first-run answer without a profile: the state machine's check finds none to use."""
    return {"document": {}, "extent": extent}


class NotEveryRow(Exception):
    """Every row could not be read as the jobs read it (why, in words): what was read so far
    proves nothing, and the check falls back to the files' heads."""


class OverBudget(NotEveryRow):
    """The exact read ran past the read budget."""


@dataclass(frozen=True)
class DataFiles:
    bucket: str
    csv: dict[str, int]  # key -> size
    parquet: dict[str, int]
    # Every object below the prefix (data or not) -> size: what a processing job stages, as
    # data_profile.listed_files gives it.
    listed: dict[str, int]

    @property
    def csv_bytes(self) -> int:
        return sum(self.csv.values())

    @property
    def within_read_budget(self) -> bool:
        """CSV only, small enough to be read every row (contract.FIRST_RUN_PROFILE_MAX_BYTES)."""
        return (bool(self.csv) and not self.parquet
                and self.csv_bytes <= contract.FIRST_RUN_PROFILE_MAX_BYTES)


class ReadBudget:
    """The exact read's bytes and seconds (contract.FIRST_RUN_PROFILE_MAX_BYTES, _SECONDS),
    from the moment it is made."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.bytes = 0

    def spend(self, size: int) -> None:
        self.bytes += size
        if self.bytes > contract.FIRST_RUN_PROFILE_MAX_BYTES:  # the data grew since listed
            raise OverBudget(_OVER_BUDGET)
        if self.elapsed > contract.FIRST_RUN_PROFILE_SECONDS:
            raise OverBudget(f"the {contract.FIRST_RUN_PROFILE_SECONDS:g} s read budget ran "
                             f"out after {_mib(self.bytes)}")

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def every_row(s3: Any, files: DataFiles,
              parse: Callable[[dict[str, Iterator[str]]], T]) -> tuple[T | None, dict | str]:
    """`parse` over every CSV file's lines (in key order) when the data is CSV within the read
    budget: (its answer, the answer's exact `extent`); else (None, why not every row, in
    words: the data is larger, the budget ran out, a file is not UTF-8 or CSV the csv module
    reads, or `parse` raised NotEveryRow; "" when the data is not CSV alone). `parse` may
    refuse what the rows prove."""
    if not files.within_read_budget:
        return None, _OVER_BUDGET if files.csv and not files.parquet else ""
    budget = ReadBudget()
    streams = {key: csv_lines(s3, files.bucket, key, budget) for key in sorted(files.csv)}
    try:
        answer = parse(streams)
    except UnicodeDecodeError:
        return None, "a file is not UTF-8 text"
    except csv.Error as exc:
        return None, f"a file is not CSV the csv module reads ({exc})"
    except NotEveryRow as exc:
        return None, str(exc)
    return answer, {"exact": True, "read": f"every row of {_count(files.csv, 'CSV file')} "
                                           f"({_mib(budget.bytes)} in {budget.elapsed:.2f} s)"}


def bounded(read: str, split_job_checks: str) -> dict[str, Any]:
    """`extent` of an answer from less than every row: what was read, what is left."""
    return {"exact": False, "read": read, "split_job_checks": split_job_checks}


def heads_read(files: DataFiles, why: str | None = None) -> str:
    """What `heads` reads of these files, in words (`why`: why no more)."""
    parts = [f"the header of {_count(files.csv, 'CSV file')} ({_mib(files.csv_bytes)})"
             if files.csv else "",
             f"the footer of {_count(files.parquet, 'Parquet file')}" if files.parquet else ""]
    return " and ".join(filter(None, parts)) + (f": {why}" if why else "")


def _count(found: dict, noun: str) -> str:
    return f"{len(found)} {noun}{'s' if len(found) != 1 else ''}"


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def readable_files(s3: Any, event: dict[str, Any]) -> tuple[DataFiles | None, str]:
    """The data files of a first-run check's event (data_s3_uri, readable_bucket,
    dataset_spec_s3_uri), or None and why not, in words: a spec from S3 (its columns are the
    jobs' to read), another bucket, no data files or more than one listing page."""
    bucket, prefix = split_s3_uri(event["data_s3_uri"]) or ("", "")
    if event["dataset_spec_s3_uri"] is not None:
        return None, "nothing: the columns are those of the input's dataset spec, which the " \
                     "split job reads"
    if bucket != event["readable_bucket"]:
        return None, f"nothing: the validator reads only bucket {event['readable_bucket']}"
    files = data_files(client(s3), bucket, prefix)
    if files is None:
        return None, ("nothing: no data files, or more than "
                      f"{contract.FIRST_RUN_PROFILE_MAX_FILES} objects under the prefix")
    return files, ""


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
    files = DataFiles(bucket, **found, listed=listed_files(listing, prefix) or {})
    return files if files.csv or files.parquet else None


def csv_lines(s3: Any, bucket: str, key: str, budget: ReadBudget) -> Iterator[str]:
    """A CSV file's lines as they stream in (UTF-8; UnicodeDecodeError when not), each with its
    line end, what csv.reader takes (a quoted line break continues on the next line); raises
    OverBudget when the budget runs out."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""
    while chunk := body.read(_CHUNK_BYTES):
        budget.spend(len(chunk))
        *lines, pending = (pending + decoder.decode(chunk)).split("\n")
        for line in lines:
            yield line + "\n"
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


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


def missing_by_file(facts: dict[str, list[str] | Footer | None],
                    needed: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    """{file: (the `needed` columns it lacks, its columns)} of each file read that lacks some."""
    found = {}
    for key in sorted(facts):
        head = facts[key]
        if head is not None:
            missing = [c for c in needed if c not in columns_of(head)]
            if missing:
                found[key] = (missing, columns_of(head))
    return found


def missing_columns(facts: dict[str, list[str] | Footer | None],
                    needed: list[str]) -> list[str]:
    """'<file>: columns missing: a, b' for each file read whose columns lack some of `needed`
    (the split jobs' words)."""
    return [f"{key.rsplit('/', 1)[-1]}: columns missing: {', '.join(missing)}"
            for key, (missing, _) in missing_by_file(facts, needed).items()]


def _range(s3: Any, bucket: str, key: str, byte_range: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key, Range=byte_range)["Body"].read()
