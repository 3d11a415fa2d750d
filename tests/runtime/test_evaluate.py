"""`process evaluate`: the documented evaluation.json schema, the HTML report, input variants."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from runtime_scripts import contract
from tests.runtime.conftest import Pipeline, ok, run_entry, stage_evaluation

TOP_LEVEL = {"schema_version", "generated_at", "threshold", "metrics", "confusion_matrix", "rows",
             "data", "model", "feature_importance", "binary_classification_metrics"}
MODEL_KEYS = {"file", "num_boosted_rounds", "best_iteration", "eval_metric", "num_features",
              "input_columns", "target", "positive_label"}
IMAGE = re.compile(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def test_evaluation_json_has_the_documented_schema(pipeline: Pipeline) -> None:
    doc = pipeline.evaluation
    assert set(doc) == TOP_LEVEL
    assert doc["schema_version"] == contract.EVALUATION_SCHEMA_VERSION
    assert list(doc["metrics"]) == list(contract.EVALUATION_METRICS)
    assert all(isinstance(v, float) for v in doc["metrics"].values())
    assert all(0 <= doc["metrics"][k] <= 1 for k in contract.EVALUATION_METRICS if k != "log_loss")
    assert doc["threshold"] == 0.5
    cm, rows = doc["confusion_matrix"], doc["rows"]
    assert set(cm) == {"tp", "fp", "tn", "fn"} and all(isinstance(v, int) for v in cm.values())
    assert sum(cm.values()) == rows["total"] == rows["positive"] + rows["negative"] == 750
    assert cm["tp"] + cm["fn"] == rows["positive"] == 106
    assert doc["metrics"]["accuracy"] == (cm["tp"] + cm["tn"]) / rows["total"]
    assert set(doc["model"]) == MODEL_KEYS and doc["model"]["file"] == contract.MODEL_FILE
    assert doc["data"] == {"source": "raw", "files": [contract.RAW_TEST_FILE]}
    gains = [item["gain"] for item in doc["feature_importance"]]
    assert len(gains) == 20 and gains == sorted(gains, reverse=True)
    quality = doc["binary_classification_metrics"]
    assert quality["auc"] == {"value": doc["metrics"]["auc"], "standard_deviation": "NaN"}
    assert quality["confusion_matrix"]["1"]["1"] == cm["tp"]


def test_test_auc_on_the_sample_data_is_at_least_0_90(pipeline: Pipeline) -> None:
    assert pipeline.evaluation["metrics"]["auc"] >= 0.90
    print(f"test AUC {pipeline.evaluation['metrics']['auc']:.4f}")


def test_report_is_self_contained_with_five_plots(pipeline: Pipeline) -> None:
    out = pipeline.ml.processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
    page = (out / contract.REPORT_FILE).read_text()
    images = IMAGE.findall(page)
    assert len(images) == 5
    assert all(base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n") for data in images)
    for alt in ("ranks churners", "Precision against recall", "Counts at the decision threshold",
                "predicted probabilities match", "Encoded features"):
        assert alt in page
    assert f"{pipeline.evaluation['metrics']['auc']:.3f}" in page
    assert "http://" not in page and "https://" not in page  # nothing fetched when opened


def test_encoded_split_and_extracted_model_give_the_same_metrics(pipeline: Pipeline,
                                                                 tmp_path: Path) -> None:
    """Same numbers from data.csv + extracted model dir as from raw.csv + model.tar.gz."""
    ml = pipeline.ml
    stage_evaluation(tmp_path, ml.model, ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    ok(run_entry("process", "evaluate", "--source", "encoded", root=tmp_path))
    out = contract.MlPaths(tmp_path).processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
    doc = json.loads((out / contract.EVALUATION_FILE).read_text())
    assert doc["data"]["source"] == "encoded"
    assert doc["metrics"] == pipeline.evaluation["metrics"]
    assert doc["confusion_matrix"] == pipeline.evaluation["confusion_matrix"]


def test_missing_model_fails_clearly_and_writes_nothing(pipeline: Pipeline,
                                                        tmp_path: Path) -> None:
    ml = contract.MlPaths(tmp_path)
    stage_evaluation(tmp_path, tmp_path / "nowhere",
                     pipeline.ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    result = run_entry("process", "evaluate", root=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "model input" in ml.exit_message.read_text()
    assert not ml.processing_output(contract.PROCESSING_OUTPUT_EVALUATION).exists()


def test_process_rejects_an_unknown_job(tmp_path: Path) -> None:
    result = run_entry("process", "tune", root=tmp_path)
    assert result.returncode == 2 and "unknown job 'tune'" in result.stderr
