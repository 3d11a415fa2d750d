"""`process preprocess` on the real sample data, on reshaped copies of it, and on broken inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runtime_scripts import contract
from runtime_scripts.common.tabular.dataset import DatasetSpec
from runtime_scripts.common.tabular.transform import FittedTransform
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN
from tests.runtime.conftest import REPO, SAMPLE, Pipeline, ok, run_entry

CHURN_SPEC = CHURN.path(CHURN.dataset_spec)

SPEC = DatasetSpec.load(CHURN_SPEC)
SPLITS = (contract.PROCESSING_OUTPUT_TRAIN, contract.PROCESSING_OUTPUT_VALIDATION,
          contract.PROCESSING_OUTPUT_TEST)


def read_split(ml: contract.MlPaths, name: str) -> np.ndarray:
    path = ml.processing_output(name) / contract.SPLIT_FILE
    return pd.read_csv(path, header=None, dtype=np.float32).to_numpy()


def preprocess_outputs(root: Path) -> dict[str, bytes]:
    ml = contract.MlPaths(root)
    return {f"{name}/{p.name}": p.read_bytes()
            for name in (*SPLITS, "baseline", "transform")
            for p in sorted(ml.processing_output(name).iterdir())}


def test_splits_are_stratified_label_first_and_sized_by_the_spec(pipeline: Pipeline) -> None:
    summary, transform_dir = pipeline.summary, pipeline.ml.processing_output("transform")
    transform = FittedTransform.load(transform_dir / contract.TRANSFORM_FILE)
    assert summary["rows_read"] == 5000 and summary["duplicates_dropped"] == 0
    rates = []
    for name in SPLITS:
        data = read_split(pipeline.ml, name)
        assert data.shape == (summary["splits"][name]["rows"], transform.width + 1)
        assert set(np.unique(data[:, 0])) == {0.0, 1.0}
        rates.append(data[:, 0].mean())
    assert sum(s["rows"] for s in summary["splits"].values()) == summary["rows_used"] == 5000
    assert summary["splits"]["train"]["rows"] == 3500
    assert max(rates) - min(rates) < 0.005  # stratified: the churn rate is the same everywhere
    # Standardised on train only: train numerics have mean ~0 and variance ~1.
    train = read_split(pipeline.ml, "train")[:, 1 : 1 + len(transform.numeric)]
    assert np.allclose(train.mean(axis=0), 0, atol=1e-3)
    assert np.allclose(train.std(axis=0), 1, atol=1e-3)


def test_side_outputs_hold_raw_columns_and_the_schema(pipeline: Pipeline) -> None:
    ml = pipeline.ml
    baseline = pd.read_csv(ml.processing_output("baseline") / contract.BASELINE_FILE)
    assert list(baseline.columns) == SPEC.feature_names  # no target, no id columns
    assert len(baseline) == SPEC.baseline_rows
    raw_test = pd.read_csv(ml.processing_output("test") / contract.RAW_TEST_FILE)
    assert list(raw_test.columns) == [*SPEC.feature_names, SPEC.target]
    assert len(raw_test) == pipeline.summary["splits"]["test"]["rows"]
    schema = json.loads((ml.processing_output("transform") / contract.FEATURE_SCHEMA_FILE)
                        .read_text())
    assert schema == {"input_columns": SPEC.feature_names, "features": SPEC.features,
                      "target": "churn", "positive_label": "yes", "negative_label": "no",
                      "id_columns": ["customer_id"],
                      # the training file's own layout without the target, for batch input
                      "record_columns": ["customer_id", *SPEC.feature_names]}
    leftovers = [p.name for p in (ml.processing / "output").iterdir() if p.name.startswith(".")]
    assert not leftovers, "staging directories must not survive a successful run"


def test_encoded_test_split_equals_the_transform_applied_to_raw_rows(pipeline: Pipeline) -> None:
    """What the server will compute from raw rows is bit-for-bit what the model was scored on."""
    ml = pipeline.ml
    transform = FittedTransform.load(ml.processing_output("transform") / contract.TRANSFORM_FILE)
    raw = pd.read_csv(ml.processing_output("test") / contract.RAW_TEST_FILE, dtype=str)
    assert np.array_equal(transform.transform_frame(raw), read_split(ml, "test")[:, 1:])


def test_same_seed_gives_identical_outputs(pipeline: Pipeline, tmp_path: Path) -> None:
    raw = contract.MlPaths(tmp_path).processing_input("raw")
    raw.mkdir(parents=True)
    (raw / "churn.csv").symlink_to(SAMPLE)
    ok(run_entry("process", "preprocess", root=tmp_path))
    assert preprocess_outputs(tmp_path) == preprocess_outputs(pipeline.root)


def test_many_files_parquet_and_duplicates(pipeline: Pipeline, tmp_path: Path) -> None:
    """CSV + nested Parquet + CSV with duplicates appended: same splits as the single file."""
    data = pd.read_csv(SAMPLE)
    raw = contract.MlPaths(tmp_path).processing_input("raw")
    (raw / "part-2").mkdir(parents=True)
    data.iloc[:2000].to_csv(raw / "part-1.csv", index=False)
    data.iloc[2000:4000].to_parquet(raw / "part-2" / "rows.parquet", index=False)  # typed columns
    dupes = data.iloc[100:125].assign(customer_id=np.arange(90_000, 90_025))  # new ids, same rows
    pd.concat([data.iloc[4000:], dupes]).to_csv(raw / "part-3.csv", index=False)
    result = ok(run_entry("process", "preprocess", root=tmp_path))
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["input_files"] == 3 and summary["rows_read"] == 5025
    assert summary["duplicates_dropped"] == 25
    assert "dropped 25 duplicate rows" in result.stderr
    for name in SPLITS:
        path = Path("processing/output") / name / contract.SPLIT_FILE
        assert (tmp_path / path).read_bytes() == (pipeline.root / path).read_bytes()


def _small() -> pd.DataFrame:
    return pd.read_csv(SAMPLE, nrows=300, dtype=str, keep_default_na=False)


def _missing_target(raw: Path) -> None:
    _small().drop(columns=["churn"]).to_csv(raw / "data.csv", index=False)


def _missing_feature(raw: Path) -> None:
    _small().drop(columns=["state", "total_day_calls"]).to_csv(raw / "data.csv", index=False)


def _empty_file(raw: Path) -> None:
    (raw / "data.csv").write_bytes(b"")


def _header_only(raw: Path) -> None:
    _small().iloc[:0].to_csv(raw / "data.csv", index=False)


def _wrong_types(raw: Path) -> None:
    frame = _small()
    frame.loc[3, "total_day_minutes"] = "lots"
    frame.loc[7, "account_length"] = "n/a"
    frame.to_csv(raw / "data.csv", index=False)


def _all_null_column(raw: Path) -> None:
    _small().assign(total_eve_calls="").to_csv(raw / "data.csv", index=False)


def _one_class(raw: Path) -> None:
    _small().assign(churn="no").to_csv(raw / "data.csv", index=False)


def _unnamed_label(raw: Path) -> None:
    frame = _small()
    frame.loc[5, "churn"] = "maybe"  # neither of the two classes the spec names
    frame.to_csv(raw / "data.csv", index=False)


def _no_files(raw: Path) -> None:
    (raw / "README.txt").write_text("not data")


@pytest.mark.parametrize(("make", "expected"), [
    (_missing_target, ["target column 'churn' is missing"]),
    (_missing_feature, ["feature columns missing: state, total_day_calls"]),
    (_empty_file, ["data.csv is empty"]),
    (_header_only, ["hold no data rows"]),
    (_wrong_types, ["non-numeric", "account_length (1 rows, e.g. 'n/a': must be a number)",
                    "total_day_minutes (1 rows, e.g. 'lots': must be a number)"]),
    (_all_null_column, ["no values at all: total_eve_calls"]),
    (_one_class, ["never takes the label 'yes'"]),
    (_unnamed_label, ["target 'churn' has values the spec does not name: ['maybe'] "
                      "(positive_label 'yes', negative_label 'no')"]),
    (_no_files, ["no csv/parquet/pq files under"]),
], ids=lambda v: v.__name__.strip("_") if callable(v) else "")
def test_bad_input_fails_clearly_and_writes_nothing(make, expected: list[str],
                                                    tmp_path: Path) -> None:
    ml = contract.MlPaths(tmp_path)
    raw = ml.processing_input("raw")
    raw.mkdir(parents=True)
    make(raw)
    result = run_entry("process", "preprocess", root=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = ml.exit_message.read_text()
    assert "\n" not in message and message.startswith("preprocess failed: ")
    for text in expected:
        assert text in message and text in result.stderr
    out = ml.processing / "output"
    assert not out.exists() or not any(out.iterdir()), "a failed run must leave no output"


def _config_channel(root: Path, specs: dict[str, dict]) -> None:
    ml = contract.MlPaths(root)
    raw = ml.processing_input("raw")
    raw.mkdir(parents=True)
    _small().to_csv(raw / "data.csv", index=False)
    config = ml.processing_input(contract.PROCESSING_INPUT_CONFIG)
    config.mkdir(parents=True)
    for name, spec in specs.items():
        (config / name).write_text(json.dumps(spec))


def test_a_spec_from_s3_is_used_whatever_its_file_is_called(tmp_path: Path) -> None:
    """SageMaker stages s3://.../specs/subscriptions.json as config/subscriptions.json."""
    spec = {**json.loads((REPO / "runtime_scripts/use_cases/churn/dataset.json").read_text()),
            "name": "from-s3"}
    _config_channel(tmp_path, {"subscriptions.json": spec})
    result = ok(run_entry("process", "preprocess", root=tmp_path))
    assert json.loads(result.stdout.strip().splitlines()[-1])["dataset"] == "from-s3"


def test_two_specs_in_the_input_are_refused_by_name(tmp_path: Path) -> None:
    spec = json.loads((REPO / "runtime_scripts/use_cases/churn/dataset.json").read_text())
    _config_channel(tmp_path, {"a.json": spec, "b.json": spec})
    result = run_entry("process", "preprocess", root=tmp_path)
    assert result.returncode == 1
    assert "must hold one JSON file, found a.json, b.json" in \
        contract.MlPaths(tmp_path).exit_message.read_text()
