"""The Glue ETL job's schema document, argument validation and catalog SQL: no Spark needed."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from runtime_scripts.glue import etl
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN

REPO = Path(__file__).resolve().parents[2]
CHURN_SCHEMA = CHURN.path(CHURN.glue_schema)
SAMPLE = REPO / "runtime_scripts" / "use_cases" / "churn" / "sample_data" / "mlc_churn.csv"


def no_read(path: str) -> str:
    raise AssertionError(f"unexpected schema read of {path}")


def test_bundled_churn_schema_matches_the_sample_header() -> None:
    schema = etl.TableSchema.load(CHURN_SCHEMA)
    with SAMPLE.open(newline="") as handle:
        header = next(csv.reader(handle))
    etl.check_header(header, schema)  # raises when they differ
    assert list(schema.columns) == header
    assert schema.partition_keys == ("ingest_date",)
    assert schema.dedup_keys == ("customer_id",)
    assert schema.columns["customer_id"] == "int"
    assert schema.columns["total_day_minutes"] == "double"
    assert schema.columns["total_day_calls"] == "int"
    assert schema.columns["churn"] == "string"
    assert {k for k, v in schema.columns.items() if v == "double"} == {
        c for c in header if c.startswith("total_") and c.endswith(("_minutes", "_charge"))}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"columns": {"a": "integer"}}, "column 'a' has type 'integer'; use one of string, int"),
        ({"columns": {"a": "int"}, "partition_keys": ["b"]},
         "partition key 'b' is neither 'ingest_date' nor a declared column"),
        ({"columns": {"a": "int", "b": "double"}, "partition_keys": ["b"]},
         "partition key 'b' has type double"),
        ({"columns": {"a": "int"}, "partition_keys": []}, "must name at least one key"),
        ({"columns": {"a": "int"}, "dedup_keys": ["id"]}, "dedup key 'id' is not a declared"),
        ({"columns": {"a": "int"}, "partition_key": ["a"]}, "unknown key(s) 'partition_key'"),
        ({"columns": {"ingest_date": "date"}}, "'ingest_date' is reserved"),
        ({"columns": {"bad name": "int"}}, "column name 'bad name' must be letters"),
        ({"columns": {}}, '"columns" must be a non-empty object'),
    ],
)
def test_schema_document_errors_name_the_problem(doc: dict, message: str) -> None:
    with pytest.raises(etl.EtlError) as info:
        etl.TableSchema.from_dict(doc, "s.json")
    assert message in str(info.value)
    assert str(info.value).startswith("s.json: ")
    assert "\n" not in str(info.value)


def test_schema_json_rejects_repeated_columns() -> None:
    with pytest.raises(etl.EtlError, match="key 'a' appears twice"):
        etl.TableSchema.from_json('{"columns": {"a": "int", "a": "string"}}')


def test_check_header_names_missing_and_unexpected_columns() -> None:
    schema = etl.TableSchema.from_dict({"columns": {"id": "int", "churn": "string"}})
    with pytest.raises(etl.EtlError) as info:
        etl.check_header(["id", " churn", "extra"], schema, source="raw.csv")
    message = str(info.value)
    assert message.startswith("raw.csv header does not match the schema: ")
    assert "missing column(s) 'churn'" in message
    assert "unexpected column(s) ' churn', 'extra'" in message  # repr shows the stray space
    assert "Fix the CSV header or the schema" in message
    assert "\n" not in message
    etl.check_header(["churn", "id", "_corrupt_record"], schema)  # order and helpers are fine


def args(**overrides: str) -> dict[str, str | None]:
    base: dict[str, str | None] = {"input_path": "s3://raw-bucket/churn/",
                                   "output_path": "s3://curated-bucket/churn/",
                                   "schema_json": CHURN_SCHEMA.read_text()}
    base.update(overrides)
    return base


def test_resolve_args_defaults_for_glue() -> None:
    resolved = etl.resolve_args(args(), no_read)
    assert resolved.input_path == "s3://raw-bucket/churn"
    assert resolved.output_path == "s3://curated-bucket/churn"
    assert resolved.rejects_path == "s3://curated-bucket/churn_rejects"
    assert resolved.max_reject_ratio == 0.05
    assert resolved.ingest_date == dt.datetime.now(dt.UTC).date()
    assert resolved.write_mode == "overwrite"
    assert resolved.database is None and resolved.table is None
    # With job bookmarks each run only sees new files: auto must merge, not overwrite.
    assert etl.resolve_args(args(), no_read, bookmarks_enabled=True).write_mode == "merge"
    assert etl.resolve_args(args(write_mode="overwrite"), no_read,
                            bookmarks_enabled=True).write_mode == "overwrite"


def test_resolve_args_reads_schema_path_or_inline_json(tmp_path: Path) -> None:
    doc = {"columns": {"id": "int", "v": "double"}, "dedup_keys": ["id"]}
    inline = etl.resolve_args(args(schema_json=json.dumps(doc)), no_read)
    assert inline.schema.columns == {"id": "int", "v": "double"}
    read = etl.resolve_args(args(schema_path="s3://cfg/schema.json", schema_json=None),
                            lambda path: json.dumps(doc) if path == "s3://cfg/schema.json" else "")
    assert read.schema == inline.schema


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ingest_date": "2024-13-01"}, "--ingest_date '2024-13-01' is not a date; use YYYY-MM-DD"),
        ({"ingest_date": "20240501"}, "is not a date"),
        ({"max_reject_ratio": "5%"}, "--max_reject_ratio '5%' must be a number from 0 to 1"),
        ({"max_reject_ratio": "1.5"}, "must be a number from 0 to 1"),
        ({"database": "curated"}, "pass both --database and --table"),
        ({"database": "db", "table": "a.b"}, "--table 'a.b' must be letters"),
        ({"write_mode": "append"}, "--write_mode 'append' must be one of auto, overwrite, merge"),
        ({"schema_json": "{}", "schema_path": "s3://x/s.json"}, "not both"),
        ({"schema_json": "{not json"}, "--schema_json is not valid JSON"),
        ({"output_path": "s3://raw-bucket/churn/curated"}, "overlap"),
        ({"rejects_path": "s3://curated-bucket/churn/rejects"}, "rejects inside the table"),
        ({"rejects_path": "s3://raw-bucket/churn/rejects"}, "ingested again by the next run"),
        ({"output_path": "s3://curated-bucket/"}, "bucket root"),
        ({"input_path": ""}, "--input_path is required"),
    ],
)
def test_resolve_args_errors_are_one_line(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(etl.EtlError) as info:
        etl.resolve_args(args(**overrides), no_read)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_local_paths_become_absolute_file_uris(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    resolved = etl.resolve_args({"input_path": "raw/", "output_path": "file://" + str(tmp_path)
                                 + "/curated", "ingest_date": "2024-05-01",
                                 "schema_json": CHURN_SCHEMA.read_text()}, no_read)
    assert resolved.input_path == (tmp_path / "raw").as_uri()
    assert resolved.output_path == (tmp_path / "curated").as_uri()
    assert resolved.rejects_path == (tmp_path / "curated_rejects").as_uri()
    assert resolved.ingest_date == dt.date(2024, 5, 1)


def test_catalog_sql() -> None:
    schema = etl.TableSchema.from_dict({"columns": {"id": "int", "state": "string",
                                                    "amount": "double"},
                                        "partition_keys": ["ingest_date", "state"]})
    ddl = etl.create_table_sql(schema, "curated", "churn", "s3://curated-bucket/churn")
    assert ddl == (
        "CREATE TABLE IF NOT EXISTS `curated`.`churn` (`id` INT, `amount` DOUBLE, "
        "`ingest_date` DATE, `state` STRING) USING PARQUET PARTITIONED BY (`ingest_date`, "
        "`state`) LOCATION 's3://curated-bucket/churn' "
        "TBLPROPERTIES ('classification'='parquet', 'parquet.compression'='SNAPPY')")
    parts = [{"ingest_date": dt.date(2024, 5, 1), "state": "KS"},
             {"ingest_date": dt.date(2024, 5, 1), "state": "O'Hare"},
             {"ingest_date": dt.date(2024, 5, 1), "state": None}]
    assert etl.add_partitions_sql(schema, "curated", "churn", parts) == (
        "ALTER TABLE `curated`.`churn` ADD IF NOT EXISTS "
        "PARTITION (`ingest_date`='2024-05-01', `state`='KS') "
        "PARTITION (`ingest_date`='2024-05-01', `state`='O\\'Hare')")
    assert etl.add_partitions_sql(schema, "curated", "churn", parts[2:]) is None


def test_without_a_schema_the_job_says_how_to_give_one() -> None:
    """The ETL job is every use case's: it has no schema of its own to fall back on."""
    with pytest.raises(etl.EtlError, match="no schema: pass --schema_path"):
        etl.resolve_args({"input_path": "s3://raw/x/", "output_path": "s3://curated/x/"},
                         no_read)
