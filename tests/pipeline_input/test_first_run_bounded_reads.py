"""Cross-validation's first run on data the validator does not read whole: a Parquet file's
footer, decoded without pyarrow, says what pyarrow wrote; a column the split job needs that is
missing from a large CSV file's header or a Parquet schema is refused in the split job's words;
more folds than the Parquet statistics leave rows for are refused; what footers cannot count
answers no profile (the split job counts)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from config import load_stage_config
from ml_constructs.pipeline_defaults import first_run_profile_spec
from runtime_scripts import contract
from runtime_scripts.pipeline_input import InvalidPipelineInput, parquet_footer
from runtime_scripts.pipeline_input import first_run_profile as first_run
from tests.pipeline_input.s3_stub import StubS3, unprofiled

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "runtime_scripts" / "use_cases" / "churn" / "sample_data" / "mlc_churn.csv"
SPEC = first_run_profile_spec(load_stage_config("dev").use_case("churn"))
RAW = "raw-bucket"


@pytest.fixture(scope="module")
def churn() -> pd.DataFrame:
    return pd.read_csv(SAMPLE, dtype=str, keep_default_na=False, na_values=[""])


def parquet(frame: pd.DataFrame, **options) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out, **options)
    return out.getvalue()


def _event(**changes) -> dict:
    return {"check": first_run.CHECK, "data_s3_uri": f"s3://{RAW}/churn/",
            "dataset_spec_s3_uri": None, "group_column": None, "folds": 5, "spec": SPEC,
            "readable_bucket": RAW, **changes}


def test_the_footer_reader_decodes_what_pyarrow_writes():
    import datetime as dt

    table = pa.table({
        "label": ["yes", "no", None, "no", " maybe "],
        "count": pa.array([3, 1, 4, 1, 5], pa.int64()),
        "ratio": [0.5, None, 2.25, -1.0, 0.0],
        "day": [dt.date(2008, 1, 5), None, dt.date(2006, 3, 1), dt.date(2010, 7, 31),
                dt.date(2007, 1, 1)],
        "at": pa.array([dt.datetime(2008, 1, 1, 23, 30), None, None,
                        dt.datetime(2009, 12, 31), dt.datetime(2006, 6, 6)],
                       pa.timestamp("us", tz="UTC")),
        "nested": [{"a": 1}, None, {"a": 2}, None, {"a": 3}],
    })
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=2)
    data = out.getvalue()
    footer = parquet_footer.parse(data[-8 - parquet_footer.footer_length(data[-8:]):-8])
    expected = pq.ParquetFile(io.BytesIO(data)).metadata
    assert footer.rows == expected.num_rows == 5
    assert footer.columns == ["label", "count", "ratio", "day", "at", "nested"]
    assert footer.kinds == {"label": "text", "count": "number", "ratio": "number",
                            "day": "date", "at": "timestamp-micros"}
    assert len(footer.row_groups) == expected.num_row_groups == 3
    for index, (rows, stats) in enumerate(footer.row_groups):
        group = expected.row_group(index)
        assert rows == group.num_rows
        for column in range(5):
            theirs, ours = group.column(column).statistics, stats[table.column_names[column]]
            assert ours.null_count == theirs.null_count
            if theirs.has_min_max:
                low, high = theirs.min, theirs.max
                if isinstance(low, dt.datetime):  # ours: the instant's day
                    low, high = low.date(), high.date()
                assert (ours.min_value, ours.max_value) == (low, high)
            else:
                assert ours.min_value is ours.max_value is None


def test_a_footer_longer_than_the_first_read_takes_one_more_ranged_get():
    frame = pd.DataFrame({f"c{i}": range(40) for i in range(120)})
    data = parquet(frame, row_group_size=4)
    assert parquet_footer.footer_length(data[-8:]) > contract.FIRST_RUN_RANGE_BYTES
    s3 = StubS3({"churn/wide.parquet": data})
    answer = first_run.check(_event(spec={**SPEC, "features": ["c1"], "target": "c0",
                                           "stratified": False}), s3)
    # Read, all columns there, nothing to refuse.
    assert unprofiled(answer) == "the footer of 1 Parquet file"
    assert [r for _, r in s3.ranges] == [f"bytes=-{contract.FIRST_RUN_RANGE_BYTES}",
                                         f"bytes=-{parquet_footer.footer_length(data[-8:]) + 8}"]
    assert s3.read == []


def test_a_group_column_missing_from_parquet_data_is_refused_before_any_job(churn):
    data = parquet(churn.drop(columns=["customer_id"]))
    s3 = StubS3({"churn/part-0.parquet": data, "churn/part-1.parquet": parquet(churn)})
    with pytest.raises(InvalidPipelineInput) as error:
        first_run.check(_event(group_column="customer_id"), s3)
    # The input's key, and the columns the data has.
    assert str(error.value) == (
        "input key 'cross_validation.group_column': \"customer_id\" is not a column of "
        f"part-0.parquet (allowed: {', '.join(c for c in churn.columns if c != 'customer_id')})")
    assert s3.read == [] and len(s3.ranges) == 2  # one footer read each, no data


def test_a_column_missing_from_a_large_csv_files_header_is_refused_reading_its_head_only(churn):
    text = SAMPLE.read_text()
    header, body = text.split("\n", 1)
    # Together more than the read budget.
    large = (header + "\n" + body * (contract.FIRST_RUN_PROFILE_MAX_BYTES // len(body) // 2 + 1)
             ).encode()
    renamed = large.replace(b"account_length", b"acct_len", 1)
    s3 = StubS3({"churn/a.csv": large, "churn/b.csv": renamed})
    assert len(large) + len(renamed) > contract.FIRST_RUN_PROFILE_MAX_BYTES
    with pytest.raises(InvalidPipelineInput) as error:
        first_run.check(_event(), s3)
    assert "b.csv: columns missing: account_length" in str(error.value)
    assert "a.csv" not in str(error.value)
    assert s3.read == []
    assert sorted(s3.ranges) == [(f"churn/{n}.csv", f"bytes=0-{contract.FIRST_RUN_RANGE_BYTES - 1}")
                                 for n in "ab"]
    # With every column there, the class counts are left to the split job.
    read = unprofiled(first_run.check(_event(), StubS3({"churn/a.csv": large,
                                                        "churn/b.csv": large})))
    assert read.startswith("the header of 2 CSV files (")
    assert read.endswith(" MiB): more than the 16 MiB read budget")


def test_more_folds_than_parquet_statistics_leave_rows_for_are_refused(churn):
    """7 rows with a target (one without) in two row groups whose statistics show both classes:
    the smallest class has at most 3 rows, whatever they are."""
    rows = pd.concat([churn[churn.churn == "yes"].head(2), churn[churn.churn == "no"].head(6)])
    rows.iloc[3, rows.columns.get_loc("churn")] = None
    s3 = StubS3({"churn/small.parquet": parquet(rows, row_group_size=4)})
    with pytest.raises(InvalidPipelineInput) as error:
        first_run.check(_event(folds=4), s3)
    message = str(error.value)
    assert message.startswith("input key 'cross_validation.folds': 4 is more than the data at "
                              f"s3://{RAW}/churn/ allows: its Parquet files' statistics allow "
                              "at most 7 rows with a 'churn' and show 2 classes (no, yes)")
    assert message.endswith("(allowed: 2 .. 3)")
    # 3 folds may fit: the statistics cannot count the classes, the split job does.
    assert unprofiled(first_run.check(_event(folds=3), s3)) == "the footer of 1 Parquet file"


def test_a_regression_refuses_more_folds_than_rows_with_a_target(churn):
    spec = {**SPEC, "stratified": False}
    s3 = StubS3({"churn/tiny.parquet": parquet(churn.head(3))})
    with pytest.raises(InvalidPipelineInput) as error:
        first_run.check(_event(folds=4, spec=spec), s3)
    assert "its Parquet files hold at most 3 rows with a 'churn' (allowed: 2 .. 3)" \
        in str(error.value)
