"""A backtest's first run on a data location: the validator's own time profile of small CSV
data is the one the window split writes for the same files; Parquet footers bound the periods,
so windows that cannot fit between the bounds are refused; a missing time or target column is
refused in the split job's words; what is not read as the job would read it answers no
profile (the split job checks)."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pandas as pd
import pytest

from config import UseCaseConfig
from ml_constructs.pipeline_defaults import first_run_time_spec
from runtime_scripts import contract
from runtime_scripts.common.resampling import window_split
from runtime_scripts.common.tabular.dataset import DatasetSpec
from runtime_scripts.common.tabular.time_spec import TimeSpec
from runtime_scripts.pipeline_input import InvalidPipelineInput
from runtime_scripts.pipeline_input import first_run_windows as first_run
from tests.pipeline_input.s3_stub import StubS3, unprofiled
from tests.pipeline_input.test_backtest import RAW, backtest

AMES = Path(__file__).resolve().parents[2] / "runtime_scripts" / "use_cases" / "ames"
SAMPLE = AMES / "sample_data" / "local_run" / "ames_train.csv"
SPEC = first_run_time_spec(UseCaseConfig(name="ames"))


@pytest.fixture(scope="module")
def ames() -> pd.DataFrame:
    return pd.read_csv(SAMPLE, dtype=str, keep_default_na=False, na_values=[""])


def _event(**changes) -> dict:
    return {"check": first_run.CHECK, "data_s3_uri": f"s3://{RAW}/ames/",
            "dataset_spec_s3_uri": None, "time": None, "spec": SPEC, "readable_bucket": RAW,
            **changes}


def _split_jobs_profile(tmp_path: Path, name: str, text: str, time: dict | None = None) -> dict:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / name).write_text(text)
    spec = DatasetSpec.load(AMES / "dataset.json")
    if time:
        spec = dataclasses.replace(spec, time=TimeSpec.from_dict(time))
    data, _ = window_split.read_rows(raw, spec)
    counts = data[window_split.PERIOD_COLUMN].value_counts().to_dict()
    return window_split.data_profile(raw, spec, counts, len(data))


def _data(s3: StubS3, document: dict) -> dict:
    """What the state machine hands the second check: the profile and its own listing."""
    return {"profile": document, "prefix": "ames/",
            "listing": s3.list_objects_v2(Bucket=RAW, Prefix="ames/", MaxKeys=100)}


def test_the_first_run_profile_of_small_csv_is_the_window_splits(tmp_path):
    lines = SAMPLE.read_text().splitlines()
    target = lines[0].split(",").index("Sale_Price")
    no_target = lines[5].split(",")
    no_target[target] = ""
    text = "\n".join([*lines, ",".join(no_target), ""]) + "\n"  # and a blank line
    s3 = StubS3({"ames/ames_train.csv": text.encode(), "ames/": b""})
    ours = first_run.check(_event(), s3)["document"]
    assert ours == _split_jobs_profile(tmp_path, "ames_train.csv", text)
    assert (ours["time"]["first"], ours["time"]["last"]) == ("2006-01", "2010-07")
    # Against it, the first state's own rules: 9 windows of 6 months do not fit, 8 do.
    refused = pytest.raises(InvalidPipelineInput, backtest, {"backtest": {"windows": 9}},
                            data=_data(s3, ours))
    assert "input key 'backtest.windows'" in str(refused.value)
    assert "(allowed: 2 .. 8)" in str(refused.value)
    assert backtest({"backtest": {"windows": 8}}, data=_data(s3, ours))


def test_a_date_column_is_read_as_the_window_split_reads_it_its_utc_day(tmp_path):
    rows = ["2008-01-31T23:30:00-02:00", "2008-02-29", "2008-03-01 00:15:00+01:00",
            "2008-05-05T10:00:00Z", "2008-06-30T08:00:00.123456"]
    text = "sold_at,Sale_Price\n" + "".join(f"{r},{100 + i}\n" for i, r in enumerate(rows))
    time = {"column": "sold_at", "unit": "month"}
    ours = first_run.check(_event(time=time), StubS3({"ames/sales.csv": text.encode()}))
    assert ours["document"] == _split_jobs_profile(tmp_path, "sales.csv", text, time)
    assert ours["document"]["time"]["rows_per_period"] == {
        "2008-02": 3, "2008-05": 1, "2008-06": 1}  # 23:30 at -02:00 and 00:15 at +01:00 too


def test_a_time_the_job_may_read_otherwise_answers_no_profile():
    text = "sold_at,Sale_Price\n2008-01-31,1\n31/01/2008,2\n"
    assert unprofiled(first_run.check(_event(time={"column": "sold_at"}),
                                      StubS3({"ames/s.csv": text.encode()}))) == \
        "the header of 1 CSV file (0.0 MiB): a time this check does not read as the window " \
        "split would, or an empty file"


def test_parquet_statistics_bound_the_periods_and_refuse_windows_beyond_them(ames):
    out = io.BytesIO()
    frame = ames.astype({"Year_Sold": int, "Mo_Sold": int})
    frame.to_parquet(out, index=False, row_group_size=1000)
    s3 = StubS3({"ames/sales.parquet": out.getvalue()})
    document = first_run.check(_event(), s3)["document"]
    # Year and month bounded apart: 2006-01 .. 2010-12 holds every sale (the last is 2010-07).
    assert (document["time"]["first"], document["time"]["last"]) == ("2006-01", "2010-12")
    assert document["time"]["rows_per_period"] is None and s3.read == []
    with pytest.raises(InvalidPipelineInput) as refused:
        backtest({"backtest": {"windows": 30}}, data=_data(s3, document))
    assert "input key 'backtest.windows'" in str(refused.value)
    assert "(the data's time range as the Parquet files' column statistics bound it)" \
        in str(refused.value)
    assert backtest({"backtest": {"windows": 8}}, data=_data(s3, document))  # fits the data


def test_a_parquet_date_column_gives_the_exact_range_and_text_dates_none():
    frame = pd.DataFrame({"sold_at": pd.to_datetime(["2008-03-04", "2009-11-30", None]).date,
                          "Sale_Price": [1.0, 2.0, 3.0]})
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    time = {"column": "sold_at", "unit": "month"}
    document = first_run.check(_event(time=time), StubS3({"ames/d.parquet": out.getvalue()}))
    assert (document["document"]["time"]["first"], document["document"]["time"]["last"]) == \
        ("2008-03", "2009-11")
    text = io.BytesIO()
    frame.astype({"sold_at": str}).to_parquet(text, index=False)
    # Statistics order the text, not the time.
    assert unprofiled(first_run.check(_event(time=time),
                                      StubS3({"ames/d.parquet": text.getvalue()}))) == \
        "the footer of 1 Parquet file"


def test_a_time_column_missing_from_parquet_or_a_large_csv_header_is_refused(ames):
    out = io.BytesIO()
    ames.drop(columns=["Mo_Sold"]).to_parquet(out, index=False)
    with pytest.raises(InvalidPipelineInput) as refused:
        first_run.check(_event(), StubS3({"ames/a.parquet": out.getvalue()}))
    assert str(refused.value) == (
        "input key 'data.raw_s3_uri': a.parquet: columns missing: Mo_Sold (the dataset spec's "
        "time columns 'Year_Sold', 'Mo_Sold' and target 'Sale_Price')")
    sample = SAMPLE.read_bytes().replace(b"Sale_Price", b"Price", 1)
    large = sample * (contract.FIRST_RUN_PROFILE_MAX_BYTES // len(sample) + 1)  # over budget
    s3 = StubS3({"ames/big.csv": large})
    with pytest.raises(InvalidPipelineInput, match="big.csv: columns missing: Sale_Price"):
        first_run.check(_event(), s3)
    assert s3.read == [] and len(s3.ranges) == 1


def test_a_spec_of_the_use_cases_own_format_is_profiled_by_its_manifests_time_every_row_kept(
        tmp_path):
    # demand: transactions counted per day (no target column), cut by their `date`.
    spec = first_run_time_spec(UseCaseConfig(name="demand"))
    assert spec["target"] is None and spec["time"] == {"column": "date", "unit": "day"}
    text = ("line_id,date,name\n1,2015-01-01,hawaiian\n2,2015-01-01,\n3,2015-01-03,thai\n")
    s3 = StubS3({"demand/sales.csv": text.encode()})
    ours = first_run.check(_event(spec=spec, data_s3_uri=f"s3://{RAW}/demand/"), s3)["document"]
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "sales.csv").write_text(text)
    own = window_split.RowsInTime("pizzaplace", TimeSpec.from_dict(spec["time"]), None, {})
    data, _ = window_split.read_rows(raw, own)
    counts = data[window_split.PERIOD_COLUMN].value_counts().to_dict()
    assert ours == window_split.data_profile(raw, own, counts, len(data))
    assert ours["time"]["rows_per_period"] == {"2015-01-01": 2, "2015-01-03": 1}
    missing = StubS3({"demand/sales.csv": b"line_id,day,name\n1,2015-01-01,hawaiian\n"})
    with pytest.raises(InvalidPipelineInput, match=r"columns missing: date \(the dataset "
                                                   r"spec's time column 'date'\)"):
        first_run.check(_event(spec=spec, data_s3_uri=f"s3://{RAW}/demand/"), missing)
