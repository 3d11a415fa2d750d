"""Cross-validation's first run on a data location: the validator checks the data itself.

The state machine reads the data profile the split job left for this location; when there is
none yet (the first run), it asks the validator again with this module's CHECK. When the
location is in the bucket the validator may read and holds only CSV files of at most
contract.FIRST_RUN_PROFILE_MAX_BYTES in all, the validator reads them with the standard
library's csv module and answers the profile the split job would write (data_profile.profile_of
over the same rows: rows without a target and exact duplicates left out, as split.read_rows
does); the state machine's "Folds fit the classes?" then refuses too many folds in the first
second. A missing spec column is refused here, in the split job's words. Larger CSV data and
Parquet are not read whole (data_reads.py): each CSV file's header (a ranged GET) and each
Parquet file's footer (parquet_footer.py; the Lambda has no pyarrow) show a missing spec or
group column, and Parquet statistics refuse more folds than the rows with a target can hold
(footer_facts.py); the class counts themselves are not in them, so no profile is answered and
the split job counts. Another bucket or a dataset spec from S3 answers no profile either. The
profile is not written: the split job of any run that passes writes it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from .. import contract
from ..common.resampling.data_profile import profile_of
from . import data_reads, footer_facts
from .errors import InvalidPipelineDefaults, InvalidPipelineInput, Problem
from .parquet_footer import Footer
from .schema import Bool, Int, ListOf, Nullable, Obj, S3Uri, Str
from .values import split_s3_uri

CHECK = "first-run-data-profile"  # the event's `check` (handler.py)
FOLDS_KEY = "cross_validation.folds"
NO_PROFILE: dict[str, Any] = {"document": {}}  # the state machine's Choice finds no count

_NAME = Str(max_len=255)
EVENT = Obj({
    "check": Str(max_len=64),
    "data_s3_uri": S3Uri(),
    "dataset_spec_s3_uri": Nullable(S3Uri()),  # the input's: its columns may differ
    "group_column": Nullable(_NAME),  # the input's, else the spec's (below)
    "folds": Int(contract.CV_MIN_FOLDS, contract.CV_MAX_FOLDS),  # the validated input's
    # The use case's bundled dataset spec, as the split job reads it (pipeline_defaults.py).
    "spec": Obj({"name": _NAME, "target": _NAME, "features": ListOf(_NAME),
                 "group_column": Nullable(_NAME), "stratified": Bool()}),
    "readable_bucket": Str(max_len=63),  # the one bucket the validator's role may read
})


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


def _some(labels: list[str], shown: int = 5) -> str:
    more = f", ... ({len(labels) - shown} more)" if len(labels) > shown else ""
    return ", ".join(labels[:shown]) + more


def _rows(reader: Iterable[list[str]]) -> Iterable[list[str]]:
    for row in reader:
        if row:  # pandas skips blank lines
            yield row


def check(event: dict[str, Any], s3: Any = None) -> dict[str, Any]:
    """The handler's answer to CHECK: {"document": profile}, or NO_PROFILE; raises
    InvalidPipelineInput for what the data's columns or footers prove wrong."""
    problems: list[Problem] = []
    checked = EVENT.check(event, "", problems)
    if problems:
        raise InvalidPipelineDefaults(problems, "event")
    bucket, prefix = split_s3_uri(checked["data_s3_uri"]) or ("", "")
    if checked["dataset_spec_s3_uri"] is not None or bucket != checked["readable_bucket"]:
        return NO_PROFILE
    s3 = data_reads.client(s3)
    files = data_reads.data_files(s3, bucket, prefix)
    if files is None:
        return NO_PROFILE
    spec = checked["spec"]
    group = checked["group_column"] or spec["group_column"]
    if files.small_csv:
        texts = data_reads.read_all(s3, bucket, list(files.csv))
        if texts is None:
            return NO_PROFILE  # the split job says what is wrong with the file
        return {"document": csv_profile(texts, spec, group, checked["data_s3_uri"])}
    # Larger data or Parquet: each file's header or footer only.
    facts = data_reads.heads(s3, bucket, files)
    needed = [spec["target"], *spec["features"], *([group] if group else [])]
    _refuse_missing(data_reads.missing_columns(facts, needed), spec)
    footers = [f for f in facts.values() if isinstance(f, Footer)]
    if not files.csv and len(footers) == len(facts):
        _refuse_more_folds_than_rows(checked["folds"], footers, spec, checked["data_s3_uri"])
    return NO_PROFILE  # the class counts are the split job's to count


def _refuse_missing(problems: list[str], spec: dict[str, Any]) -> None:
    if problems:
        raise InvalidPipelineInput([Problem("data.input_s3_uri", f"does not match dataset spec "
                                            f"{spec['name']!r}: {'; '.join(problems)}")])


def _refuse_more_folds_than_rows(folds: int, footers: list[Footer], spec: dict[str, Any],
                                 data_s3_uri: str) -> None:
    """What every Parquet footer together proves: at most R rows have a target, and at least
    C classes are among them (their statistics' smallest and largest values), so the smallest
    class has at most R // C rows (one class: R). More folds than that cannot all hold out a
    row of every class (folds.folds_problem); the class counts themselves are not in a footer."""
    target = spec["target"]
    labelled = footer_facts.rows_with_value(footers, target)
    labels = sorted(footer_facts.labels_present(footers, target)) if spec["stratified"] else []
    most = labelled // max(len(labels), 1)
    if folds <= most:
        return
    low, high = contract.CV_MIN_FOLDS, contract.CV_MAX_FOLDS
    allowed = f"{low} .. {max(low, min(high, most))}"
    if labels:
        why = (f"its Parquet files' statistics allow at most {labelled} rows with a "
               f"{target!r} and show {len(labels)} classes ({_some(labels)}), so the "
               f"smallest class has at most {most} rows: every fold must hold out rows of "
               "every class")
    else:
        why = f"its Parquet files hold at most {labelled} rows with a {target!r}"
    raise InvalidPipelineInput([Problem(FOLDS_KEY, f"{folds} is more than the data at "
                                        f"{data_s3_uri} allows: {why}", allowed)])
