"""Cross-validation's first run on a data location: the validator checks the data itself.

The state machine reads the data profile the split job left for this location; when there is
none yet (the first run), it asks the validator again with this module's CHECK. When the
location is in the bucket the validator may read and holds only CSV data within the read budget
(data_reads.py: contract.FIRST_RUN_PROFILE_MAX_BYTES in all, FIRST_RUN_PROFILE_SECONDS), the
validator streams every row through the standard library's csv module and answers the profile
the split job would write (data_profile.profile_of over the same rows: rows without a target and
exact duplicates left out, as split.read_rows does). Then, before any job: more folds than the
groups (or, with no classes, the rows) is refused here, in the split job's words
(folds.folds_problem); more folds than the smallest class has rows is refused by the state
machine's "Folds fit the classes?" on this profile, as on a stored one. A missing spec or group
column is refused here too. Larger CSV data (or a read that runs out of time) and Parquet are
not read every row: each CSV file's header (a ranged GET) and each Parquet file's footer
(parquet_footer.py; the Lambda has no pyarrow) show a missing column, and Parquet statistics
refuse more folds than the rows with a target can hold (footer_facts.py); the class counts are
not in them, so no profile is answered and the split job counts. Another bucket or a dataset spec
from S3 answers no profile either. Every answer's `extent` says which: exact, or what was read
and what the split job checks. The profile is not written: the split job of any run that passes
writes it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from .. import contract
from ..common.resampling.data_profile import profile_of
from ..common.resampling.fold_rules import FOLDS_KEY, folds_problem
from . import data_reads, footer_facts
from .errors import InvalidPipelineDefaults, InvalidPipelineInput, Problem, render
from .parquet_footer import Footer
from .schema import Bool, Int, ListOf, Nullable, Obj

CHECK = "first-run-data-profile"  # the event's `check` (handler.py)
GROUP_KEY = "cross_validation.group_column"

_NAME = data_reads.NAME
EVENT = Obj({
    **data_reads.EVENT_FIELDS,
    "group_column": Nullable(_NAME),  # the input's, else the spec's (below)
    "folds": Int(contract.CV_MIN_FOLDS, contract.CV_MAX_FOLDS),  # the validated input's
    # The use case's bundled dataset spec, as the split job reads it (pipeline_defaults.py).
    "spec": Obj({"name": _NAME, "target": _NAME, "features": ListOf(_NAME),
                 "group_column": Nullable(_NAME), "stratified": Bool()}),
})


def csv_profile(files: dict[str, str | Iterable[str]], spec: dict[str, Any],
                group_column: str | None, data_s3_uri: str,
                group_key: str | None = None) -> dict[str, Any]:
    """The profile split.split() writes for these CSV files ({name: text, or its lines}): cells
    as text, as jobio.read_table reads them (leading blanks skipped, only '' missing), the spec's
    target and features (and the group column; `group_key` names the input's key that gave
    it, if one did) required in every file. Duplicates are found by
    a hash of the row's target and features (Python's 64-bit hash of the tuple: two different
    rows of the read budget's ~200,000 collide with a probability below one in a billion), so
    that the rows are never all held in memory."""
    needed = [spec["target"], *spec["features"], *([group_column] if group_column else [])]
    seen: set[int] = set()
    labels: list[str] = []
    groups: list[str | None] = []
    missing_columns: dict[str, tuple[list[str], list[str]]] = {}
    for name, text in files.items():
        reader = csv.reader(io.StringIO(text) if isinstance(text, str) else text,
                            skipinitialspace=True)
        header = next(reader, None) or []
        missing_columns.update(data_reads.missing_by_file({name: header}, needed))
        if name in missing_columns:
            continue
        at = [header.index(c) for c in needed]
        for row in _rows(reader):
            cells = tuple(row[i] if i < len(row) else "" for i in at)
            keyed = hash(cells[:1 + len(spec["features"])])  # the target and features
            if keyed in seen:
                continue  # an exact duplicate: split.read_rows keeps the first
            seen.add(keyed)
            label = cells[0].strip()  # cells.categorical_value's rule for a text cell
            if not label:
                continue  # no target
            labels.append(label)
            if group_column:
                groups.append(cells[-1].strip() or None)
    _refuse_missing(missing_columns, spec, group_column, group_key)
    return profile_of(len(labels), labels if spec["stratified"] else None,
                      groups if group_column else None, data_s3_uri, group_column)


def _some(labels: list[str], shown: int = 5) -> str:
    more = f", ... ({len(labels) - shown} more)" if len(labels) > shown else ""
    return ", ".join(labels[:shown]) + more


def _rows(reader: Iterable[list[str]]) -> Iterable[list[str]]:
    for row in reader:
        if row:  # pandas skips blank lines
            yield row


def check(event: dict[str, Any], s3: Any = None) -> dict[str, Any]:
    """The handler's answer to CHECK: {"document": profile or {}, "extent": how far the check
    went}; raises InvalidPipelineInput for what the data proves wrong."""
    problems: list[Problem] = []
    checked = EVENT.check(event, "", problems)
    if problems:
        raise InvalidPipelineDefaults(problems, "event")
    left = "the class counts and groups"
    s3 = data_reads.client(s3)
    files, unread = data_reads.readable_files(s3, checked)
    if files is None:
        return data_reads.no_profile(data_reads.bounded(unread, left))
    bucket = files.bucket
    spec = checked["spec"]
    group = checked["group_column"] or spec["group_column"]
    group_key = GROUP_KEY if checked["group_column"] else None
    profile, how = data_reads.every_row(s3, files, lambda lines: csv_profile(
        lines, spec, group, checked["data_s3_uri"], group_key))
    if profile is not None:
        _refuse_folds_past_groups_or_rows(checked["folds"], profile, spec)
        return {"document": profile, "extent": how}
    # Larger data or Parquet: each file's header or footer only.
    facts = data_reads.heads(s3, bucket, files)
    needed = [spec["target"], *spec["features"], *([group] if group else [])]
    _refuse_missing(data_reads.missing_by_file(facts, needed), spec, group, group_key)
    footers = [f for f in facts.values() if isinstance(f, Footer)]
    if not files.csv and len(footers) == len(facts):
        _refuse_more_folds_than_rows(checked["folds"], footers, spec, checked["data_s3_uri"])
    return data_reads.no_profile(data_reads.bounded(data_reads.heads_read(files, how), left))


def _refuse_folds_past_groups_or_rows(folds: int, profile: dict[str, Any],
                                      spec: dict[str, Any]) -> None:
    """What an exact profile proves besides the class counts (the state machine's Choice
    refuses those): no rows to split at all, more folds than groups (each is held out whole)
    or than rows, in the split job's words."""
    if not profile["rows"]:
        raise InvalidPipelineInput([Problem(
            "data.input_s3_uri", f"{profile['data_s3_uri']} has no rows with a "
            f"{spec['target']!r} value", "data with the dataset spec's target filled in")])
    problem = folds_problem(folds, None, profile["groups"], profile["rows"])
    if problem is not None:
        raise InvalidPipelineInput([Problem(problem.key, problem.problem, problem.allowed)])


def _refuse_missing(missing: dict[str, tuple[list[str], list[str]]], spec: dict[str, Any],
                    group: str | None, group_key: str | None) -> None:
    """Columns the split job needs that files lack ({file: (missing, its columns)}): the
    spec's in the split job's words; a group column the input named, by its key, with the
    columns it may name."""
    spec_lines, group_files, columns = [], [], []
    for key, (lacking, present) in missing.items():
        name = key.rsplit("/", 1)[-1]
        if group_key and group in lacking:
            group_files.append(name)
            columns = columns or present
            lacking = [c for c in lacking if c != group]
        if lacking:
            spec_lines.append(f"{name}: columns missing: {', '.join(lacking)}")
    problems = []
    if spec_lines:
        problems.append(Problem("data.input_s3_uri", f"does not match dataset spec "
                                f"{spec['name']!r}: {'; '.join(spec_lines)}"))
    if group_files:
        problems.append(Problem(group_key, f"{render(group)} is not a column of "
                                f"{', '.join(group_files)}", ", ".join(columns)))
    if problems:
        raise InvalidPipelineInput(problems)


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
