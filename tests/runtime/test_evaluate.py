"""`process evaluate`: the documented evaluation.json schema, the HTML report, input variants."""

from __future__ import annotations

import base64
import csv
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runtime_scripts import contract
from runtime_scripts.common.tabular.evaluate import calibration_error
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN
from tests.runtime.conftest import Pipeline, ok, run_entry, stage_evaluation

TOP_LEVEL = {"schema_version", "generated_at", "threshold", "metrics", "quality_gate",
             "confusion_matrix", "rows", "data", "model", "feature_importance",
             "binary_classification_metrics"}
MODEL_KEYS = {"file", "booster", "num_boosted_rounds", "best_iteration", "eval_metric",
              "num_features",
              "input_columns", "target", "positive_label", "negative_label"}
IMAGE = re.compile(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def test_evaluation_json_has_the_documented_schema(pipeline: Pipeline) -> None:
    doc = pipeline.evaluation
    assert set(doc) == TOP_LEVEL
    assert doc["schema_version"] == contract.EVALUATION_SCHEMA_VERSION
    assert list(doc["metrics"]) == list(CHURN.metric_names)
    assert all(isinstance(v, float) for v in doc["metrics"].values())
    bounded = [m.name for m in CHURN.metrics if m.maximum is not None]
    assert bounded and all(0 <= doc["metrics"][k] <= 1 for k in bounded)
    assert doc["threshold"] == 0.5
    assert doc["quality_gate"] == {"passed": True, "conditions": [], "failed": ""}  # none asked
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


# --- quality gate ----------------------------------------------------------------------------
def test_the_gate_names_every_condition_that_failed(pipeline: Pipeline, tmp_path: Path) -> None:
    ml = pipeline.ml
    stage_evaluation(tmp_path, ml.model, ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    ok(run_entry("process", "evaluate", "--gate", "auc>=0.9", "--gate", "recall>=0.99",
                 "--gate", "log_loss<0.01", "--gate", "f1>0", root=tmp_path))
    out = contract.MlPaths(tmp_path).processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
    gate = json.loads((out / contract.EVALUATION_FILE).read_text())["quality_gate"]
    metrics = pipeline.evaluation["metrics"]
    assert gate["passed"] is False
    assert [(c["metric"], c["comparison"], c["threshold"], c["value"], c["passed"])
            for c in gate["conditions"]] == [
        ("auc", ">=", 0.9, metrics["auc"], True),
        ("recall", ">=", 0.99, metrics["recall"], False),
        ("log_loss", "<", 0.01, metrics["log_loss"], False),
        ("f1", ">", 0.0, metrics["f1"], True)]
    assert gate["failed"] == (f"recall {metrics['recall']:.4f} is not >= 0.99; "
                              f"log_loss {metrics['log_loss']:.4f} is not < 0.01")
    page = (out / contract.REPORT_FILE).read_text()
    assert "<h2>Quality gate</h2>" in page and "FAIL" in page


@pytest.mark.parametrize(("argument", "words"), [
    ("auc=>0.9", "is not 'metric>=number'"),
    ("speed>=3", "unknown metric 'speed'"),
])
def test_a_malformed_gate_condition_fails_the_job_by_name(pipeline: Pipeline, tmp_path: Path,
                                                          argument: str, words: str) -> None:
    ml = pipeline.ml
    stage_evaluation(tmp_path, ml.model, ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    result = run_entry("process", "evaluate", "--gate", argument, root=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert words in contract.MlPaths(tmp_path).exit_message.read_text()


def test_calibration_error_is_zero_when_calibrated_and_the_gap_when_not() -> None:
    p = np.repeat([0.05, 0.35, 0.85], 200)
    y = np.concatenate([np.arange(200) < 10, np.arange(200) < 70, np.arange(200) < 170])
    assert calibration_error(y.astype(float), p) == pytest.approx(0.0, abs=1e-12)
    # Under-confident: the classes are told apart, but both sit near the base rate of 0.3.
    y, p = np.r_[np.zeros(70), np.ones(30)], np.r_[np.full(70, 0.3), np.full(30, 0.45)]
    assert calibration_error(y, p) == pytest.approx((70 * 0.3 + 30 * 0.55) / 100)


# --- batch predictions against known labels ---------------------------------------------------
def test_batch_predictions_are_scored_against_labels_paired_by_id(pipeline: Pipeline,
                                                                   tmp_path: Path) -> None:
    """The test split as a scored batch: predictions (two files, with ids) and labels (another
    order, one file) pair up by id and give the very metrics evaluation computes itself."""
    import xgboost

    from runtime_scripts.common.model_bundle import load_bundle

    ml = pipeline.ml
    bundle = load_bundle(ml.model)
    raw = pd.read_csv(ml.processing_output("test") / contract.RAW_TEST_FILE, dtype=str,
                      keep_default_na=False)
    p = bundle.booster.predict(xgboost.DMatrix(bundle.transform.transform_frame(raw)))
    ids = [f"c-{i}" for i in range(len(raw))]
    root = contract.MlPaths(tmp_path)
    predictions = root.processing_input(contract.PROCESSING_INPUT_PREDICTIONS)
    labels = root.processing_input(contract.PROCESSING_INPUT_LABELS)
    (predictions / "more").mkdir(parents=True)
    labels.mkdir(parents=True)
    lines = [f"{i},{float(v)!r},x\n" for i, v in zip(ids, p, strict=True)]
    head = "customer_id,probability,label\n"
    (predictions / "a.csv.out").write_text(head + "".join(lines[:400]))
    (predictions / "more" / "b.csv.out").write_text(head + "".join(lines[400:]) + "c-x,0.5,yes\n")
    with (labels / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["churn", "customer_id"])
        writer.writerows(sorted(zip(raw["churn"], ids, strict=True), key=lambda r: r[1]))
    model = root.processing_input(contract.PROCESSING_INPUT_MODEL)
    model.parent.mkdir(parents=True, exist_ok=True)
    model.symlink_to(ml.model, target_is_directory=True)
    ok(run_entry("process", "evaluate", root=tmp_path))
    out = root.processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
    doc = json.loads((out / contract.EVALUATION_FILE).read_text())
    # The same rows and probabilities, summed in another order: equal to the last bits.
    assert doc["metrics"] == pytest.approx(pipeline.evaluation["metrics"], rel=1e-12)
    assert doc["confusion_matrix"] == pipeline.evaluation["confusion_matrix"]
    assert doc["rows"] == pipeline.evaluation["rows"]
    assert doc["data"]["source"] == "predictions"
    assert doc["data"]["predictions_without_label"] == 1
    assert doc["data"]["labels_without_prediction"] == 0
    assert "750 scored batch rows" in (out / contract.REPORT_FILE).read_text()


def test_predictions_without_ids_are_refused_saying_how_to_get_them(pipeline: Pipeline,
                                                                    tmp_path: Path) -> None:
    root = contract.MlPaths(tmp_path)
    for name in (contract.PROCESSING_INPUT_PREDICTIONS, contract.PROCESSING_INPUT_LABELS):
        root.processing_input(name).mkdir(parents=True)
    (root.processing_input("predictions") / "x.csv.out").write_text("0.1,no\n0.9,yes\n")
    (root.processing_input("labels") / "y.csv").write_text("customer_id,churn\n1,no\n")
    root.processing_input("model").symlink_to(pipeline.ml.model, target_is_directory=True)
    result = run_entry("process", "evaluate", root=tmp_path)
    assert result.returncode == 1
    assert "send the batch in the training data's layout, with its header row" in \
        root.exit_message.read_text()
