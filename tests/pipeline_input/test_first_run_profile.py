"""Cross-validation's first run: the validator's own profile of small CSV data is the one the
split job writes for the same files, and it reads only what it may and can (small CSV in the
raw bucket; another bucket or a spec from S3 answer no profile, and so does what cannot be
read: test_first_run_bounded_reads.py has larger CSV and Parquet data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import load_stage_config
from ml_constructs.pipeline_defaults import first_run_profile_spec
from runtime_scripts import contract
from runtime_scripts.common.manifest import USE_CASE_ENV
from runtime_scripts.common.resampling import split as split_job
from runtime_scripts.pipeline_input import InvalidPipelineInput
from runtime_scripts.pipeline_input import first_run_profile as first_run
from runtime_scripts.pipeline_input.handler import handler
from tests.pipeline_input.s3_stub import StubS3, unprofiled

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "runtime_scripts" / "use_cases" / "churn" / "sample_data" / "local_run" / \
    "mlc_churn_train.csv"
SPEC = first_run_profile_spec(load_stage_config("dev").use_case("churn"))
RAW = "raw-bucket"


def _awkward_csv() -> str:
    """60 sample rows with what the split job leaves out or reads specially: exact duplicates,
    a blank and a whitespace-only target, leading blanks, a blank line; 'customer_id' grouped."""
    lines = SAMPLE.read_text().splitlines()
    header, rows = lines[0], lines[1:61]
    target = header.split(",").index("churn")

    def with_target(row: str, value: str) -> str:
        cells = row.split(",")
        cells[target] = value
        return ",".join(cells)

    rows += [rows[3], rows[3], with_target(rows[5], ""), with_target(rows[6], "  "),
             with_target(rows[7], " yes"), ""]
    return "\n".join([header, *rows]) + "\n"


def test_the_first_run_profile_is_the_split_jobs(tmp_path, monkeypatch):
    text = _awkward_csv()
    monkeypatch.setenv(USE_CASE_ENV, "churn")
    paths = contract.MlPaths(tmp_path)
    raw = paths.processing_input(contract.PROCESSING_INPUT_RAW)
    raw.mkdir(parents=True)
    (raw / "data.csv").write_text(text)
    written = split_job.split(paths, 2, 1, "customer_id", "s3://raw-bucket/churn/")["profile"]
    ours = first_run.csv_profile({"churn/data.csv": text}, SPEC, "customer_id",
                                 "s3://raw-bucket/churn/")
    assert ours == written
    assert ours["rows"] == 61 and ours["minority_count"] < 61  # 3 left out, " yes" kept


def test_a_spec_column_missing_from_the_data_is_refused_in_the_split_jobs_words():
    text = _awkward_csv().replace("account_length", "acct_len", 1)
    with pytest.raises(InvalidPipelineInput) as error:
        first_run.csv_profile({"churn/part-1.csv": text}, SPEC, None, "s3://raw-bucket/churn/")
    assert str(error.value).startswith(
        "input key 'data.input_s3_uri': does not match dataset spec 'mlc_churn': part-1.csv: "
        "columns missing: account_length")


def _event(**changes) -> dict:
    return {"check": first_run.CHECK, "data_s3_uri": f"s3://{RAW}/churn/",
            "dataset_spec_s3_uri": None, "group_column": None, "folds": 5, "spec": SPEC,
            "readable_bucket": RAW, **changes}


def test_small_csv_in_the_raw_bucket_is_profiled_hidden_and_other_files_skipped():
    text = _awkward_csv().encode()
    s3 = StubS3({"churn/a.csv": text, "churn/.staging/b.csv": b"x", "churn/README.md": b"x",
                 "churn/": b""})
    answer = first_run.check(_event(), s3)
    assert s3.read == ["churn/a.csv"]
    assert answer["document"]["class_counts"] == \
        first_run.csv_profile({"a": text.decode()}, SPEC, None, "")["class_counts"]
    assert json.loads(json.dumps(answer)) == answer  # a Lambda answer


@pytest.mark.parametrize(("objects", "changes", "read"), [
    ({"churn/a.csv": b"x" * (contract.FIRST_RUN_PROFILE_MAX_BYTES + 1)}, {},
     "the header of 1 CSV file (16.0 MiB): more than the 16 MiB read budget"),
    ({"churn/a.parquet": b"PAR1 not a footer PAR1"}, {}, "the footer of 1 Parquet file"),
    ({f"churn/{i}.csv": b"churn\nyes\n" for i in range(contract.FIRST_RUN_PROFILE_MAX_FILES + 1)},
     {}, "nothing: no data files, or more than 100 objects under the prefix"),
    ({"churn/a.csv": b"churn\nyes\n"}, {"readable_bucket": "another-bucket"},
     "nothing: the validator reads only bucket another-bucket"),
    ({"churn/a.csv": b"churn\nyes\n"}, {"dataset_spec_s3_uri": f"s3://{RAW}/specs/x.json"},
     "nothing: the columns are those of the input's dataset spec, which the split job reads"),
    ({"churn/a.csv": b"\xff\xfe"}, {},
     "the header of 1 CSV file (0.0 MiB): a file is not UTF-8 text"),
    # A cell over the csv module's field limit (128 KiB), which pandas would read.
    ({"churn/a.csv": SAMPLE.read_bytes().split(b"\n")[0] + b'\n"' + b"x" * (2**17 + 1) + b'"\n'},
     {}, "the header of 1 CSV file (0.1 MiB): a file is not CSV the csv module reads (field "
         "larger than field limit"),
], ids=["too-large-without-a-header", "not-parquet", "too-many-files", "another-bucket",
        "spec-from-s3", "not-utf8", "not-csv"])
def test_data_it_cannot_or_may_not_read_answers_no_profile_and_says_what_it_read(objects,
                                                                                changes, read):
    assert unprofiled(first_run.check(_event(**changes), StubS3(objects))).startswith(read)


def test_the_handler_routes_the_check(monkeypatch):
    seen = {}
    monkeypatch.setattr(first_run, "check", lambda event: seen.setdefault("event", event))
    handler(_event())
    assert seen["event"]["check"] == first_run.CHECK
