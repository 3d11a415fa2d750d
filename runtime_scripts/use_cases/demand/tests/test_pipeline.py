"""preprocess -> train -> evaluate for demand through the real entry points, on three pizzas of
the sample: the splits end where the horizon says, training logs the manifest's metrics, the
backtest scores the model and every baseline on the same windows, the gate is judged, and the
report shows the table and the plots."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from runtime_scripts import contract
from runtime_scripts.use_cases import testing
from runtime_scripts.use_cases.demand.manifest import MANIFEST
from runtime_scripts.use_cases.demand.tests.conftest import PIZZAS, WINDOWS

HORIZON = 14


def panel(run: testing.PipelineRun, name: str) -> pd.DataFrame:
    return pd.read_csv(run.ml.processing_output(name) / "series.csv", parse_dates=["timestamp"])


def test_preprocessing_aggregates_one_daily_series_per_pizza_and_cuts_by_horizon(demand) -> None:
    summary = demand.summary
    assert summary["series"] == len(PIZZAS) and summary["periods"] == 365
    assert summary["start"] == "2015-01-01" and summary["end"] == "2015-12-31"
    test = panel(demand, "test")
    raw = pd.read_csv(demand.root.parent / "pizzas.csv")
    # Every pizza sold is counted once, on its day; days without a sale are 0.
    assert test.groupby("series")["y"].sum().to_dict() == raw.groupby("name").size().to_dict()
    # Each series runs from its first sale to the data's end (brie_carre first sold on Jan 3).
    first = pd.to_datetime(raw.groupby("name")["date"].min())
    assert test.groupby("series")["timestamp"].min().to_dict() == first.to_dict()
    assert test.groupby("series").size().to_dict() == {
        name: (pd.Timestamp("2015-12-31") - day).days + 1 for name, day in first.items()}
    assert test.groupby("series")["type"].nunique().max() == 1
    ends = {name: panel(demand, name)["timestamp"].max() for name in ("train", "validation")}
    assert ends["validation"] == pd.Timestamp("2015-12-31") - pd.Timedelta(days=HORIZON)
    assert ends["train"] == pd.Timestamp("2015-12-31") - pd.Timedelta(days=2 * HORIZON)


def test_training_logs_every_training_metric_of_the_manifest(demand) -> None:
    lines = [line for line in demand.train.stdout.splitlines() if line.startswith("#metrics")]
    logged = {m.split("=")[0] for line in lines for m in line.split()[1:]}
    assert set(MANIFEST.training_metrics) <= logged
    final = lines[-1]
    coverage = float(re.search(r"validation:coverage=([0-9.]+)", final).group(1))
    assert 0.5 <= coverage <= 1.0
    info = json.loads((demand.ml.model / "forecaster.json").read_text())
    assert info["model"] == "gbm" and info["trained_end"] == "2015-12-17"
    assert info["series"] == sorted(PIZZAS)


def test_the_backtest_scores_the_model_and_every_baseline_on_the_same_windows(demand) -> None:
    doc = demand.evaluation
    # All its metrics but the accuracy monitor's, which only a batch scored on actuals writes.
    assert list(doc["metrics"]) == [name for name in MANIFEST.metric_names
                                    if name != MANIFEST.accuracy_monitor.metric]
    assert set(doc["baselines"]) == {"seasonal_naive", "ets", "prophet"}
    assert [w["origin"] for w in doc["windows"]] == ["2015-12-17", "2015-12-03"][:WINDOWS]
    for window in doc["windows"]:
        assert set(window["models"]) == {"gbm", "seasonal_naive", "ets", "prophet"}
        assert window["models"]["seasonal_naive"]["relative_wape"] == pytest.approx(1.0)
    assert set(doc["per_series"]) == set(PIZZAS)
    # 14 days of each pizza in each window, as the shared schema counts rows.
    assert doc["rows"] == {"total": WINDOWS * HORIZON * len(PIZZAS)}
    metrics = doc["metrics"]
    naive = doc["baselines"]["seasonal_naive"]
    assert metrics["relative_wape"] == pytest.approx(metrics["wape"] / naive["wape"])
    # Sane values on this slice: the model beats the seasonal naive, its interval covers.
    assert metrics["relative_mase"] < 1.0 and 0.6 <= metrics["coverage_p10_p90"] <= 0.95
    assert 0 < metrics["wql"] < metrics["wape"]
    gate = doc["quality_gate"]
    assert [(c["metric"], c["threshold"]) for c in gate["conditions"]] == [
        (c.metric, c.threshold) for c in MANIFEST.gate]
    assert gate["passed"] is True, gate["failed"]


def test_the_report_holds_the_baseline_table_windows_and_forecast_plots(demand) -> None:
    page = (demand.ml.processing_output(contract.PROCESSING_OUTPUT_EVALUATION) /
            contract.REPORT_FILE).read_text()
    assert "Against every baseline" in page and "Per backtest window" in page
    for model in ("gbm", "seasonal_naive", "ets", "prophet"):
        assert f"<td>{model}</td>" in page
    captions = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,', page)
    assert captions[0].startswith("WAPE") and len(captions) == 1 + len(PIZZAS)
    assert "classic_dlx: forecast against actual" in captions  # the largest series


def test_evaluation_refuses_an_unknown_gate_metric_before_any_backtest(demand, tmp_path,
                                                                       monkeypatch,
                                                                       capsys) -> None:
    from runtime_scripts.use_cases.demand import evaluate

    testing.stage_evaluation(tmp_path, demand.ml.model,
                             demand.ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    monkeypatch.setenv(contract.ML_ROOT_ENV, str(tmp_path))
    assert evaluate.main(["--gate", "auc>=0.8"]) == 1
    error = capsys.readouterr().err
    assert "unknown metric 'auc'" in error and "Traceback" not in error
    assert not (tmp_path / "processing" / "output" / "evaluation").exists()
