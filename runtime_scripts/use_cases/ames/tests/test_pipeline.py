"""preprocess -> train -> evaluate for the ames regression, through the real entry points: the
splits carry the sale price, training logs the manifest's metrics, and the defaults pass the
default gate with sane numbers."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runtime_scripts import contract
from runtime_scripts.common.tabular.dataset import DatasetSpec
from runtime_scripts.use_cases.ames.manifest import MANIFEST
from runtime_scripts.use_cases.ames.tests.conftest import AmesRun, entry, gate_arguments
from runtime_scripts.use_cases.testing import ok, stage_evaluation

SPEC = DatasetSpec.load(MANIFEST.path(MANIFEST.dataset_spec))
SAMPLE_PRICES = MANIFEST.folder / "sample_data" / "ames.csv"
METRIC_LINE = re.compile(r"^#metrics .*validation:rmse=([0-9.]+)", re.MULTILINE)
IMAGE = re.compile(r'<img [^>]*alt="([^"]*)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def test_splits_hold_the_sale_price_first_and_are_sized_by_the_spec(ames: AmesRun) -> None:
    summary = ames.summary
    assert summary["rows_used"] == 2637 and summary["duplicates_dropped"] == 0
    sizes = {name: part["rows"] for name, part in summary["splits"].items()}
    assert sizes == {"train": 1845, "validation": 396, "test": 396}  # 70/15/15, rounded up
    prices = pd.read_csv(SAMPLE_PRICES)["Sale_Price"].to_numpy(dtype=float)
    for name in ("train", "validation", "test"):
        split = pd.read_csv(ames.ml.processing_output(name) / contract.SPLIT_FILE, header=None)
        labels = split[0].to_numpy()
        # The label is the price itself, not a class: whole dollars from the sample.
        assert np.isin(labels, prices).all() and len(np.unique(labels)) > 100
        assert summary["splits"][name]["mean"] == pytest.approx(labels.mean())
    schema = json.loads((ames.ml.processing_output("transform") / contract.FEATURE_SCHEMA_FILE)
                        .read_text())
    assert schema == {"input_columns": SPEC.feature_names, "features": SPEC.features,
                      "target": "Sale_Price", "id_columns": ["house_id"],
                      "record_columns": ["house_id", *SPEC.feature_names]}


def test_training_logs_the_manifests_metrics_and_stops_early(ames: AmesRun) -> None:
    lines = [line for line in ames.train.stdout.splitlines() if line.startswith("#metrics")]
    assert lines and all(f"{name}=" in line for line in lines for name in
                         MANIFEST.training_metrics)
    assert "logloss" not in ames.train.stdout and "auc" not in ames.train.stdout
    final = lines[-1]
    assert "final=1" in final
    rounds = int(re.search(r"round=(\d+)", final).group(1))
    assert 50 < rounds < int(MANIFEST.hyperparameters["num_round"])  # early stopping ended it
    # The last value logged (what SageMaker and a tuning job read) is the best one seen.
    assert float(METRIC_LINE.findall(ames.train.stdout)[-1]) == pytest.approx(
        min(map(float, METRIC_LINE.findall(ames.train.stdout))))
    schema = json.loads((ames.ml.model / contract.FEATURE_SCHEMA_FILE).read_text())
    assert "decision_threshold" not in schema and "positive_label" not in schema


def test_the_defaults_pass_the_default_gate_with_sane_metrics(ames: AmesRun) -> None:
    doc = ames.evaluation
    metrics = doc["metrics"]
    assert list(metrics) == list(MANIFEST.metric_names) == ["rmse", "mae", "r2"]
    assert doc["quality_gate"]["passed"] is True, doc["quality_gate"]["failed"]
    assert [(c["metric"], c["comparison"], c["threshold"]) for c in
            doc["quality_gate"]["conditions"]] == [(c.metric, c.comparison, c.threshold)
                                                   for c in MANIFEST.gate]
    # Errors in dollars: the typical miss below the large ones, both far below the spread.
    assert 0 < metrics["mae"] < metrics["rmse"] < 0.5 * doc["rows"]["target_std"]
    assert 0.8 <= metrics["r2"] < 1
    assert metrics["r2"] == pytest.approx(1 - metrics["rmse"] ** 2 / doc["rows"]["target_std"] ** 2)
    print(f"ames test split: RMSE {metrics['rmse']:,.0f} MAE {metrics['mae']:,.0f} "
          f"R2 {metrics['r2']:.4f}")


def test_evaluation_json_has_the_regression_sections(ames: AmesRun) -> None:
    doc = ames.evaluation
    assert set(doc) == {"schema_version", "generated_at", "metrics", "quality_gate", "rows",
                        "data", "model", "feature_importance", "regression_metrics"}
    assert doc["rows"]["total"] == ames.summary["splits"]["test"]["rows"]
    assert doc["data"] == {"source": "raw", "files": [contract.RAW_TEST_FILE]}
    assert set(doc["model"]) == {"file", "booster", "num_boosted_rounds", "best_iteration",
                                 "eval_metric", "num_features", "input_columns", "target"}
    assert doc["model"]["eval_metric"] == "validation:rmse"
    quality = doc["regression_metrics"]  # SageMaker Model Monitor's model-quality layout
    assert set(quality) == {"mae", "mse", "rmse", "r2"}
    assert quality["rmse"] == {"value": doc["metrics"]["rmse"], "standard_deviation": "NaN"}
    assert quality["mse"]["value"] == pytest.approx(doc["metrics"]["rmse"] ** 2)


def test_the_report_plots_predictions_against_prices_and_residuals(ames: AmesRun) -> None:
    out = ames.ml.processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
    page = (out / contract.REPORT_FILE).read_text()
    images = IMAGE.findall(page)
    assert [alt.split(":")[0] for alt, _ in images] == [
        "Predicted against actual Sale_Price",
        "What the model misses by, over the predicted value",
        "Encoded features that the trees gain most from."]
    assert all(base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n") for _, data in images)
    assert "ROC" not in page and "Confusion" not in page and "threshold" not in page
    assert f"{ames.evaluation['metrics']['mae']:,.0f}" in page  # dollars, not 0.000 decimals


def test_the_encoded_split_gives_the_same_metrics(ames: AmesRun, tmp_path: Path) -> None:
    ml = ames.ml
    stage_evaluation(tmp_path, ml.model, ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    ok(entry("process", "evaluate", "--source", "encoded", *gate_arguments(), root=tmp_path))
    out = contract.MlPaths(tmp_path).processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
    doc = json.loads((out / contract.EVALUATION_FILE).read_text())
    assert doc["data"]["source"] == "encoded"
    assert doc["metrics"] == pytest.approx(ames.evaluation["metrics"])
