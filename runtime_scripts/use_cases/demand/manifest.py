"""Sales: how many of each pizza will sell on each of the next 14 days? Probabilistic demand
forecasts (p10/p50/p90) from one global gradient-boosted model over all series, backtested
against the seasonal naive, AutoETS and Prophet (gt's `pizzaplace`: a year of a pizza place's
sales, 49,574 pizzas; sample_data/regenerate.py). Its own jobs: spec.py, series.py, gbm.py,
backtest.py; its own image (Dockerfile, requirements.txt) and server (serve.py)."""

from runtime_scripts.common.manifest import (
    AccuracyMonitor,
    GateCondition,
    Image,
    Metric,
    Monitoring,
    PredictionTable,
    Resampling,
    Serving,
    Tuning,
    UseCaseManifest,
)

TYPES = ("application/json", "text/csv")

MANIFEST = UseCaseManifest(
    name="demand",
    description="Pizza sales per day: probabilistic forecasts with a global gradient-boosted "
                "model, backtested against seasonal naive, AutoETS and Prophet",
    problem_type="forecasting",
    cross_validation=Resampling(
        allowed=False,
        refusal=("sales are time-ordered: random folds would train on the future; its evaluation "
                 "is a rolling-origin backtest")),
    # The platform's backtest cuts the rows of a tabular dataset spec by its `time` key and
    # scores them as classification or regression; this evaluation is the backtest itself.
    backtest=Resampling(
        allowed=False,
        refusal=("its evaluation (process evaluate --windows N) is a rolling-origin backtest of "
                 "the model against every baseline on the same windows; the platform's window "
                 "split cuts rows of a tabular dataset spec, not a forecasting spec's series")),
    metrics=(
        Metric("mase", higher_is_better=False, maximum=None),
        Metric("smape", higher_is_better=False, maximum=2.0),
        Metric("wape", higher_is_better=False, maximum=None),
        Metric("rmse", higher_is_better=False, maximum=None),
        Metric("wql", higher_is_better=False, maximum=None),
        # 0.8 is a calibrated p10-p90 interval; a gate asks for at least its lower bound.
        Metric("coverage_p10_p90", higher_is_better=True),
        Metric("relative_mase", higher_is_better=False, maximum=None),
        Metric("relative_wape", higher_is_better=False, maximum=None),
        # A batch run's WAPE against the actuals over the model's held-out WAPE (monitoring.py).
        Metric("wape_ratio", higher_is_better=False, gateable=False, maximum=None),
    ),
    training_metrics=("train:rmse", "validation:rmse", "validation:wape",
                      "validation:coverage"),
    # The goal for the default model: at least 10% better than the seasonal naive on
    # the same backtest windows, with an interval that covers at least 70%.
    gate=(GateCondition("relative_mase", "<=", 0.9),
          GateCondition("coverage_p10_p90", ">=", 0.7)),
    gate_requires_one_of=("mase", "wape", "relative_mase", "relative_wape"),
    hyperparameters={"model": "gbm", "num_round": "300", "eta": "0.05", "max_depth": "4",
                     "lags": "0-6", "windows": "7,28", "objective": "reg:absoluteerror",
                     # Equal weights of the trees and Prophet (gbm.py, combination.py):
                     # checked on backtest windows before the benchmark's (README).
                     "ets_weight": "0", "prophet_weight": "0.5"},
    tuning=Tuning(
        objective_metric="validation:wape", objective_type="Minimize",
        ranges={
            "continuous": [
                {"name": "eta", "min": 0.02, "max": 0.2, "scaling": "Logarithmic"},
                {"name": "min_child_weight", "min": 5, "max": 200, "scaling": "Logarithmic"},
                # Each at most 0.5: any pair sums to at most 1 (the GBM gets the rest).
                {"name": "ets_weight", "min": 0.0, "max": 0.5, "scaling": "Linear"},
                {"name": "prophet_weight", "min": 0.0, "max": 0.5, "scaling": "Linear"},
            ],
            "integer": [{"name": "max_depth", "min": 3, "max": 8, "scaling": "Linear"}],
            "categorical": [{"name": "lags", "values": ["0-6", "0-13", "0-27",
                                                        "0-3,6,7,13,14,20,21,27"]}],
        },
        static_hyperparameters={"model": "gbm", "num_round": "300"}),
    serving=Serving(content_types=TYPES, accept_types=TYPES,
                    prediction_columns=("series", "timestamp", "p10", "p50", "p90")),
    # The shared capture preprocessor reads tabular rows: no drift checks on forecast requests.
    monitoring=Monitoring(drift=False),
    image=Image(dockerfile="Dockerfile", instance_family="cpu"),
    # Prophet, holidays and statsforecast's own dependencies; statsforecast itself is in
    # requirements-no-deps.txt (it declares pandas<3), which the Dockerfile installs too.
    requirements="requirements.txt",
    requirements_no_deps="requirements-no-deps.txt",
    sample_data="sample_data/pizzaplace.csv",
    # Batch forecasts every series (the one request line `*`: answer.py) into a catalog table
    # partitioned by the day they were made; once the actuals arrive, a batch run given them
    # alarms when its WAPE is 1.5x the model's held-out WAPE (the retraining gate starts).
    local_batch="sample_data/every_series.csv",
    batch_predictions=PredictionTable(column_types=("string", "date", "double", "double",
                                                    "double"), partition="forecast_date"),
    accuracy_monitor=AccuracyMonitor(metric="wape_ratio", threshold=1.5),
)
