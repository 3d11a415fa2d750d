"""Glue ETL job: raw CSV -> typed, deduplicated, partitioned Parquet (+ Glue Data Catalog table).

One file, two ways to run it:

* In AWS Glue 5.x (``awsglue`` importable). Arguments come through ``getResolvedOptions``; the CSV
  is read as a DynamicFrame with a ``transformation_ctx`` so job bookmarks apply; the catalog table
  is created/updated with Spark SQL against the Glue Data Catalog (needs the special job argument
  ``--enable-glue-datacatalog true``); ``Job.commit()`` runs only after everything succeeded.
* With plain ``pyspark`` in local mode (``awsglue`` not importable), the same arguments parsed
  with argparse::

      python runtime_scripts/glue/etl.py \\
          --input_path runtime_scripts/use_cases/<use case>/sample_data/<file>.csv \\
          --output_path .local_runs/curated/<use case> --ingest_date 2024-05-01
      spark-submit runtime_scripts/glue/etl.py --input_path ... --output_path ...

Arguments (``--name value``):

  --JOB_NAME          set by Glue itself; optional locally
  --input_path        raw CSV file or folder (s3://raw-bucket/prefix/ in Glue; local path/file://)
  --output_path       curated table root (s3://curated-bucket/prefix/...)
  --schema_path       JSON schema document (s3:// in Glue, or a local file)
  --schema_json       the same document inline; exactly one of the two (the Glue job passes
                      its use case's glue_schema.json, named by the use case's manifest)
  --database/--table  Glue Data Catalog database (must exist) and table (created if missing);
                      both or neither
  --rejects_path      where rows that fail to cast are quarantined as CSV
                      (default: <output_path>_rejects)
  --max_reject_ratio  fail when rejected/input rows exceeds this (default 0.05)
  --ingest_date       YYYY-MM-DD for the ingest_date partition (default: today, UTC)
  --write_mode        auto | overwrite | merge (default auto; see "Idempotency" below)

Schema document::

  {"columns": {"customer_id": "int", "state": "string", ...},     # header names, in any order
   "partition_keys": ["ingest_date"],                             # optional, default shown
   "dedup_keys": ["customer_id"]}                                 # optional, default: whole row

Types: string, int, bigint, double, boolean, date, timestamp. ``ingest_date`` is the one derived
partition key; any other partition key must be a declared string/int/bigint/boolean/date column.

What happens to a row: the header must name exactly the declared columns (missing or unexpected
columns fail the job, naming them). Every value is cast with ``try_cast``; a value that is present
but cannot be cast makes the row a *reject* rather than a silent null (an empty field is a
missing value, i.e. null, not a reject). So are rows with the wrong number of fields and rows whose
dedup key is empty. Rejects are written, raw and with a reason, to
``<rejects_path>/ingest_date=<date>/`` and the job fails when their share exceeds
``--max_reject_ratio`` - before any curated data is written. Duplicates (by ``dedup_keys``, or
whole rows) are dropped and counted; with dedup keys the kept row is chosen deterministically so
a re-run writes the same data.

Idempotency: the curated write is a *dynamic partition overwrite* - only the partitions present in
this batch are replaced, so re-running a batch replaces exactly what it wrote the first time.
With job bookmarks a run only sees files that are new since the last successful run, and plain
overwrite would then replace today's partition with just the new files; so ``--write_mode auto``
(the default) uses ``merge`` when bookmarks are enabled: the partitions this batch touches are
read back, unioned with the batch, deduplicated (the batch wins on a key clash) and overwritten.
That keeps earlier batches of the same day and makes a retry after a failed ``Job.commit()``
(bookmark not advanced, same files re-read) a no-op. Without bookmarks ``auto`` means
``overwrite``: each run re-reads the whole input prefix and the partition is its snapshot.

Catalog: with --database/--table the job runs ``CREATE TABLE IF NOT EXISTS ... USING PARQUET
PARTITIONED BY (...) LOCATION '<output_path>'`` before writing (an existing table with other
columns fails the job, before any write) and ``ALTER TABLE ... ADD IF NOT EXISTS PARTITION (...)``
for this batch's partitions after it. Not ``glueContext.getSink(..., enableUpdateCatalog=True)``:
that sink only appends, so a re-run would duplicate its rows and a partition can never be
replaced. Spark SQL over the Glue Data Catalog keeps the write idempotent and registers the same
table. The job role needs glue:GetDatabase, GetTable, CreateTable, GetPartition(s) and
BatchCreatePartition on the catalog, the database and the table, and GetDatabase/CreateDatabase
on `default`, which Spark's catalog client looks up (and creates when missing) at session start.

Glue's DynamicFrame CSV reader has no corrupt-record column: in Glue, rows with too few fields
arrive padded with nulls (missing values) rather than as rejects; the local reader rejects them.

Errors about the input or the arguments are one line naming the problem and the fix: locally on
stderr with exit status 2; in Glue as the raised exception's message, which Glue reports as the
job run's ErrorMessage (and Step Functions' ``.sync`` integration passes on as the cause).

Lake Formation: with ``--lake_formation_tags`` (``{"table": {"<key>": "<value>", ...},
"column_key": "<key>"}``) the job assigns those LF-tags to its table, and the schema's
``column_sensitivity`` (``{"customer_id": "confidential"}``) as ``column_key`` values to those
columns, once the table exists (AddLFTagsToResource; the job, as the table's creator, may, given
ASSOCIATE on the tags). The table is created by this job at run time, so a deploy cannot tag it.
Locally there is no Lake Formation: the local run says so and assigns nothing.

Nothing here imports the CDK, and boto3 only in Glue for Lake Formation (Glue ships it): Glue
provides S3 access through Spark, and the CDK side only passes arguments.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import datetime as dt
import gzip
import importlib.util
import json
import logging
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

LOG = logging.getLogger("glue_etl")

# Declared type name -> (Spark SQL type name for try_cast/DDL, Spark DataType for schemas).
TYPES: dict[str, tuple[str, T.DataType]] = {
    "string": ("STRING", T.StringType()),
    "int": ("INT", T.IntegerType()),
    "bigint": ("BIGINT", T.LongType()),
    "double": ("DOUBLE", T.DoubleType()),
    "boolean": ("BOOLEAN", T.BooleanType()),
    "date": ("DATE", T.DateType()),
    "timestamp": ("TIMESTAMP", T.TimestampType()),
}
# Doubles and timestamps make one directory per distinct value (and float formatting in paths):
# never a sensible partition key.
PARTITION_TYPES = ("string", "int", "bigint", "boolean", "date")

INGEST_DATE = "ingest_date"
CORRUPT_RECORD = "_corrupt_record"  # Spark CSV: the raw line of a row with the wrong field count
SOURCE_FILE = "_source_file"
REJECT_COLUMNS = "_reject_columns"
REJECT_REASON = "_reject_reason"
MALFORMED = "<malformed row>"
RESERVED = {INGEST_DATE, CORRUPT_RECORD, SOURCE_FILE, REJECT_COLUMNS, REJECT_REASON}
_TMP = "__etl_"  # prefix of helper columns; declared names may not start with "__"

DEFAULT_MAX_REJECT_RATIO = 0.05
WRITE_MODES = ("auto", "overwrite", "merge")
BOOKMARK_ENABLED = "job-bookmark-enable"
RAW_SOURCE_CTX = "raw_csv_source"  # bookmark state is keyed by this name: never rename it lightly

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CATALOG_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,254}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REMOTE_PREFIXES = ("s3://", "s3a://", "s3n://", "hdfs://", "gs://", "abfs://", "abfss://")


class EtlError(Exception):
    """Bad input or arguments. The message is one line: what is wrong and how to fix it."""


# --------------------------------------------------------------------------------------------
# Schema document
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableSchema:
    """The declared schema: column types, partition keys and (optional) dedup keys."""

    columns: dict[str, str]  # name -> declared type name, in declaration order
    partition_keys: tuple[str, ...] = (INGEST_DATE,)
    dedup_keys: tuple[str, ...] = ()
    # Columns with a sensitivity of their own (an LF-tag value), e.g. an id "confidential".
    column_sensitivity: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str, source: str = "schema") -> TableSchema:
        try:
            doc = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except (json.JSONDecodeError, ValueError) as exc:
            raise EtlError(f"{source} is not valid JSON ({exc}); fix the document") from None
        return cls.from_dict(doc, source)

    @classmethod
    def load(cls, path: Path) -> TableSchema:
        try:
            return cls.from_json(path.read_text(encoding="utf-8"), str(path))
        except FileNotFoundError:
            raise EtlError(f"schema file {path} does not exist; pass --schema_path or "
                           "--schema_json") from None

    @classmethod
    def from_dict(cls, doc: Any, source: str = "schema") -> TableSchema:
        def fail(problem: str) -> EtlError:
            return EtlError(f"{source}: {problem}")

        if not isinstance(doc, dict):
            raise fail('must be a JSON object like {"columns": {...}, "partition_keys": [...]}')
        unknown = sorted(set(doc) - {"columns", "partition_keys", "dedup_keys",
                                     "column_sensitivity"})
        if unknown:
            raise fail(f"unknown key(s) {_names(unknown)}; allowed: columns, partition_keys, "
                       "dedup_keys, column_sensitivity")
        columns = _check_columns(doc.get("columns"), fail)
        partition_keys = _check_partition_keys(doc.get("partition_keys", [INGEST_DATE]), columns,
                                               fail)
        dedup_keys = _string_list(doc.get("dedup_keys", []), "dedup_keys", fail)
        for key in dedup_keys:
            if key not in columns:
                raise fail(f"dedup key {key!r} is not a declared column")
        sensitivity = doc.get("column_sensitivity", {})
        if not isinstance(sensitivity, dict) or not all(
                isinstance(v, str) and v for v in sensitivity.values()):
            raise fail('"column_sensitivity" must be an object of column name -> level, e.g. '
                       '{"customer_id": "confidential"}')
        for column in sensitivity:
            if column not in columns or column in partition_keys:
                raise fail(f"column_sensitivity names {column!r}, not a declared data column")
        return cls(columns, tuple(partition_keys), tuple(dedup_keys), dict(sensitivity))

    @property
    def data_columns(self) -> list[str]:
        """Columns stored inside the Parquet files (partition keys live in directory names)."""
        return [c for c in self.columns if c not in self.partition_keys]

    @property
    def output_columns(self) -> list[str]:
        """Column order of the curated table: data columns, then partition keys."""
        return self.data_columns + list(self.partition_keys)

    def spark_type(self, column: str) -> T.DataType:
        return T.DateType() if column == INGEST_DATE else TYPES[self.columns[column]][1]

    def sql_type(self, column: str) -> str:
        return "DATE" if column == INGEST_DATE else TYPES[self.columns[column]][0]

    def output_struct(self) -> T.StructType:
        return T.StructType([T.StructField(c, self.spark_type(c)) for c in self.output_columns])


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys silently; a repeated column is a mistake.
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"key {key!r} appears twice")
        seen[key] = value
    return seen


def _string_list(value: Any, key: str, fail: Callable[[str], EtlError]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(f'"{key}" must be a list of column names')
    if len(set(value)) != len(value):
        raise fail(f'"{key}" lists a column twice')
    return list(value)


def _check_columns(columns: Any, fail: Callable[[str], EtlError]) -> dict[str, str]:
    if not isinstance(columns, dict) or not columns:
        raise fail('"columns" must be a non-empty object of column name -> type')
    for name, kind in columns.items():
        if not _NAME_RE.match(name) or name.startswith("__"):
            raise fail(f"column name {name!r} must be letters, digits and underscores, not "
                       "starting with a digit or '__'; rename the CSV header column")
        if name in RESERVED:
            raise fail(f"column name {name!r} is reserved for the job; rename the CSV header "
                       "column")
        if kind not in TYPES:
            raise fail(f"column {name!r} has type {kind!r}; use one of {', '.join(TYPES)}")
    return dict(columns)


def _check_partition_keys(value: Any, columns: Mapping[str, str],
                          fail: Callable[[str], EtlError]) -> list[str]:
    keys = _string_list(value, "partition_keys", fail)
    if not keys:
        # A non-partitioned dynamic overwrite would replace the whole table on every run.
        raise fail('"partition_keys" must name at least one key, e.g. ["ingest_date"]')
    for key in keys:
        if key == INGEST_DATE:
            continue
        if key not in columns:
            raise fail(f"partition key {key!r} is neither 'ingest_date' nor a declared column")
        if columns[key] not in PARTITION_TYPES:
            raise fail(f"partition key {key!r} has type {columns[key]}; partition keys must be "
                       f"one of {', '.join(PARTITION_TYPES)}")
    if all(c in keys for c in columns):
        raise fail("every column is a partition key; leave at least one data column")
    return keys


def _names(names: Iterable[str]) -> str:
    # repr() makes stray whitespace in CSV headers visible: ' price' vs 'price'.
    return ", ".join(repr(n) for n in names)


# --------------------------------------------------------------------------------------------
# Pure transformations: DataFrame in, DataFrame out (tested directly)
# --------------------------------------------------------------------------------------------


def check_header(columns: Sequence[str], schema: TableSchema, source: str = "input") -> None:
    """Fail, naming them, when the header lacks declared columns or has undeclared ones."""
    present = [c for c in columns if c not in (CORRUPT_RECORD, SOURCE_FILE)]
    missing = [c for c in schema.columns if c not in present]
    unexpected = [c for c in present if c not in schema.columns]
    duplicated = sorted({c for c in present if present.count(c) > 1})
    problems = []
    if missing:
        problems.append(f"missing column(s) {_names(missing)}")
    if unexpected:
        problems.append(f"unexpected column(s) {_names(unexpected)}")
    if duplicated:
        problems.append(f"repeated column(s) {_names(duplicated)}")
    if problems:
        raise EtlError(f"{source} header does not match the schema: {'; '.join(problems)}. Fix "
                       "the CSV header or the schema (--schema_path/--schema_json).")


def split_rejects(raw: DataFrame, schema: TableSchema) -> tuple[DataFrame, DataFrame]:
    """Cast raw (string) columns to the declared types; return (typed rows, rejected rows).

    A value that is present but does not cast makes its row a reject instead of a null. Empty or
    blank fields are missing values and become null. Rows the CSV reader flagged as having the
    wrong number of fields (``_corrupt_record``) and rows with an empty dedup key are rejects too.
    Typed rows carry exactly the declared columns, typed; rejects carry the raw values as strings
    plus ``_reject_columns`` (comma separated) and ``_reject_reason``.
    """
    return split_cast(cast_columns(raw, schema), schema)


def cast_columns(raw: DataFrame, schema: TableSchema) -> DataFrame:
    """The first half of ``split_rejects``: raw text columns, the typed values (helper columns)
    and ``_reject_columns``/``_reject_reason`` (empty for a clean row), one pass over the input.
    The job caches this frame, so the casts run and compile once for both halves of the split."""
    check_header(raw.columns, schema)
    has_corrupt = CORRUPT_RECORD in raw.columns
    extras = [c for c in (CORRUPT_RECORD, SOURCE_FILE) if c in raw.columns]
    # The DynamicFrame reader may already have typed some columns; start again from text so
    # every column goes through the same cast and reject rules.
    strings = raw.select(*[F.col(c).cast("string").alias(c) for c in schema.columns], *extras)

    typed: list[Column] = []
    failures: list[tuple[str, Column, Column]] = []  # (column, failed?, reason)
    for i, (name, kind) in enumerate(schema.columns.items()):
        value = F.col(f"`{name}`")
        blank = value.isNull() | (F.trim(value) == "")
        if kind == "string":
            cast = value
        else:
            # try_cast (SQL, Spark >= 3.2) gives NULL on failure whatever spark.sql.ansi.enabled
            # says: Glue 5 (Spark 3.5) has ANSI off, local Spark 4 has it on.
            cast = F.when(blank, F.lit(None)).otherwise(F.expr(f"try_cast(`{name}` AS "
                                                               f"{TYPES[kind][0]})"))
            bad = ~blank & cast.isNull()
            reason = F.concat(F.lit(f"{name}: '"), F.substring(value, 1, 60),
                              F.lit(f"' is not a valid {kind}"))
            failures.append((name, bad, reason))
        typed.append(cast.cast(TYPES[kind][1]).alias(f"{_TMP}{i}"))
        if name in schema.dedup_keys:
            failures.append((name, blank, F.lit(f"{name}: missing value for dedup key")))

    malformed = F.col(CORRUPT_RECORD).isNotNull() if has_corrupt else F.lit(False)
    # concat_ws skips NULLs, so each expression lists only the columns that failed.
    bad_columns = F.when(malformed, F.lit(MALFORMED)).otherwise(
        F.concat_ws(",", *[F.when(bad, F.lit(name)) for name, bad, _ in failures]))
    reasons = F.when(malformed, F.lit("malformed CSV row: wrong number of fields")).otherwise(
        F.concat_ws("; ", *[F.when(bad, reason) for _, bad, reason in failures]))

    return strings.select("*", *typed, bad_columns.alias(REJECT_COLUMNS),
                          reasons.alias(REJECT_REASON))


def split_cast(staged: DataFrame, schema: TableSchema) -> tuple[DataFrame, DataFrame]:
    """The second half of ``split_rejects``: (typed rows, rejected rows) of ``cast_columns``."""
    extras = [c for c in (CORRUPT_RECORD, SOURCE_FILE) if c in staged.columns]
    is_reject = F.col(REJECT_COLUMNS) != ""
    valid = staged.where(~is_reject).select(
        *[F.col(f"{_TMP}{i}").alias(name) for i, name in enumerate(schema.columns)])
    rejects = staged.where(is_reject).select(*schema.columns, *extras, REJECT_COLUMNS,
                                             REJECT_REASON)
    return valid, rejects


def drop_duplicates(df: DataFrame, keys: Sequence[str] = (),
                    prefer: Sequence[Column] = ()) -> DataFrame:
    """Drop duplicate rows: whole-row duplicates, or rows sharing ``keys``.

    With keys, the kept row is the smallest by ``prefer`` and then by every other column (the
    minimum of a struct compares field by field): deterministic, so a re-run keeps the same row,
    where ``dropDuplicates(keys)`` keeps whichever row a task happens to see first. A grouped
    ``min`` rather than ``row_number() == 1`` over a window: Spark's optimizer blows up (minutes,
    then out of memory) pushing predicates through a window filter above the wide cast
    expressions of ``split_rejects``.
    """
    if not keys:
        return df.dropDuplicates()
    others = [c for c in df.columns if c not in keys]
    if not others and not prefer:
        return df.dropDuplicates(list(keys))
    pick = f"{_TMP}pick"
    ranked = F.struct(*[p.alias(f"{_TMP}p{i}") for i, p in enumerate(prefer)], *others)
    return (df.groupBy(*keys).agg(F.min(ranked).alias(pick))
            .select(*[F.col(f"`{c}`") if c in keys else F.col(f"{pick}.`{c}`").alias(c)
                      for c in df.columns]))


def deduplicate(df: DataFrame, keys: Sequence[str] = (),
                rows: int | None = None) -> tuple[DataFrame, int]:
    """``drop_duplicates`` plus the number of rows dropped (``rows``: ``df``'s row count when the
    caller knows it already). The result is persisted, because the caller counts it, lists its
    partitions and writes it; unpersist it when done."""
    before = df.count() if rows is None else rows
    result = drop_duplicates(df, keys).persist()
    return result, before - result.count()


def add_partition_columns(df: DataFrame, schema: TableSchema, ingest_date: dt.date) -> DataFrame:
    """Add the derived ``ingest_date`` (when it is a partition key) and order the columns as the
    curated table has them: data columns, then partition keys."""
    if INGEST_DATE in schema.partition_keys:
        df = df.withColumn(INGEST_DATE, F.lit(ingest_date).cast(T.DateType()))
    return df.select(*schema.output_columns)


@dataclass(frozen=True)
class RejectReport:
    input_rows: int
    rejected_rows: int
    by_column: dict[str, int]

    @property
    def ratio(self) -> float:
        return self.rejected_rows / self.input_rows if self.input_rows else 0.0


def summarize_rejects(rejects: DataFrame, input_rows: int) -> RejectReport:
    """Count rejected rows and, per column, how many rows failed on it."""
    counts = (rejects.select(F.explode(F.split(REJECT_COLUMNS, ",")).alias("c"))
              .groupBy("c").count().collect())
    by_column = {row["c"]: int(row["count"]) for row in sorted(counts, key=lambda r: -r["count"])}
    return RejectReport(input_rows, rejects.count(), by_column)


def check_reject_ratio(report: RejectReport, max_ratio: float, rejects_location: str) -> None:
    """Fail when more than ``max_ratio`` of the input rows were rejected."""
    if report.ratio <= max_ratio:
        return
    columns = ", ".join(f"{c} ({n})" for c, n in report.by_column.items())
    raise EtlError(
        f"{report.rejected_rows} of {report.input_rows} input rows ({report.ratio:.2%}) could not "
        f"be cast to the schema, over --max_reject_ratio {max_ratio:g}; failing columns: "
        f"{columns}. Rejected rows are in {rejects_location}. Fix the source data or the schema, "
        "or raise --max_reject_ratio.")


def partition_values(df: DataFrame, schema: TableSchema) -> list[dict[str, Any]]:
    """The distinct partition-key values in ``df`` (one dict per partition), sorted."""
    rows = df.select(*schema.partition_keys).distinct().collect()
    values = [row.asDict() for row in rows]
    return sorted(values, key=lambda v: tuple(str(v[k]) for k in schema.partition_keys))


def merge_with_existing(batch: DataFrame, existing: DataFrame, schema: TableSchema) -> DataFrame:
    """Union the batch with the rows already in its partitions and deduplicate; on a dedup-key
    clash the batch's row wins (it is the newer data)."""
    prio = f"{_TMP}prio"
    both = (batch.select(*schema.output_columns).withColumn(prio, F.lit(0))
            .unionByName(existing.select(*schema.output_columns).withColumn(prio, F.lit(1))))
    if schema.dedup_keys:
        # Only the partitions this batch writes were read back, so a key recurring in an older
        # ingest_date partition (history) is untouched; within the rewritten partitions the key is
        # unique again, the batch's row replacing the stored one.
        merged = drop_duplicates(both, schema.dedup_keys, prefer=[F.col(prio)])
    else:
        merged = both.dropDuplicates(schema.output_columns)
    return merged.drop(prio)


# --------------------------------------------------------------------------------------------
# Glue Data Catalog (Spark SQL, so the same statements run against the Glue catalog in Glue and
# the in-memory catalog locally)
# --------------------------------------------------------------------------------------------


def _quote(identifier: str) -> str:
    return f"`{identifier}`"


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def create_table_sql(schema: TableSchema, database: str, table: str, location: str) -> str:
    """DDL for the curated table. ``USING PARQUET`` tables are stored in the Hive-compatible form
    (ParquetHiveSerDe), so Athena and Glue crawlers read them too."""
    cols = ", ".join(f"{_quote(c)} {schema.sql_type(c)}" for c in schema.output_columns)
    parts = ", ".join(_quote(k) for k in schema.partition_keys)
    return (f"CREATE TABLE IF NOT EXISTS {_quote(database)}.{_quote(table)} ({cols}) "
            f"USING PARQUET PARTITIONED BY ({parts}) LOCATION {_sql_string(location)} "
            "TBLPROPERTIES ('classification'='parquet', 'parquet.compression'='SNAPPY')")


def add_partitions_sql(schema: TableSchema, database: str, table: str,
                       partitions: Sequence[Mapping[str, Any]]) -> str | None:
    specs = []
    for part in partitions:
        if any(part[k] is None for k in schema.partition_keys):
            continue  # Spark wrote it under __HIVE_DEFAULT_PARTITION__; see register_partitions
        spec = ", ".join(f"{_quote(k)}={_sql_string(_partition_text(part[k]))}"
                         for k in schema.partition_keys)
        specs.append(f"PARTITION ({spec})")
    if not specs:
        return None
    return (f"ALTER TABLE {_quote(database)}.{_quote(table)} ADD IF NOT EXISTS "
            + " ".join(specs))


def _partition_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def ensure_catalog_table(spark: SparkSession, schema: TableSchema, database: str, table: str,
                         location: str, create_database: bool = False) -> None:
    """Create the table when missing; fail (before anything is written) when it exists with other
    columns, because new Parquet columns would be invisible to the table."""
    if create_database:  # local in-memory catalog only; in Glue the CDK stack owns the database
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {_quote(database)}")
    elif not spark.catalog.databaseExists(database):
        raise EtlError(f"database {database!r} is not in the catalog Spark uses; in Glue pass "
                       "--enable-glue-datacatalog true and deploy the stack that creates the "
                       "database (or fix --database)")
    name = f"{database}.{table}"
    if spark.catalog.tableExists(name):
        actual = [(f.name.lower(), f.dataType.simpleString()) for f in spark.table(name).schema]
        wanted = [(c.lower(), schema.spark_type(c).simpleString()) for c in schema.output_columns]
        if actual != wanted:
            def show(cols: list[tuple[str, str]]) -> str:
                return ", ".join(f"{n} {t}" for n, t in cols)
            raise EtlError(f"catalog table {name} has columns ({show(actual)}) but the schema "
                           f"declares ({show(wanted)}); drop the table (its data stays in place) "
                           "or fix the schema")
        return
    spark.sql(create_table_sql(schema, database, table, location))
    LOG.info("created catalog table %s at %s", name, location)


def register_partitions(spark: SparkSession, schema: TableSchema, database: str, table: str,
                        partitions: Sequence[Mapping[str, Any]]) -> None:
    # ADD IF NOT EXISTS for just this batch's partitions: idempotent, and unlike MSCK REPAIR it
    # does not list the whole table location on every run.
    statement = add_partitions_sql(schema, database, table, partitions)
    if statement:
        spark.sql(statement)
    skipped = [p for p in partitions if any(p[k] is None for k in schema.partition_keys)]
    if skipped:
        LOG.warning("%d partition(s) have a null partition key and were written under "
                    "__HIVE_DEFAULT_PARTITION__ without being registered: %s", len(skipped),
                    skipped)


# --------------------------------------------------------------------------------------------
# I/O shell
# --------------------------------------------------------------------------------------------


def is_remote(path: str) -> bool:
    return path.startswith(_REMOTE_PREFIXES)


def normalize_path(path: str) -> str:
    """Remote URIs as given (without a trailing slash); local paths as absolute file:// URIs, so
    the catalog location is absolute and prefix comparisons work."""
    if is_remote(path):
        return path.rstrip("/")
    local = path[len("file://"):] if path.startswith("file://") else path
    return Path(local).expanduser().resolve().as_uri()


def local_path(uri: str) -> Path:
    return Path(uri[len("file://"):]) if uri.startswith("file://") else Path(uri)


def _overlaps(a: str, b: str) -> bool:
    a, b = a.rstrip("/") + "/", b.rstrip("/") + "/"
    return a.startswith(b) or b.startswith(a)


def read_text(spark: SparkSession | None, path: str) -> str:
    """Read a small text file: s3:// through Spark (Glue's S3 filesystem, no boto3), local
    paths directly."""
    if is_remote(path):
        if spark is None:
            raise EtlError(f"cannot read {path} without a Spark session")
        try:
            rows = spark.read.text(path, wholetext=True).collect()
        except AnalysisException as exc:
            raise EtlError(f"cannot read {path}: {str(exc).splitlines()[0]}; fix the path or "
                           "the job role's S3 permissions") from None
        if not rows:
            raise EtlError(f"{path} is empty or not a file; fix --schema_path")
        return str(rows[0][0])
    try:
        return local_path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise EtlError(f"cannot read {path}: {exc.strerror}; fix the path") from None


def list_local_csv_files(input_uri: str) -> list[Path]:
    """The files Spark would read under a local path (skipping _SUCCESS-style and hidden files)."""
    root = local_path(input_uri)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise EtlError(f"input path {root} does not exist; fix --input_path")
    files = sorted(p for p in root.rglob("*") if p.is_file() and not any(
        part.startswith(("_", ".")) for part in p.relative_to(root).parts))
    if not files:
        raise EtlError(f"input path {root} holds no files; put the raw CSV there or fix "
                       "--input_path")
    return files


def read_local_header(path: Path) -> list[str] | None:
    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix, open)
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle), None)


@dataclass(frozen=True)
class LocalInput:
    files: tuple[Path, ...]
    header: tuple[str, ...]


def check_local_input(input_uri: str, schema: TableSchema) -> LocalInput:
    """List the local CSV files and check each header in plain Python, before Spark starts: a
    bad header is a one-line error naming the file, in a second, not a failed Spark task."""
    header: list[str] | None = None
    files: list[Path] = []
    for path in list_local_csv_files(input_uri):
        columns = read_local_header(path)
        if columns is None:
            LOG.warning("skipping empty file %s", path)
            continue
        check_header(columns, schema, source=str(path))
        if header is None:
            header = columns
        elif columns != header:
            raise EtlError(f"{path} orders its columns differently from {files[0]}; write every "
                           "file of a batch with the same header")
        files.append(path)
    if header is None:
        raise EtlError(f"no CSV rows under {local_path(input_uri)}; fix --input_path")
    return LocalInput(tuple(files), tuple(header))


def read_csv_local(spark: SparkSession, source: LocalInput) -> DataFrame:
    """Read raw CSV with plain Spark: every column as text, plus ``_corrupt_record`` for rows with
    the wrong number of fields (the DynamicFrame reader has no equivalent)."""
    struct = T.StructType([T.StructField(c, T.StringType()) for c in source.header]
                          + [T.StructField(CORRUPT_RECORD, T.StringType())])
    return (spark.read.schema(struct)
            .option("header", True)
            .option("enforceSchema", False)  # Spark re-checks each file's header too
            .option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", CORRUPT_RECORD)
            .option("escape", '"')  # RFC 4180: a quote inside a quoted field is doubled
            .csv([p.as_uri() for p in source.files])
            .withColumn(SOURCE_FILE, F.input_file_name()))


def read_existing(spark: SparkSession, output_uri: str, schema: TableSchema,
                  partitions: Sequence[Mapping[str, Any]]) -> DataFrame | None:
    """Rows currently stored in the given partitions of the curated table (None: no table yet)."""
    try:
        stored = spark.read.schema(schema.output_struct()).parquet(output_uri)
    except AnalysisException as exc:
        if "PATH_NOT_FOUND" in str(exc) or "Path does not exist" in str(exc):
            return None
        raise
    match = F.lit(False)
    for part in partitions:
        cond = F.lit(True)
        for key in schema.partition_keys:
            cond = cond & F.col(key).eqNullSafe(F.lit(part[key]))
        match = match | cond
    return stored.where(match)


def write_rejects(rejects: DataFrame, rejects_uri: str, ingest_date: dt.date,
                  append: bool = False) -> str:
    """Quarantine rejected rows as CSV (raw text, readable by anyone) under
    ``ingest_date=<date>/``. Overwrite mode replaces that directory, even with an empty file, so a
    re-run does not leave stale rejects beside a clean result. Merge mode (job bookmarks: each run
    sees only new files) appends, like the curated partition keeps earlier batches; a retried
    batch may then list its rejects twice, which only costs a duplicate line in the quarantine."""
    target = f"{rejects_uri}/{INGEST_DATE}={ingest_date.isoformat()}"
    (rejects.coalesce(1).write.mode("append" if append else "overwrite")
     .option("header", True).csv(target))
    return target


def write_curated(df: DataFrame, output_uri: str, schema: TableSchema) -> None:
    # REBALANCE by the partition keys lets adaptive execution size the output files: a few files
    # per partition directory instead of one per shuffle partition (200 tiny files by default),
    # while still splitting a skewed partition across tasks.
    # Dynamic partition overwrite: only the partitions present in df are replaced.
    (df.hint("rebalance", *schema.partition_keys)
     .write.mode("overwrite")
     .option("partitionOverwriteMode", "dynamic")
     .option("compression", "snappy")
     .partitionBy(*schema.partition_keys)
     .parquet(output_uri))


def configure_session(spark: SparkSession) -> None:
    conf = spark.conf
    # CSV timestamps without an offset are read in the session time zone: pin it.
    conf.set("spark.sql.session.timeZone", "UTC")
    # INT96 is Spark 3's default and deprecated in Parquet; Athena, pyarrow and pandas all read
    # TIMESTAMP_MICROS. CORRECTED writes dates as proleptic Gregorian instead of failing on
    # pre-1582 values (Spark 3.5 defaults to EXCEPTION).
    conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    conf.set("spark.sql.parquet.datetimeRebaseModeInWrite", "CORRECTED")
    conf.set("spark.sql.parquet.int96RebaseModeInWrite", "CORRECTED")
    # Let adaptive execution coalesce the shuffle partitions of cached frames too (the deduped
    # batch is cached); otherwise every later stage runs spark.sql.shuffle.partitions tasks.
    conf.set("spark.sql.optimizer.canChangeCachedPlanOutputPartitioning", "true")


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------

REQUIRED_ARGS = ("input_path", "output_path")
OPTIONAL_ARGS = ("schema_path", "schema_json", "database", "table", "rejects_path",
                 "max_reject_ratio", "ingest_date", "write_mode", "lake_formation_tags")


@dataclass(frozen=True)
class JobArgs:
    job_name: str
    input_path: str
    output_path: str
    rejects_path: str
    schema: TableSchema
    ingest_date: dt.date
    max_reject_ratio: float
    database: str | None
    table: str | None
    write_mode: str  # overwrite | merge (auto already resolved)
    lake_tags: LakeTags | None = None


def resolve_args(raw: Mapping[str, str | None], read_schema_text: Callable[[str], str],
                 bookmarks_enabled: bool = False) -> JobArgs:
    """Validate the arguments shared by both modes; every problem is a one-line EtlError.
    ``read_schema_text`` reads --schema_path (through Spark for s3:// in Glue)."""
    def get(name: str) -> str | None:
        value = raw.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    for name in REQUIRED_ARGS:
        if get(name) is None:
            raise EtlError(f"--{name} is required")
    input_uri = normalize_path(get("input_path") or "")
    output_uri = normalize_path(get("output_path") or "")
    rejects_uri = _rejects_location(get("rejects_path"), output_uri)
    _check_no_overlap(input_uri, output_uri, rejects_uri)

    database, table = get("database"), get("table")
    if (database is None) != (table is None):
        raise EtlError("pass both --database and --table to register the table, or neither")
    for flag, name in (("--database", database), ("--table", table)):
        if name is not None and not _CATALOG_NAME_RE.match(name):
            raise EtlError(f"{flag} {name!r} must be letters, digits, '_' or '-'")

    mode = get("write_mode") or "auto"
    if mode not in WRITE_MODES:
        raise EtlError(f"--write_mode {mode!r} must be one of {', '.join(WRITE_MODES)}")
    if mode == "auto":
        mode = "merge" if bookmarks_enabled else "overwrite"

    return JobArgs(job_name=get("JOB_NAME") or "local-etl", input_path=input_uri,
                   output_path=output_uri, rejects_path=rejects_uri,
                   schema=_load_schema(get("schema_path"), get("schema_json"), read_schema_text),
                   ingest_date=_parse_ingest_date(get("ingest_date")),
                   max_reject_ratio=_parse_ratio(get("max_reject_ratio")), database=database,
                   table=table, write_mode=mode,
                   lake_tags=_parse_lake_tags(get("lake_formation_tags"), database))


def _load_schema(path: str | None, inline: str | None,
                 read_schema_text: Callable[[str], str]) -> TableSchema:
    if path and inline:
        raise EtlError("pass --schema_path or --schema_json, not both")
    if inline:
        return TableSchema.from_json(inline, "--schema_json")
    if path:
        return TableSchema.from_json(read_schema_text(path), path)
    raise EtlError("no schema: pass --schema_path (e.g. an s3:// object, or a use case's "
                   "glue_schema.json) or --schema_json")


@dataclass(frozen=True)
class LakeTags:
    """The LF-tags of the job's table (key -> value), and the key the schema's
    column_sensitivity values are assigned under."""

    table: Mapping[str, str]
    column_key: str


def _parse_lake_tags(text: str | None, database: str | None) -> LakeTags | None:
    if text is None:
        return None
    example = '{"table": {"domain": "sales", "sensitivity": "internal"}, "column_key": ' \
              '"sensitivity"}'
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = None
    if not (isinstance(doc, dict) and set(doc) == {"table", "column_key"}
            and isinstance(doc["table"], dict) and doc["table"]
            and all(isinstance(k, str) and isinstance(v, str) for k, v in doc["table"].items())
            and isinstance(doc["column_key"], str) and doc["column_key"]):
        raise EtlError(f"--lake_formation_tags must be JSON like {example}")
    if database is None:
        raise EtlError("--lake_formation_tags tags the catalog table: pass --database and "
                       "--table too")
    return LakeTags(dict(doc["table"]), doc["column_key"])


def lake_formation_requests(args: JobArgs) -> list[dict]:
    """AddLFTagsToResource requests: the table's tags, then one per column sensitivity level
    (a column's value overrides the one it inherits from its table, as Lake Formation
    documents)."""
    if args.lake_tags is None or not args.table:
        return []
    table = {"DatabaseName": args.database, "Name": args.table}
    requests = [{"Resource": {"Table": table},
                 "LFTags": [{"TagKey": k, "TagValues": [v]}
                            for k, v in sorted(args.lake_tags.table.items())]}]
    by_level: dict[str, list[str]] = {}
    for column, level in args.schema.column_sensitivity.items():
        by_level.setdefault(level, []).append(column)
    for level, columns in sorted(by_level.items()):
        requests.append({"Resource": {"TableWithColumns": {**table, "ColumnNames": columns}},
                         "LFTags": [{"TagKey": args.lake_tags.column_key,
                                     "TagValues": [level]}]})
    return requests


def assign_lake_formation_tags(client: Any, args: JobArgs) -> None:
    """Assign the tags (idempotent: a key gets the same value again). Lake Formation answers
    a refused assignment in `Failures`, not with an error: each one fails the job."""
    for request in lake_formation_requests(args):
        failures = client.add_lf_tags_to_resource(**request).get("Failures") or []
        if failures:
            problems = "; ".join(f"{f.get('LFTag', {}).get('TagKey')}: "
                                 f"{f.get('Error', {}).get('ErrorMessage')}" for f in failures)
            raise EtlError(f"Lake Formation refused the LF-tags of {args.database}."
                           f"{args.table} ({problems}); grant the job's role ASSOCIATE on "
                           "those tags (the stack's LakeGovernance does)")
        LOG.info("assigned LF-tags %s to %s", request["LFTags"], request["Resource"])


def _parse_ingest_date(text: str | None) -> dt.date:
    if text is None:
        return dt.datetime.now(dt.UTC).date()
    try:
        if not _DATE_RE.match(text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise EtlError(f"--ingest_date {text!r} is not a date; use YYYY-MM-DD") from None


def _parse_ratio(text: str | None) -> float:
    try:
        ratio = DEFAULT_MAX_REJECT_RATIO if text is None else float(text)
        if not 0.0 <= ratio <= 1.0:
            raise ValueError
    except ValueError:
        raise EtlError(f"--max_reject_ratio {text!r} must be a number from 0 to 1") from None
    return ratio


def _rejects_location(rejects_path: str | None, output_uri: str) -> str:
    if rejects_path:
        return normalize_path(rejects_path)
    if is_remote(output_uri) and "/" not in output_uri.split("://", 1)[1]:
        raise EtlError("--output_path is a bucket root, so the default rejects location "
                       "<output_path>_rejects is not a valid bucket; pass --rejects_path")
    return output_uri + "_rejects"


def _check_no_overlap(input_uri: str, output_uri: str, rejects_uri: str) -> None:
    if _overlaps(input_uri, output_uri):
        raise EtlError(f"--input_path {input_uri} and --output_path {output_uri} overlap; write "
                       "the curated table outside the raw prefix")
    if _overlaps(rejects_uri, output_uri):
        raise EtlError(f"--rejects_path {rejects_uri} overlaps --output_path {output_uri}; "
                       "rejects inside the table location would be read as table data")
    if _overlaps(rejects_uri, input_uri):
        raise EtlError(f"--rejects_path {rejects_uri} overlaps --input_path {input_uri}; the "
                       "rejects would be ingested again by the next run")


def parse_local_argv(argv: Sequence[str]) -> dict[str, str | None]:
    parser = argparse.ArgumentParser(
        prog="etl.py", allow_abbrev=False,
        description="Raw CSV -> typed, deduplicated, partitioned Parquet (local Spark mode).")
    parser.add_argument("--JOB_NAME")
    for name in REQUIRED_ARGS:
        parser.add_argument(f"--{name}", required=True)
    for name in OPTIONAL_ARGS:
        parser.add_argument(f"--{name}")
    return vars(parser.parse_args(list(argv)))


def _has_arg(argv: Sequence[str], name: str) -> bool:
    return any(a == f"--{name}" or a.startswith(f"--{name}=") for a in argv)


# --------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------


@dataclass
class EtlResult:
    input_rows: int = 0
    rejected_rows: int = 0
    duplicate_rows: int = 0
    already_present_rows: int = 0
    written_rows: int = 0
    partitions: tuple[str, ...] = ()
    rejects_location: str = ""
    write_mode: str = ""


def run_etl(spark: SparkSession, args: JobArgs, raw: DataFrame,
            create_database: bool = False) -> EtlResult:
    """Everything between reading the raw CSV and committing: the same in both modes."""
    schema = args.schema
    result = EtlResult(write_mode=args.write_mode)
    check_header(raw.columns, schema, source=args.input_path)

    # Cache the parsed and cast input once: it is counted, split and written several times, and
    # every action would otherwise re-read the CSV (from S3) and re-run the casts.
    staged = cast_columns(raw, schema).persist()
    valid, rejects = split_cast(staged, schema)
    cached = [staged]
    try:
        result.input_rows = staged.count()
        report = summarize_rejects(rejects, result.input_rows)
        result.rejected_rows = report.rejected_rows
        result.rejects_location = write_rejects(rejects, args.rejects_path, args.ingest_date,
                                                append=args.write_mode == "merge")
        LOG.info("read %d rows from %s; rejected %d (%.2f%%) -> %s %s", result.input_rows,
                 args.input_path, report.rejected_rows, 100 * report.ratio,
                 result.rejects_location, report.by_column or "")
        check_reject_ratio(report, args.max_reject_ratio, result.rejects_location)

        deduped, result.duplicate_rows = deduplicate(
            valid, schema.dedup_keys, rows=result.input_rows - result.rejected_rows)
        cached.append(deduped)
        LOG.info("dropped %d duplicate rows (dedup keys: %s)", result.duplicate_rows,
                 ", ".join(schema.dedup_keys) or "whole row")
        curated = add_partition_columns(deduped, schema, args.ingest_date)
        parts = partition_values(curated, schema)
        result.partitions = tuple("/".join(f"{k}={_partition_text(p[k])}"
                                           for k in schema.partition_keys) for p in parts)
        result.written_rows = result.input_rows - result.rejected_rows - result.duplicate_rows

        if args.write_mode == "merge" and parts:
            existing = read_existing(spark, args.output_path, schema, parts)
            if existing is not None:
                existing_rows = existing.count()
                # Materialise before overwriting: the plan reads the very files the write
                # replaces, and a lazy plan would read them after they are gone.
                curated = merge_with_existing(curated, existing, schema).localCheckpoint(
                    eager=True)
                merged_rows = curated.count()
                result.already_present_rows = (result.written_rows + existing_rows
                                               - merged_rows)
                result.written_rows = merged_rows
                LOG.info("merge: %d rows already in the %d target partition(s), %d of this "
                         "batch's rows were already there", existing_rows, len(parts),
                         result.already_present_rows)

        if args.database and args.table:
            ensure_catalog_table(spark, schema, args.database, args.table, args.output_path,
                                 create_database)
        if parts:
            write_curated(curated, args.output_path, schema)
        if args.database and args.table:
            register_partitions(spark, schema, args.database, args.table, parts)
        LOG.info("wrote %d rows to %d partition(s) of %s (%s)", result.written_rows, len(parts),
                 args.output_path, args.write_mode)
    finally:
        for frame in cached:
            frame.unpersist()
    LOG.info("etl summary %s", json.dumps(asdict(result)))
    return result


class _CurrentStdout:
    """Whatever sys.stdout is when a record is written (test runners swap it), not at set-up."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def _configure_logging() -> None:
    if not LOG.handlers:
        # stdout: Glue sends it to the /aws-glue/jobs/output log group; errors go to stderr.
        handler = logging.StreamHandler(_CurrentStdout())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s etl: %(message)s"))
        LOG.addHandler(handler)
        LOG.setLevel(logging.INFO)
        LOG.propagate = False


def run_local(argv: Sequence[str], spark: SparkSession | None = None) -> int:
    """Local mode. Returns the exit status; bad input prints one line to stderr and returns 2.
    A session passed in (tests) is reused and left running."""
    _configure_logging()
    raw_args = parse_local_argv(argv)
    owned = spark is None
    session: list[SparkSession] = [] if spark is None else [spark]

    def get_spark() -> SparkSession:
        # Started only once the arguments and the input headers are valid: a typo fails in a
        # second, not after JVM start-up (unless --schema_path itself needs Spark to be read).
        if not session:
            # The local catalog is in-memory and dies with the session; keep the empty
            # database directories CREATE DATABASE makes out of the working directory.
            warehouse = Path(tempfile.gettempdir()) / "glue-etl-local-warehouse"
            started = (SparkSession.builder.appName("glue-etl-local")
                       .config("spark.ui.showConsoleProgress", "false")
                       .config("spark.sql.warehouse.dir", warehouse.as_uri())
                       .getOrCreate())
            started.sparkContext.setLogLevel("WARN")
            session.append(started)
        return session[0]

    try:
        args = resolve_args(raw_args, lambda path: read_text(
            get_spark() if is_remote(path) else None, path))
        source = check_local_input(args.input_path, args.schema)
        spark = get_spark()
        configure_session(spark)
        raw = read_csv_local(spark, source)
        # The local catalog is Spark's in-memory one: create the database there so the same DDL
        # as in Glue runs (and is tested); it lives as long as the session.
        run_etl(spark, args, raw, create_database=True)
        if args.lake_tags is not None:
            LOG.info("Lake Formation is not emulated locally: the LF-tags %s are assigned only "
                     "in AWS Glue", lake_formation_requests(args))
        return 0
    except EtlError as exc:
        print(f"etl.py: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if owned and session:
            session[0].stop()


def run_glue(argv: Sequence[str]) -> None:
    """Glue mode. Raises on failure so Glue marks the run FAILED with the message."""
    _configure_logging()
    # Imported here, not at module level: local mode must run where awsglue does not exist.
    from awsglue.context import GlueContext  # type: ignore[import-not-found]
    from awsglue.job import Job  # type: ignore[import-not-found]
    from awsglue.utils import GlueArgumentError, getResolvedOptions  # type: ignore[import-not-found]
    from pyspark.context import SparkContext

    # getResolvedOptions makes every listed option required, so list the optional ones only when
    # they were passed. It always adds 'job_bookmark_option' (the --job-bookmark-option value,
    # default job-bookmark-disable).
    wanted = ["JOB_NAME", *REQUIRED_ARGS, *[o for o in OPTIONAL_ARGS if _has_arg(argv, o)]]
    try:
        options = getResolvedOptions(list(argv), wanted)
    except GlueArgumentError as exc:
        raise EtlError(f"bad job arguments: {exc}") from None

    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    configure_session(spark)
    job = Job(glue_context)
    job.init(options["JOB_NAME"], options)

    bookmarks = options.get("job_bookmark_option") == BOOKMARK_ENABLED
    args = resolve_args(options, lambda path: read_text(spark, path),
                        bookmarks_enabled=bookmarks)
    if args.database and "AWSGlueDataCatalog" not in spark.sparkContext.getConf().get(
            "spark.hadoop.hive.metastore.client.factory.class", ""):
        LOG.warning("the Glue Data Catalog does not look enabled as Spark's metastore; pass the "
                    "job argument --enable-glue-datacatalog true or the table is not registered")

    # Job bookmarks: Glue records which S3 objects a source with a transformation_ctx has read
    # (by last-modified time) and saves that state at job.commit(); the next run reads only newer
    # objects. A plain spark.read.csv has no transformation_ctx, so Glue cannot bookmark it and
    # every run would re-read the whole prefix - hence the DynamicFrame reader, converted to a
    # DataFrame right away for the shared logic. If the run fails before commit() the bookmark
    # does not move and the retry re-reads the same files; the idempotent write makes that safe.
    source = glue_context.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options={"paths": [args.input_path], "recurse": True},
        format="csv",
        format_options={"withHeader": True, "separator": ",", "quoteChar": '"'},
        transformation_ctx=RAW_SOURCE_CTX,
    )
    # Values the reader saw with mixed types come as choice types; make them text, which the
    # shared cast/reject logic expects. Unlike the local reader, the DynamicFrame reader has no
    # corrupt-record column: rows with too few fields arrive padded with nulls (missing values).
    raw = source.resolveChoice(choice="cast:string").toDF()
    if not raw.columns:
        LOG.info("no new input under %s (job bookmark: %s); nothing to do", args.input_path,
                 options.get("job_bookmark_option"))
        job.commit()
        return
    raw = raw.withColumn(SOURCE_FILE, F.input_file_name())
    run_etl(spark, args, raw)
    if args.lake_tags is not None:
        import boto3  # in Glue's runtime; the bookmark moves only once the tags are assigned

        assign_lake_formation_tags(boto3.client("lakeformation"), args)
    job.commit()


def glue_available() -> bool:
    return importlib.util.find_spec("awsglue") is not None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    if glue_available():
        try:
            run_glue(argv)
        except EtlError as exc:
            # Raised, not sys.exit(): Glue reports the exception message as the run's
            # ErrorMessage. `from None` keeps the log to the message itself.
            LOG.error("%s", exc)
            raise EtlError(str(exc)) from None
        return 0
    return run_local(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
