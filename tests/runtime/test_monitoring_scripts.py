"""The two scripts Model Monitor runs in its analyzer container, on real data: the record
preprocessor (capture.py) names captured request rows with the columns of the job's baseline,
and the post-analytics processor (drift_summary.py) sums a run's drift up in one metric.

Monitoring must follow the dataset spec the deployed model was trained with, not the bundled
one: here a second churn dataset with another column set (fewer columns, another order) goes
through real preprocessing, and its baseline, its requests and its drift metrics are read back
with that spec's columns, by scripts that name no column themselves."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from ml_constructs.serving_alarms import DRIFT_SUMMARY_METRIC
from runtime_scripts import contract
from runtime_scripts.common.tabular import capture, drift_summary
from runtime_scripts.common.tabular.dataset import DatasetSpec
from runtime_scripts.use_cases import testing
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN

REPO = Path(__file__).resolve().parents[2]
SAMPLE = CHURN.path(CHURN.sample_data)
BUNDLED = DatasetSpec.load(CHURN.path(CHURN.dataset_spec))
# Another churn dataset's spec: five of the columns, in an order of its own.
OTHER_FEATURES = {"total_day_minutes": "numeric", "international_plan": "categorical",
                  "number_customer_service_calls": "numeric", "state": "categorical",
                  "account_length": "numeric"}
SCHEDULE, ENDPOINT = "mlplatform-dev-churn-data-quality", "mlplatform-dev-churn"


@pytest.fixture(scope="module")
def other_run(tmp_path_factory) -> tuple[contract.MlPaths, DatasetSpec]:
    """Real preprocessing of the sample with the other spec (`--dataset-spec`)."""
    root = tmp_path_factory.mktemp("other-spec")
    spec_doc = json.loads(CHURN.path(CHURN.dataset_spec).read_text())
    spec_doc.update(name="churn_short", features=OTHER_FEATURES)
    spec_path = root / "churn_short.json"
    spec_path.write_text(json.dumps(spec_doc))
    ml = contract.MlPaths(root)
    raw = ml.processing_input(contract.PROCESSING_INPUT_RAW)
    raw.mkdir(parents=True)
    (raw / SAMPLE.name).symlink_to(SAMPLE)
    done = subprocess.run([str(REPO / "runtime_scripts" / "bin" / "process"), "preprocess",
                           "--dataset-spec", str(spec_path)],
                          env={"ML_ROOT": str(root), "PYTHON": testing.job_python(),
                               "PATH": "/usr/bin:/bin", "ML_USE_CASE": "churn"},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return ml, DatasetSpec.load(spec_path)


def statistics_of(baseline_csv: Path, path: Path) -> Path:
    """What the analyzer's baselining job writes for a CSV with a header (the documented
    statistics.json schema, features in the dataset's column order), reduced to what the
    record preprocessor reads."""
    frame = pd.read_csv(baseline_csv)
    features = [{"name": column,
                 "inferred_type": "Fractional" if pd.api.types.is_numeric_dtype(frame[column])
                 else "String"} for column in frame.columns]
    path.write_text(json.dumps({"version": 0, "dataset": {"item_count": len(frame)},
                                "features": features}))
    return path


def record(body: str, content_type: str = "text/csv", encoding: str = "CSV"):
    """One captured record as Model Monitor hands it to the preprocessor: the attributes AWS
    documents for the record's EventData (`observedContentType`, `encoding`, `data`)."""
    data = base64.b64encode(body.encode()).decode() if encoding == "BASE64" else body
    endpoint_input = types.SimpleNamespace(data=data, encoding=encoding, mode="INPUT",
                                           observedContentType=content_type)
    return types.SimpleNamespace(endpoint_input=endpoint_input, endpoint_output=None)


@pytest.fixture
def baseline_env(other_run, tmp_path, monkeypatch) -> list[str]:
    """The monitoring job's environment: its baseline statistics, downloaded locally."""
    ml, spec = other_run
    baseline = ml.processing_output(contract.PROCESSING_OUTPUT_BASELINE) / contract.BASELINE_FILE
    stats = statistics_of(baseline, tmp_path / "statistics.json")
    monkeypatch.setenv(capture.BASELINE_STATISTICS_ENV, str(stats))
    monkeypatch.delenv(capture.FEATURE_COLUMNS_ENV, raising=False)
    capture.baseline_columns.cache_clear()
    return spec.feature_names


# --- the record preprocessor -------------------------------------------------------------------
def test_preprocessing_wrote_the_other_specs_columns_in_request_order(other_run):
    ml, spec = other_run
    baseline = pd.read_csv(ml.processing_output(contract.PROCESSING_OUTPUT_BASELINE)
                           / contract.BASELINE_FILE)
    schema = json.loads((ml.processing_output(contract.PROCESSING_OUTPUT_TRANSFORM)
                         / contract.FEATURE_SCHEMA_FILE).read_text())
    assert list(baseline.columns) == schema["input_columns"] == list(OTHER_FEATURES)
    assert spec.feature_names != BUNDLED.feature_names


def test_requests_are_named_with_the_deployed_models_columns(other_run, baseline_env):
    """Rows sent in the model's request order come out named by the baseline the job compares
    against: the other spec's five columns, not the bundled spec's nineteen."""
    ml, _ = other_run
    sent = pd.read_csv(ml.processing_output(contract.PROCESSING_OUTPUT_TEST)
                       / contract.RAW_TEST_FILE, dtype=str)[baseline_env].iloc[:3]
    body = sent.to_csv(header=False, index=False)
    for encoding in ("CSV", "BASE64"):
        out = capture.preprocess_handler(record(body, encoding=encoding))
        assert [list(r) for r in out] == [baseline_env] * 3
        assert out[0]["state"] == sent.iloc[0]["state"]
        assert out[0]["total_day_minutes"] == float(sent.iloc[0]["total_day_minutes"])
        assert isinstance(out[0]["account_length"], int)


def test_json_requests_are_read_as_json(baseline_env):
    """Model Monitor's record names its content type `observedContentType`: a JSON request is
    parsed as JSON (instances keyed by name, or lists in request order), not as CSV."""
    by_name = {"instances": [{"state": "KS", "account_length": 128, "international_plan": "no",
                              "total_day_minutes": 265.1, "number_customer_service_calls": 1}]}
    (named,) = capture.preprocess_handler(record(json.dumps(by_name), "application/json"))
    assert named == {"total_day_minutes": 265.1, "international_plan": "no",
                     "number_customer_service_calls": 1, "state": "KS", "account_length": 128}
    listed = [[265.1, "no", 1, "KS", 128], [12.0, "yes", 4, "OH", 7]]
    out = capture.preprocess_handler(record(json.dumps(listed), "application/json; charset=utf-8"))
    assert [r["state"] for r in out] == ["KS", "OH"]


def test_a_row_that_does_not_fit_the_baseline_is_an_error(baseline_env):
    bundled_row = ",".join(["1"] * len(BUNDLED.feature_names))
    with pytest.raises(capture.CaptureError, match=r"a row has 19 values, expected 5"):
        capture.preprocess_handler(record(bundled_row))


def test_where_the_columns_come_from(tmp_path):
    constraints = tmp_path / "constraints.json"
    constraints.write_text(json.dumps({"version": 0, "features": [
        {"name": "a", "inferred_type": "Integral"}, {"name": "b", "inferred_type": "String"}]}))
    env = {capture.BASELINE_CONSTRAINTS_ENV: str(constraints)}
    assert capture.feature_columns(env) == ("a", "b")
    assert capture.feature_columns({**env, capture.FEATURE_COLUMNS_ENV: "x, y"}) == ("x", "y")
    with pytest.raises(capture.CaptureError, match="no feature columns"):
        capture.feature_columns({})
    empty = tmp_path / "statistics.json"
    empty.write_text(json.dumps({"version": 0, "features": []}))
    with pytest.raises(capture.CaptureError, match="lists no feature names"):
        capture.feature_columns({capture.BASELINE_STATISTICS_ENV: str(empty)})
    with pytest.raises(capture.CaptureError, match="cannot read the baseline"):
        capture.feature_columns({capture.BASELINE_STATISTICS_ENV: str(tmp_path / "none.json")})


@pytest.mark.parametrize("script", [capture.__file__, drift_summary.__file__])
def test_the_scripts_load_standalone_like_the_analyzer_does(script, tmp_path):
    """One file, imported by path, no package, no site-packages."""
    stats = tmp_path / "statistics.json"
    stats.write_text(json.dumps({"features": [{"name": "a"}, {"name": "b"}]}))
    code = ("import importlib.util, sys, types; s = importlib.util.spec_from_file_location('p', "
            "sys.argv[1]); m = importlib.util.module_from_spec(s); s.loader.exec_module(m); "
            "h = getattr(m, 'preprocess_handler', None); e = types.SimpleNamespace(data='1,x', "
            "encoding='CSV', observedContentType='text/csv'); "
            "print(h(types.SimpleNamespace(endpoint_input=e)) if h else m.SUMMARY_METRIC)")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code, script],
                          env={capture.BASELINE_STATISTICS_ENV: str(stats)},
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in ("[{'a': 1, 'b': 'x'}]", DRIFT_SUMMARY_METRIC)


# --- the post-analytics processor ----------------------------------------------------------------
def analyzer_metrics(directory: Path, drifts: dict[str, float]) -> None:
    """What the analyzer leaves in the container's CloudWatch metrics directory: per feature its
    data, completeness and baseline drift metrics (documented names), one datum per line."""
    directory.mkdir(parents=True, exist_ok=True)
    dims = [{"Name": "Endpoint", "Value": ENDPOINT}, {"Name": "MonitoringSchedule",
                                                      "Value": SCHEDULE}]
    lines = []
    for feature, distance in drifts.items():
        for name, value in ((f"feature_baseline_drift_{feature}", distance),
                            (f"feature_non_null_{feature}", 1.0),
                            (f"feature_data_{feature}", 250.0)):
            lines.append({"MetricName": name, "Timestamp": "2026-11-20T14:00:00Z",
                          "Dimensions": dims, "Value": value})
    (directory / "analyzer-metrics.json").write_text("\n".join(map(json.dumps, lines)) + "\n")


ENV = {"publish_cloudwatch_metrics": "Enabled", "sagemaker_endpoint_name": ENDPOINT,
       "sagemaker_monitoring_schedule_name": SCHEDULE, "end_time": "2026-11-20T14:00:00Z"}


def test_the_summary_is_the_largest_drift_of_the_deployed_models_columns(tmp_path):
    drifts = {name: 0.05 * (i + 1) for i, name in enumerate(OTHER_FEATURES)}
    analyzer_metrics(tmp_path, drifts)
    datum = drift_summary.postprocess_handler(tmp_path, ENV)
    assert datum == {"MetricName": DRIFT_SUMMARY_METRIC, "Value": max(drifts.values()),
                     "Dimensions": [{"Name": "Endpoint", "Value": ENDPOINT},
                                    {"Name": "MonitoringSchedule", "Value": SCHEDULE}],
                     "Timestamp": "2026-11-20T14:00:00Z", "Unit": "None"}
    written = json.loads((tmp_path / drift_summary.SUMMARY_FILE).read_text())
    assert written == datum
    # A second call reads its own file back as no drift: the value stays the analyzer's.
    assert drift_summary.postprocess_handler(tmp_path, ENV)["Value"] == max(drifts.values())


def test_the_summary_reads_every_shape_of_datum_and_skips_what_is_not_a_measurement(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([
        {"MetricName": "feature_baseline_drift_x", "StatisticValues": {"Maximum": 0.7}},
        {"MetricName": "feature_baseline_drift_y", "Value": "NaN"},
        {"MetricName": "feature_data_z", "Value": 9.0}]))
    (tmp_path / "b.json").write_text('{"MetricName": "feature_baseline_drift_w", "Value": 0.2}')
    (tmp_path / "c.json").write_text("not json\n")
    datum = drift_summary.postprocess_handler(tmp_path, ENV)
    assert datum["Value"] == 0.7
    assert datum["Timestamp"] == ENV["end_time"]  # the run's end, where the data had none
    assert drift_summary._value({"Value": "NaN"}) is None


def test_no_summary_without_drift_metrics_or_publishing(tmp_path):
    assert drift_summary.postprocess_handler(tmp_path / "missing", ENV) is None
    analyzer_metrics(tmp_path, {})
    assert drift_summary.postprocess_handler(tmp_path, ENV) is None
    analyzer_metrics(tmp_path, {"state": 0.4})
    disabled = {**ENV, "publish_cloudwatch_metrics": "Disabled"}
    assert drift_summary.postprocess_handler(tmp_path, disabled) is None
    assert not (tmp_path / drift_summary.SUMMARY_FILE).exists()
