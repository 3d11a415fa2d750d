"""The demand manifest loads and agrees with its jobs: the metrics evaluation writes, the
training metrics train logs, the models the hyperparameter `model` selects."""

from __future__ import annotations

from runtime_scripts.common.manifest import load_manifest
from runtime_scripts.use_cases.demand.forecasters import MODELS
from runtime_scripts.use_cases.demand.metrics import METRICS, RELATIVE
from runtime_scripts.use_cases.demand.monitoring import WAPE_RATIO
from runtime_scripts.use_cases.demand.train import hyperparameters


def test_the_manifest_loads_and_names_what_the_jobs_write(tmp_path) -> None:
    manifest = load_manifest("demand")
    assert manifest.problem_type == "forecasting"
    assert manifest.metric_names == (*METRICS, *RELATIVE, WAPE_RATIO)
    assert manifest.accuracy_monitor.metric == WAPE_RATIO  # what a batch evaluation writes
    assert {c.metric for c in manifest.gate} <= set(manifest.gateable_metrics)
    assert manifest.hyperparameters["model"] == "gbm" and set(MODELS) == {
        "gbm", "ets", "prophet", "seasonal_naive"}
    assert manifest.path(manifest.sample_data).is_file()


def test_hyperparameters_reject_unknown_keys_and_models(tmp_path) -> None:
    import json

    import pytest

    from runtime_scripts import contract
    from runtime_scripts.common.jobio import JobError

    ml = contract.MlPaths(tmp_path)
    ml.hyperparameters.parent.mkdir(parents=True)
    ml.hyperparameters.write_text(json.dumps({"model": "ets", "_tuning_objective_metric": "x",
                                              "lags": "0-6,13"}))
    model, params, _ = hyperparameters(ml)
    assert model == "ets" and params.lags == (0, 1, 2, 3, 4, 5, 6, 13)
    ml.hyperparameters.write_text(json.dumps({"model": "arima"}))
    with pytest.raises(JobError, match="model 'arima' is not one of gbm, ets"):
        hyperparameters(ml)
    ml.hyperparameters.write_text(json.dumps({"depth": "3"}))
    with pytest.raises(JobError, match=r"unknown hyperparameters \['depth'\]"):
        hyperparameters(ml)


def test_the_glue_schema_declares_every_column_of_the_sales_and_their_dataset_spec() -> None:
    """The Glue ETL curates the transactions as they come (the catalog's table); the dataset
    spec's columns are among them, typed as preprocessing reads them."""
    import json

    from runtime_scripts.glue.etl import TableSchema

    manifest = load_manifest("demand")
    schema = TableSchema.load(manifest.path(manifest.glue_schema))
    header = manifest.path(manifest.sample_data).open().readline().strip().split(",")
    assert list(schema.columns) == header
    assert schema.dedup_keys == ("line_id",)  # one row per pizza sold
    spec = json.loads(manifest.path(manifest.dataset_spec).read_text())
    assert schema.columns[spec["timestamp"]] == "date"
    assert {*spec["series_id"], *spec["static"], *spec["covariates"]} <= set(schema.columns)
