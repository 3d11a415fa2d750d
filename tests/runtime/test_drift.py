"""The drift check on real data: the baseline.csv preprocessing writes against captured traffic
built from held-out rows, undrifted (must pass) and drifted (must be flagged, by name); and the
data capture format parsed back into the raw rows that were sent."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runtime_scripts import contract
from runtime_scripts.common.tabular import capture, drift
from runtime_scripts.common.tabular.dataset import DatasetSpec
from runtime_scripts.use_cases import testing
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN

CHURN_SPEC = CHURN.path(CHURN.dataset_spec)

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "runtime_scripts" / "use_cases" / "churn" / "sample_data" / "mlc_churn.csv"
SPEC = DatasetSpec.load(CHURN_SPEC)
FEATURES = SPEC.feature_names
DRIFTED = {"total_day_minutes", "international_plan"}


@pytest.fixture(scope="module")
def preprocessed(tmp_path_factory) -> contract.MlPaths:
    """A real preprocessing run: its baseline.csv and the raw test split it held out."""
    root = tmp_path_factory.mktemp("drift-ml")
    ml = contract.MlPaths(root)
    raw = ml.processing_input(contract.PROCESSING_INPUT_RAW)
    raw.mkdir(parents=True)
    (raw / SAMPLE.name).symlink_to(SAMPLE)
    done = subprocess.run([str(REPO / "runtime_scripts" / "bin" / "process"), "preprocess"],
                          env={"ML_ROOT": str(root), "PYTHON": testing.job_python(),
                               "PATH": "/usr/bin:/bin", "ML_USE_CASE": "churn"},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return ml


@pytest.fixture(scope="module")
def baseline(preprocessed) -> pd.DataFrame:
    path = preprocessed.processing_output(contract.PROCESSING_OUTPUT_BASELINE)
    return pd.read_csv(path / contract.BASELINE_FILE, dtype=str)


@pytest.fixture(scope="module")
def held_out(preprocessed) -> pd.DataFrame:
    path = preprocessed.processing_output(contract.PROCESSING_OUTPUT_TEST)
    return pd.read_csv(path / contract.RAW_TEST_FILE, dtype=str)[FEATURES]


def drifted(rows: pd.DataFrame, reference: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """total_day_minutes shifted by 2 standard deviations, international_plan flipped for 40%."""
    out = rows.copy()
    shift = 2 * pd.to_numeric(reference["total_day_minutes"]).std()
    out["total_day_minutes"] = (pd.to_numeric(out["total_day_minutes"]) + shift).round(1)
    out["total_day_minutes"] = out["total_day_minutes"].astype(str)
    flip = np.random.default_rng(seed).random(len(out)) < 0.4
    out.loc[flip, "international_plan"] = out.loc[flip, "international_plan"].map(
        {"yes": "no", "no": "yes"})
    return out


def capture_line(rows: pd.DataFrame, *, encoding: str = "CSV",
                 content_type: str = "text/csv") -> str:
    """One data capture record, as SageMaker writes it, for a request carrying `rows`."""
    if content_type == "text/csv":
        body = rows.to_csv(header=False, index=False).rstrip("\n")
    else:
        body = json.dumps({"instances": rows.to_dict(orient="records")})
    data = base64.b64encode(body.encode()).decode() if encoding == "BASE64" else body
    return json.dumps({
        "captureData": {
            "endpointInput": {"observedContentType": content_type, "mode": "INPUT",
                              "data": data, "encoding": encoding},
            "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT",
                               "data": "\n".join("0.1,no" for _ in range(len(rows))),
                               "encoding": "CSV"},
        },
        "eventMetadata": {"eventId": "e5b0c4a2-5d8b-4f0e-9a51-0c1d2e3f4a5b",
                          "inferenceTime": "2026-11-20T13:45:00Z"},
        "eventVersion": "0",
    })


def write_capture(rows: pd.DataFrame, directory: Path, per_request: int = 3) -> None:
    """Captured traffic as an endpoint would leave it: hourly folders of .jsonl files."""
    hour = directory / "mlplatform-dev-churn" / "AllTraffic" / "2026" / "11" / "20" / "13"
    hour.mkdir(parents=True)
    lines = [capture_line(rows.iloc[i:i + per_request])
             for i in range(0, len(rows), per_request)]
    (hour / "13-45-00-000-e5b0c4a2.jsonl").write_text("\n".join(lines) + "\n")


# --- the statistics on real rows -----------------------------------------------------------------
def test_the_held_out_split_has_not_drifted_from_the_baseline(baseline, held_out):
    report = drift.compare(baseline, held_out, SPEC)
    assert report["drifted"] is False, report["drifted_features"]
    assert set(report["features"]) == set(FEATURES)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_samples_of_the_real_data_are_not_flagged(seed):
    data = pd.read_csv(SAMPLE, dtype=str)
    order = np.random.default_rng(seed).permutation(len(data))
    base, current = data.iloc[order[:2500]], data.iloc[order[2500:3000]]
    report = drift.compare(base, current, SPEC)
    assert report["drifted_features"] == []
    # High-cardinality 'state' has a noisy PSI on 500 rows: the significance test holds it back.
    assert report["features"]["state"]["p_value"] > drift.Thresholds().alpha


def test_a_drifted_sample_is_flagged_naming_the_drifted_features(baseline, held_out):
    report = drift.compare(baseline, drifted(held_out, baseline), SPEC)
    assert report["drifted"] is True
    assert set(report["drifted_features"]) == DRIFTED
    minutes = report["features"]["total_day_minutes"]
    assert minutes["kind"] == "numeric" and minutes["psi"] > 1.0 and minutes["p_value"] < 1e-6
    plan = report["features"]["international_plan"]
    assert plan["kind"] == "categorical" and plan["psi"] >= 0.2 and plan["reasons"]


def test_unseen_categories_are_drift(baseline, held_out):
    current = held_out.copy()
    current.loc[current.index[:75], "area_code"] = "area_code_999"
    feature = drift.compare(baseline, current, SPEC)["features"]["area_code"]
    assert feature["drifted"] and feature["new_category_share"] == pytest.approx(0.1)
    assert any("never saw" in reason for reason in feature["reasons"])


def test_too_few_rows_are_not_judged(baseline, held_out):
    report = drift.compare(baseline, drifted(held_out.iloc[:40], baseline), SPEC)
    assert report["drifted"] is False and "insufficient_data" in report


# --- data capture --------------------------------------------------------------------------------
@pytest.mark.parametrize(("encoding", "content_type"), [
    ("CSV", "text/csv"), ("BASE64", "text/csv"), ("JSON", "application/json"),
    ("BASE64", "application/json")])
def test_capture_lines_parse_back_into_the_rows_sent(held_out, encoding, content_type):
    rows = held_out.iloc[:7]
    lines = [capture_line(rows.iloc[:4], encoding=encoding, content_type=content_type),
             "", capture_line(rows.iloc[4:], encoding=encoding, content_type=content_type)]
    parsed = capture.rows_from_lines(lines, FEATURES)
    assert parsed == rows.values.tolist()


def test_capture_errors_name_the_line():
    with pytest.raises(capture.CaptureError, match="line 2: not a data capture record"):
        capture.rows_from_lines(['{"captureData": {"endpointInput": {"data": "1,2"}}}',
                                 '{"eventMetadata": {}}'], FEATURES)
    with pytest.raises(capture.CaptureError, match="line 1 is not JSON"):
        capture.rows_from_lines(["{"], FEATURES)


# The record preprocessor Model Monitor runs: tests/runtime/test_monitoring_scripts.py.


# --- the command line, as a processing job runs it -----------------------------------------------
def run_drift(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"ML_ROOT": str(root), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO),
           "ML_USE_CASE": "churn"}
    drift_module = "runtime_scripts.common.tabular.drift"
    return subprocess.run([testing.job_python(), "-m", drift_module, *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def stage_job(root: Path, preprocessed: contract.MlPaths, current: pd.DataFrame) -> None:
    ml = contract.MlPaths(root)
    baseline_dir = ml.processing_input(drift.DRIFT_INPUT_BASELINE)
    baseline_dir.parent.mkdir(parents=True, exist_ok=True)
    baseline_dir.symlink_to(preprocessed.processing_output(contract.PROCESSING_OUTPUT_BASELINE),
                            target_is_directory=True)
    write_capture(current, ml.processing_input(drift.DRIFT_INPUT_CURRENT))


def test_cli_passes_undrifted_captured_traffic(tmp_path, preprocessed, held_out):
    stage_job(tmp_path, preprocessed, held_out)
    done = run_drift(tmp_path, "--fail-on-drift")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["drifted"] is False and summary["rows"] == {"baseline": 1000, "current": 750}
    report = json.loads((contract.MlPaths(tmp_path).processing_output(drift.DRIFT_OUTPUT)
                         / drift.REPORT_FILE).read_text())
    assert report["features"]["total_day_minutes"]["drifted"] is False


def test_cli_flags_drifted_captured_traffic(tmp_path, preprocessed, held_out, baseline):
    stage_job(tmp_path, preprocessed, drifted(held_out, baseline))
    done = run_drift(tmp_path, "--fail-on-drift")
    assert done.returncode == drift.EXIT_DRIFT, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(summary["drifted_features"]) == DRIFTED
    assert run_drift(tmp_path).returncode == 0  # without --fail-on-drift: a report, no failure


def test_cli_reports_a_missing_input_in_one_line(tmp_path):
    done = run_drift(tmp_path)
    assert done.returncode == 1
    message = (contract.MlPaths(tmp_path).exit_message).read_text()
    assert message.startswith("drift failed: input directory") and "\n" not in message
