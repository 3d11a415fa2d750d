"""The Glue ETL job with a real (local) Spark: the pure transformations, the command line, one
end-to-end run of the script on the churn sample, idempotent re-runs, and Glue mode driven
through a stand-in `awsglue` package (tests/glue/fake_awsglue).

One SparkSession serves the whole module: JVM start-up is the slow part.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from runtime_scripts.glue import etl
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "runtime_scripts" / "glue" / "etl.py"
CHURN_SCHEMA = CHURN.path(CHURN.glue_schema)
SAMPLE = REPO / "runtime_scripts" / "use_cases" / "churn" / "sample_data" / "mlc_churn.csv"
FAKE_GLUE = Path(__file__).with_name("fake_awsglue")
INGEST_DATE = "2024-05-01"
# Short-lived test JVMs: C1-only JIT and the serial GC halve the CPU Spark burns warming up
# (measured on this suite: ~29 -> ~14 CPU-seconds for the script's end-to-end run).
TEST_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
ARROW_TYPES = {"string": pa.string(), "int": pa.int32(), "bigint": pa.int64(),
               "double": pa.float64(), "boolean": pa.bool_(), "date": pa.date32()}

SMALL = etl.TableSchema.from_dict({
    "columns": {"id": "int", "name": "string", "amount": "double", "day": "date",
                "flag": "boolean"},
    "dedup_keys": ["id"],
})


@pytest.fixture(scope="module")
def spark(tmp_path_factory) -> Iterator[SparkSession]:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    warehouse = tmp_path_factory.mktemp("spark_warehouse")  # CREATE DATABASE makes dirs there
    session = (SparkSession.builder.master("local[1]").appName("glue-etl-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.driver.extraJavaOptions", TEST_JVM_OPTIONS)
               .config("spark.sql.warehouse.dir", warehouse.as_uri())
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def raw_frame(spark: SparkSession, rows: list[tuple], columns: list[str]):
    return spark.createDataFrame(rows, ", ".join(f"{c} string" for c in columns))


# --- pure transformations --------------------------------------------------------------------


def test_split_rejects_quarantines_uncastable_values_instead_of_nulling_them(spark) -> None:
    cols = ["id", "name", "amount", "day", "flag", "_corrupt_record"]
    raw = raw_frame(spark, [
        ("1", "a", "1.5", "2024-01-31", "true", None),    # clean
        ("2", "b", "", "  ", None, None),                 # empty fields: nulls, not rejects
        (" 3 ", "c", "2e3", "2024-02-01", "no", None),    # whitespace and exponents cast
        ("4", "d", "abc", "2024-02-30", "maybe", None),   # three bad values
        ("", "e", "1", "2024-01-01", "yes", None),        # empty dedup key
        ("6", "f", None, None, None, "6,f"),              # wrong number of fields
    ], cols)
    valid, rejects = etl.split_rejects(raw, SMALL)

    assert valid.columns == list(SMALL.columns)
    assert dict(valid.dtypes) == {"id": "int", "name": "string", "amount": "double",
                                  "day": "date", "flag": "boolean"}
    got = {r["id"]: r.asDict() for r in valid.collect()}
    assert sorted(got) == [1, 2, 3]
    assert got[1] == {"id": 1, "name": "a", "amount": 1.5, "day": dt.date(2024, 1, 31),
                      "flag": True}
    assert got[2]["amount"] is None and got[2]["day"] is None
    assert got[3]["amount"] == 2000.0 and got[3]["flag"] is False

    bad = {r["name"]: r.asDict() for r in rejects.collect()}
    assert sorted(bad) == ["d", "e", "f"]
    assert bad["d"]["_reject_columns"] == "amount,day,flag"
    assert bad["d"]["_reject_reason"] == ("amount: 'abc' is not a valid double; day: "
                                          "'2024-02-30' is not a valid date; flag: 'maybe' is "
                                          "not a valid boolean")
    assert bad["d"]["amount"] == "abc"  # the raw text is kept for whoever fixes the source
    assert bad["e"]["_reject_reason"] == "id: missing value for dedup key"
    assert bad["f"]["_reject_columns"] == "<malformed row>"
    assert bad["f"]["_corrupt_record"] == "6,f"

    report = etl.summarize_rejects(rejects, input_rows=6)
    assert report.rejected_rows == 3
    assert report.by_column == {"amount": 1, "day": 1, "flag": 1, "id": 1, "<malformed row>": 1}


def test_reject_ratio_over_threshold_fails_naming_the_columns(spark) -> None:
    raw = raw_frame(spark, [(str(i), "n", "x" if i < 2 else "1.0", "2024-01-01", "true")
                            for i in range(10)], ["id", "name", "amount", "day", "flag"])
    _, rejects = etl.split_rejects(raw, SMALL)
    report = etl.summarize_rejects(rejects, input_rows=10)
    assert (report.rejected_rows, report.ratio) == (2, 0.2)

    etl.check_reject_ratio(report, 0.2, "s3://q/")  # at the threshold: passes
    with pytest.raises(etl.EtlError) as info:
        etl.check_reject_ratio(report, 0.05, "s3://curated/churn_rejects/ingest_date=2024-05-01")
    message = str(info.value)
    assert message.startswith("2 of 10 input rows (20.00%) could not be cast to the schema, "
                              "over --max_reject_ratio 0.05; failing columns: amount (2).")
    assert "s3://curated/churn_rejects/ingest_date=2024-05-01" in message
    assert "\n" not in message


def test_deduplicate_counts_and_keeps_a_deterministic_row(spark) -> None:
    df = spark.createDataFrame(
        [(1, "b", 2.0), (1, "a", 9.0), (1, "b", 2.0), (2, "x", 1.0), (2, "x", 1.0), (3, "z", 0.0)],
        "id int, name string, amount double")

    by_row, dropped = etl.deduplicate(df)
    assert (by_row.count(), dropped) == (4, 2)

    by_key, dropped = etl.deduplicate(df, ["id"])
    assert dropped == 3
    assert by_key.columns == ["id", "name", "amount"]
    assert sorted(tuple(r) for r in by_key.collect()) == [(1, "a", 9.0), (2, "x", 1.0),
                                                           (3, "z", 0.0)]
    by_key.unpersist()
    by_row.unpersist()

    # `prefer` outranks the other columns: used by merge so the new batch wins a key clash.
    preferred = etl.drop_duplicates(df.withColumn("p", (F.col("name") != "b").cast("int")),
                                    ["id"], prefer=[F.col("p")])
    assert preferred.where("id = 1").select("name").first()[0] == "b"


def test_partition_columns_merge_and_partition_values(spark) -> None:
    schema = etl.TableSchema.from_dict({"columns": {"id": "int", "state": "string",
                                                    "v": "double"},
                                        "partition_keys": ["ingest_date", "state"],
                                        "dedup_keys": ["id"]})
    batch = etl.add_partition_columns(
        spark.createDataFrame([(1, "KS", 1.0), (2, "OH", 2.0)], "id int, state string, v double"),
        schema, dt.date(2024, 5, 1))
    assert batch.columns == ["id", "v", "ingest_date", "state"]  # partition keys last
    assert dict(batch.dtypes)["ingest_date"] == "date"
    assert etl.partition_values(batch, schema) == [
        {"ingest_date": dt.date(2024, 5, 1), "state": "KS"},
        {"ingest_date": dt.date(2024, 5, 1), "state": "OH"}]

    existing = spark.createDataFrame([(1, 0.5, dt.date(2024, 5, 1), "KS"),
                                      (3, 3.0, dt.date(2024, 5, 1), "KS")],
                                     "id int, v double, ingest_date date, state string")
    merged = etl.merge_with_existing(batch, existing, schema)
    assert sorted((r["id"], r["v"]) for r in merged.collect()) == [(1, 1.0), (2, 2.0), (3, 3.0)]


# --- command line (local mode), in-process on the shared session -----------------------------


def write_csv(path: Path, header: str, *rows: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_cli_bad_header_is_one_line_exit_2(spark, tmp_path: Path, capsys) -> None:
    raw = write_csv(tmp_path / "raw" / "a.csv", "id,name,amount,flag,colour", "1,a,1.0,true,red")
    code = etl.run_local(["--input_path", str(raw.parent), "--output_path",
                          str(tmp_path / "out"), "--schema_json", json.dumps(
                              {"columns": SMALL.columns, "dedup_keys": ["id"]})], spark=spark)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == (f"etl.py: error: {raw} header does not match the schema: missing column(s) "
                   "'day'; unexpected column(s) 'colour'. Fix the CSV header or the schema "
                   "(--schema_path/--schema_json).")
    assert not (tmp_path / "out").exists()


def test_cli_too_many_rejects_fails_before_writing_curated_data(spark, tmp_path: Path,
                                                                capsys) -> None:
    raw = write_csv(tmp_path / "raw.csv", "id,name,amount,day,flag",
                    "1,a,1.0,2024-01-01,true", "2,b,oops,2024-01-01,true",
                    "3,c,3.0,2024-01-01,false")
    out, rejects = tmp_path / "curated", tmp_path / "quarantine"
    code = etl.run_local(["--input_path", str(raw), "--output_path", str(out), "--rejects_path",
                          str(rejects), "--ingest_date", INGEST_DATE, "--schema_json",
                          json.dumps({"columns": SMALL.columns})], spark=spark)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("etl.py: error: 1 of 3 input rows (33.33%) could not be cast")
    assert "failing columns: amount (1)" in err and "\n" not in err
    assert not out.exists()
    quarantined = pd.read_csv(next((rejects / f"ingest_date={INGEST_DATE}").glob("*.csv")))
    assert quarantined["amount"].tolist() == ["oops"]


# --- the real script, end to end on the churn sample -----------------------------------------


@pytest.fixture(scope="module", autouse=True)
def e2e_run(request, tmp_path_factory) -> Iterator[dict | None]:
    """Start etl.py as a subprocess, once, on the sample plus 3 duplicates and 2 bad rows.

    Autouse and module-scoped so it starts before the shared session and its JVM warms up while
    the in-process tests run (both are mostly single-threaded JVM start-up and code generation);
    skipped when no end-to-end test was selected.
    """
    if not any(item.name.startswith("test_e2e") for item in request.session.items):
        yield None
        return
    root = tmp_path_factory.mktemp("glue_e2e")
    lines = SAMPLE.read_text().splitlines()
    header, rows = lines[0], lines[1:]
    bad_cast = rows[4].split(",")
    bad_cast[0], bad_cast[2] = "900001", "12x"  # new customer, account_length not an int
    short_row = ",".join(rows[5].split(",")[:10])  # 10 of 21 fields
    raw = root / "raw" / "churn"
    write_csv(raw / "part-1.csv", header, *rows)
    write_csv(raw / "part-2.csv", header, rows[0], rows[1], rows[2], ",".join(bad_cast),
              short_row)
    out, rejects = root / "curated" / "churn", root / "rejects" / "churn"
    argv = ["--schema_path", str(CHURN_SCHEMA),
            "--input_path", str(raw), "--output_path", str(out), "--rejects_path", str(rejects),
            "--ingest_date", INGEST_DATE]
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_SUBMIT_ARGS=(
        f"--master local[1] --driver-java-options '{TEST_JVM_OPTIONS}' "
        "--conf spark.ui.enabled=false --conf spark.sql.shuffle.partitions=4 pyspark-shell"))
    # Output to files, not pipes: nobody reads a pipe until the process ends, and a full pipe
    # buffer would block Spark's logging.
    stdout, stderr = root / "stdout.log", root / "stderr.log"
    with stdout.open("w") as out_log, stderr.open("w") as err_log:
        # Its own process group, so teardown can stop the script and the JVM it launched.
        proc = subprocess.Popen([sys.executable, str(SCRIPT), *argv], cwd=REPO, env=env,
                                stdout=out_log, stderr=err_log, text=True,
                                start_new_session=True)
    yield {"proc": proc, "stdout": stdout, "stderr": stderr, "out": out, "rejects": rejects,
           "argv": argv, "input_rows": len(rows) + 5, "sample_rows": len(rows)}
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def e2e(e2e_run: dict | None) -> dict:
    """The finished subprocess run and its summary line."""
    assert e2e_run is not None
    code = e2e_run["proc"].wait(timeout=300)
    assert code == 0, e2e_run["stderr"].read_text()[-3000:]
    summaries = [line.split("etl summary ", 1)[1]
                 for line in e2e_run["stdout"].read_text().splitlines() if "etl summary " in line]
    return {**e2e_run, "summary": json.loads(summaries[-1])}


def read_curated(out: Path) -> pd.DataFrame:
    return ds.dataset(out, format="parquet", partitioning="hive").to_table().to_pandas()


def test_e2e_counts_types_partitions_and_rejects(e2e) -> None:
    summary, out = e2e["summary"], e2e["out"]
    assert summary["input_rows"] == e2e["input_rows"] == 5005
    assert summary["duplicate_rows"] == 3
    assert summary["rejected_rows"] == 2
    assert summary["written_rows"] == e2e["input_rows"] - 3 - 2 == e2e["sample_rows"]
    assert summary["partitions"] == [f"ingest_date={INGEST_DATE}"]

    partition = out / f"ingest_date={INGEST_DATE}"
    assert partition.is_dir()
    files = sorted(partition.glob("*.snappy.parquet"))
    assert files, list(partition.iterdir())
    schema = etl.TableSchema.load(CHURN_SCHEMA)
    stored = pq.read_schema(files[0])
    assert stored.names == schema.data_columns  # ingest_date lives in the directory name
    for name in schema.data_columns:
        assert stored.field(name).type == ARROW_TYPES[schema.columns[name]], name
    assert pq.ParquetFile(files[0]).metadata.row_group(0).column(0).compression == "SNAPPY"

    curated = read_curated(out)
    sample = pd.read_csv(SAMPLE)
    assert len(curated) == len(sample)
    assert curated["customer_id"].is_unique
    assert set(curated["customer_id"]) == set(sample["customer_id"])
    assert curated["total_day_minutes"].sum() == pytest.approx(sample["total_day_minutes"].sum())
    assert (curated["churn"].value_counts().to_dict()
            == sample["churn"].value_counts().to_dict())
    assert set(curated["ingest_date"].astype(str)) == {INGEST_DATE}

    quarantine = e2e["rejects"] / f"ingest_date={INGEST_DATE}"
    rejected = pd.concat(pd.read_csv(p, dtype=str) for p in quarantine.glob("*.csv"))
    assert sorted(rejected["_reject_columns"]) == ["<malformed row>", "account_length"]
    bad = rejected[rejected["_reject_columns"] == "account_length"].iloc[0]
    assert bad["customer_id"] == "900001" and bad["account_length"] == "12x"
    assert bad["_source_file"].endswith("part-2.csv")


def test_e2e_rerun_is_idempotent_in_both_write_modes(e2e, spark, capsys) -> None:
    out, argv = e2e["out"], e2e["argv"]
    before = sorted(p.name for p in (out / f"ingest_date={INGEST_DATE}").iterdir())

    # The same batch again (overwrite): the partition is replaced, not appended to.
    assert etl.run_local(argv, spark=spark) == 0
    assert len(read_curated(out)) == e2e["sample_rows"]
    after = sorted(p.name for p in (out / f"ingest_date={INGEST_DATE}").iterdir())
    assert after != before  # new files, old ones gone

    # Merge (what job bookmarks use) plus catalog registration: still the same rows.
    assert etl.run_local([*argv, "--write_mode", "merge", "--database", "curated",
                          "--table", "churn"], spark=spark) == 0
    summary = json.loads(capsys.readouterr().out.rsplit("etl summary ", 1)[1].splitlines()[0])
    assert summary["already_present_rows"] == summary["written_rows"] == e2e["sample_rows"]
    assert len(read_curated(out)) == e2e["sample_rows"]
    assert [r[0] for r in spark.sql("SHOW PARTITIONS curated.churn").collect()] == [
        f"ingest_date={INGEST_DATE}"]
    assert spark.table("curated.churn").count() == e2e["sample_rows"]
    assert dict(spark.table("curated.churn").dtypes)["total_day_minutes"] == "double"


# --- Glue mode, through the stand-in awsglue package -----------------------------------------


@pytest.fixture
def fake_glue(monkeypatch) -> Iterator[object]:
    monkeypatch.syspath_prepend(str(FAKE_GLUE))
    import awsglue

    awsglue.CALLS.clear()
    awsglue.BOOKMARKS.clear()
    yield awsglue
    for name in [m for m in sys.modules if m == "awsglue" or m.startswith("awsglue.")]:
        del sys.modules[name]


def test_glue_mode_bookmarks_merge_and_commit(spark, fake_glue, tmp_path: Path) -> None:
    assert etl.glue_available()
    raw, out = tmp_path / "raw", tmp_path / "curated"
    header = "id,name,amount,day,flag"
    write_csv(raw / "a.csv", header, "1,a,1.0,2024-01-01,true", "2,b,2.0,2024-01-01,false")
    argv = ["etl.py", "--JOB_NAME", "churn-etl", "--job-bookmark-option", "job-bookmark-enable",
            "--input_path", str(raw), "--output_path", str(out), "--ingest_date", INGEST_DATE,
            "--schema_json", json.dumps({"columns": SMALL.columns, "dedup_keys": ["id"]})]

    assert etl.main(argv) == 0
    calls = dict(fake_glue.CALLS)
    assert calls["getResolvedOptions"] == ["JOB_NAME", "input_path", "output_path",
                                           "schema_json", "ingest_date"]
    assert calls["from_options"]["transformation_ctx"] == etl.RAW_SOURCE_CTX
    assert calls["from_options"]["format"] == "csv"
    assert calls["from_options"]["format_options"]["withHeader"] is True
    assert calls["resolveChoice"] == "cast:string"
    assert [c for c, _ in fake_glue.CALLS][-1] == "Job.commit"

    # A new file the same day: the bookmark hides a.csv, merge keeps its rows.
    write_csv(raw / "b.csv", header, "3,c,3.0,2024-01-02,true", "2,b2,2.5,2024-01-02,true")
    assert etl.main(argv) == 0
    rows = read_curated(out).sort_values("id")
    assert rows["id"].tolist() == [1, 2, 3]
    assert rows["name"].tolist() == ["a", "b2", "c"]  # the newer batch wins the key clash

    # Nothing new: a no-op that still commits.
    fake_glue.CALLS.clear()
    assert etl.main(argv) == 0
    assert [c for c, _ in fake_glue.CALLS][-1] == "Job.commit"
    assert len(read_curated(out)) == 3

    # Bad input fails the run with the one-line message and does not commit the bookmark.
    write_csv(raw / "c.csv", "id,name", "4,d")
    fake_glue.CALLS.clear()
    with pytest.raises(etl.EtlError, match=r"header does not match the schema: missing column"):
        etl.main(argv)
    assert "Job.commit" not in [c for c, _ in fake_glue.CALLS]
