"""A first run's exact read of CSV data beyond what used to be read whole (2 MiB), within the
read budget (contract.FIRST_RUN_PROFILE_MAX_BYTES, _SECONDS): streamed line by line, every row
counted as the split jobs count them, so folds the groups or rows cannot hold and windows that
do not fit are refused before any job; a read that runs out of time falls back to the headers
and says so; every answer says whether its check was exact."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from config import UseCaseConfig, load_stage_config
from ml_constructs.pipeline_defaults import first_run_profile_spec, first_run_time_spec
from runtime_scripts import contract
from runtime_scripts.pipeline_input import InvalidPipelineInput, data_reads
from runtime_scripts.pipeline_input import first_run_profile as folds_check
from runtime_scripts.pipeline_input import first_run_windows as windows_check
from tests.pipeline_input.s3_stub import StubS3, unprofiled
from tests.pipeline_input.test_backtest import backtest

USE_CASES = Path(__file__).resolve().parents[2] / "runtime_scripts" / "use_cases"
CHURN = USE_CASES / "churn" / "sample_data" / "mlc_churn.csv"
AMES = USE_CASES / "ames" / "sample_data" / "local_run" / "ames_train.csv"
CHURN_SPEC = first_run_profile_spec(load_stage_config("dev").use_case("churn"))
AMES_SPEC = first_run_time_spec(UseCaseConfig(name="ames"))
OLD_WHOLE_READ_MAX = 2 * 2**20
RAW = "raw-bucket"


def _repeated(path: Path, copies: int) -> bytes:
    header, body = path.read_text().split("\n", 1)
    return (header + "\n" + body * copies).encode()


def _folds_event(**changes) -> dict:
    return {"check": folds_check.CHECK, "data_s3_uri": f"s3://{RAW}/churn/",
            "dataset_spec_s3_uri": None, "group_column": None, "folds": 5, "spec": CHURN_SPEC,
            "readable_bucket": RAW, **changes}


def _windows_event(**changes) -> dict:
    return {"check": windows_check.CHECK, "data_s3_uri": f"s3://{RAW}/ames/",
            "dataset_spec_s3_uri": None, "time": None, "spec": AMES_SPEC,
            "readable_bucket": RAW, **changes}


def test_csv_past_the_old_whole_read_is_profiled_exactly_every_duplicate_found():
    """7 copies of churn's rows in two files (3.3 MiB): the duplicates drop out across files
    and chunks, so the profile is the one copy's, and the answer says it was exact."""
    data = _repeated(CHURN, 7)
    assert OLD_WHOLE_READ_MAX < len(data) <= contract.FIRST_RUN_PROFILE_MAX_BYTES
    cut = data.index(b"\n", len(data) // 2) + 1
    header = data[:data.index(b"\n") + 1]
    s3 = StubS3({"churn/a.csv": data[:cut], "churn/b.csv": header + data[cut:]})
    answer = folds_check.check(_folds_event(), s3)
    one_copy = folds_check.csv_profile({"x.csv": CHURN.read_text()}, CHURN_SPEC, None,
                                       f"s3://{RAW}/churn/")
    assert answer["document"] == one_copy
    assert answer["extent"]["exact"] is True
    assert answer["extent"]["read"].startswith("every row of 2 CSV files (3.")
    assert sorted(s3.read) == ["churn/a.csv", "churn/b.csv"] and s3.ranges == []


def _grouped(groups: int, rows: int = 40) -> bytes:
    """churn's first rows with `groups` customers among them."""
    frame = list(csv.reader(io.StringIO(CHURN.read_text())))
    at = frame[0].index("customer_id")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(frame[0])
    for i, row in enumerate(frame[1:rows + 1]):
        writer.writerow([*row[:at], f"c{i % groups}", *row[at + 1:]])
    return out.getvalue().encode()


def test_more_folds_than_groups_are_refused_in_the_first_state_with_the_allowed_values():
    s3 = StubS3({"churn/a.csv": _grouped(3)})
    with pytest.raises(InvalidPipelineInput) as refused:
        folds_check.check(_folds_event(group_column="customer_id", folds=5), s3)
    assert str(refused.value) == (
        "input key 'cross_validation.folds': 5 is more than the 3 groups of the data: each "
        "group is held out whole in one fold (allowed: 2 .. 3)")
    assert folds_check.check(_folds_event(group_column="customer_id", folds=3), s3)[
        "document"]["groups"] == 3


def test_a_group_column_missing_from_the_data_names_its_key_and_the_datas_columns():
    with pytest.raises(InvalidPipelineInput) as refused:
        folds_check.check(_folds_event(group_column="household"),
                          StubS3({"churn/a.csv": _grouped(3)}))
    assert str(refused.value).startswith(
        "input key 'cross_validation.group_column': \"household\" is not a column of a.csv "
        "(allowed: customer_id, state, account_length, ")


def test_a_regression_refuses_more_folds_than_rows_and_data_without_targets():
    spec = {**CHURN_SPEC, "stratified": False}
    three = b"".join(CHURN.read_bytes().splitlines(keepends=True)[:4])
    with pytest.raises(InvalidPipelineInput) as refused:
        folds_check.check(_folds_event(spec=spec, folds=4), StubS3({"churn/a.csv": three}))
    assert str(refused.value) == (
        "input key 'cross_validation.folds': 4 is more than the 3 rows of the data: every "
        "fold must hold out a row (allowed: 2 .. 3)")
    header = CHURN.read_bytes().split(b"\n")[0] + b"\n"
    with pytest.raises(InvalidPipelineInput, match=r"input key 'data.input_s3_uri': s3://"
                                                   r"raw-bucket/churn/ has no rows with a "
                                                   r"'churn' value"):
        folds_check.check(_folds_event(), StubS3({"churn/a.csv": header}))


def test_a_read_past_its_time_budget_falls_back_to_the_headers_and_says_so(monkeypatch):
    monkeypatch.setattr(contract, "FIRST_RUN_PROFILE_SECONDS", 0.0)
    data = _repeated(CHURN, 2)
    read = unprofiled(folds_check.check(_folds_event(), StubS3({"churn/a.csv": data})))
    assert read.startswith("the header of 1 CSV file (0.9 MiB): the 0 s read budget ran out "
                           "after 0.2 MiB")
    # The headers still refuse a column the split job needs.
    renamed = data.replace(b"account_length", b"acct_len", 1)
    with pytest.raises(InvalidPipelineInput, match="a.csv: columns missing: account_length"):
        folds_check.check(_folds_event(), StubS3({"churn/a.csv": renamed}))


def test_streamed_lines_read_as_the_whole_text_across_chunk_boundaries():
    """The first chunk ends inside a quoted line break's cell, the second inside a two-byte
    character."""
    chunk = data_reads._CHUNK_BYTES
    head = "a,b\n" + "x,1\n" * ((chunk - 8) // 4)  # ends 4 bytes before the first boundary
    quoted = '"two\nlines",ü\n'
    text = head + quoted + "é" * (chunk // 2) + ",2\r\n" + "last,3"
    body = text.encode()
    assert len(head) < chunk < len(head) + len('"two\nlines"')
    assert (2 * chunk - len((head + quoted).encode())) % 2 == 1  # mid-character
    s3 = StubS3({"k.csv": body})
    streamed = list(csv.reader(data_reads.csv_lines(s3, RAW, "k.csv", data_reads.ReadBudget())))
    assert streamed == list(csv.reader(io.StringIO(text, newline="")))
    assert ["two\nlines", "ü"] in streamed and streamed[-1] == ["last", "3"]


def test_a_backtests_large_csv_is_profiled_every_period_and_refuses_windows_that_do_not_fit():
    data = _repeated(AMES, 3)
    assert OLD_WHOLE_READ_MAX < len(data) <= contract.FIRST_RUN_PROFILE_MAX_BYTES
    s3 = StubS3({"ames/sales.csv": data})
    answer = windows_check.check(_windows_event(), s3)
    once = windows_check.check(_windows_event(), StubS3({"ames/sales.csv": AMES.read_bytes()}))
    per_period = answer["document"]["time"]["rows_per_period"]
    assert per_period == {p: 3 * n for p, n in once["document"]["time"]["rows_per_period"].items()}
    assert answer["extent"]["exact"] is True
    listing = s3.list_objects_v2(Bucket=RAW, Prefix="ames/", MaxKeys=100)
    profile = {"profile": answer["document"], "prefix": "ames/", "listing": listing}
    with pytest.raises(InvalidPipelineInput) as refused:
        backtest({"backtest": {"windows": 9}}, data=profile)
    assert "input key 'backtest.windows'" in str(refused.value)
    assert "(allowed: 2 .. 8)" in str(refused.value)
