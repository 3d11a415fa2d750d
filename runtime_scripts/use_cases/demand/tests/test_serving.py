"""POST /invocations for demand: JSON and CSV forecasts per series; a 400 that says which series,
horizon or covariate is wrong; the real `serve` entry point over HTTP."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from runtime_scripts.use_cases import testing
from runtime_scripts.use_cases.demand import gbm
from runtime_scripts.use_cases.demand.bundle import Forecaster
from runtime_scripts.use_cases.demand.manifest import MANIFEST
from runtime_scripts.use_cases.demand.serve import App
from runtime_scripts.use_cases.demand.spec import ForecastSpec

JSON, CSV = "application/json", "text/csv"


@pytest.fixture(scope="module")
def app(demand) -> App:
    return App(demand.ml.model)


def post(app: App, body, content_type=JSON, accept=None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body.encode()
    status, _, payload = app.handle("POST", "/invocations", content_type, accept, data)
    return status, payload


def test_json_forecasts_p10_p50_p90_per_period_from_the_models_history(app) -> None:
    status, body = post(app, {"series": [{"id": "the_greek", "horizon": 3},
                                         {"id": "brie_carre"}]})
    assert status == 200
    first, second = json.loads(body)["predictions"]
    assert first["id"] == "the_greek"
    assert [f["timestamp"] for f in first["forecast"]] == ["2016-01-01", "2016-01-02",
                                                           "2016-01-03"]
    assert len(second["forecast"]) == 14
    for f in first["forecast"] + second["forecast"]:
        assert 0 <= f["p10"] <= f["p50"] <= f["p90"]


def test_a_given_history_moves_the_forecast_origin_and_csv_is_answered_in_csv(app) -> None:
    history = [{"timestamp": "2016-01-01", "y": 9}, {"timestamp": "2016-01-02", "y": 8}]
    status, body = post(app, {"series": [{"id": "the_greek", "horizon": 2,
                                          "history": history}]})
    assert status == 200
    assert json.loads(body)["predictions"][0]["forecast"][0]["timestamp"] == "2016-01-03"
    status, body = post(app, "id,horizon\nclassic_dlx,2\nthe_greek\n", CSV)
    lines = body.decode().splitlines()
    assert status == 200 and len(lines) == 2 + 14
    assert lines[0].split(",")[:2] == ["classic_dlx", "2016-01-01"]
    status, body = post(app, "classic_dlx,1\n", CSV, accept=JSON)
    assert status == 200 and json.loads(body)["predictions"][0]["id"] == "classic_dlx"


@pytest.mark.parametrize(("request_body", "expected"), [
    ({"series": [{"id": "calzone"}]}, "unknown series 'calzone': the model knows 3 series"),
    ({"series": [{"id": "the_greek", "horizon": 30}]},
     "series 'the_greek': horizon 30 is over the trained maximum 14"),
    ({"series": [{"id": "the_greek", "horizon": "soon"}]}, "horizon 'soon' is no whole number"),
    ({"series": [{"id": "new", "history": [{"timestamp": "2016-01-01", "y": 1}]}]},
     "series 'new': a history of 1 periods is shorter than one season (7)"),
    ({"rows": []}, 'the body must be {"series"'),
])
def test_bad_requests_get_a_400_naming_the_series_and_the_fix(app, request_body,
                                                              expected) -> None:
    status, body = post(app, request_body)
    assert status == 400
    assert expected in json.loads(body)["error"]


def test_the_id_star_forecasts_every_series_the_model_knows(app) -> None:
    """What a batch transform of the one line `*` asks (sample_data/every_series.csv)."""
    request = MANIFEST.path(MANIFEST.local_batch).read_text()
    status, body = post(app, request, CSV)
    lines = [line.split(",") for line in body.decode().splitlines()]
    assert status == 200 and len(lines) == 3 * 14
    assert sorted({line[0] for line in lines}) == ["brie_carre", "classic_dlx", "the_greek"]
    status, body = post(app, {"series": [{"id": "*", "horizon": 2}]})
    assert status == 200 and len(json.loads(body)["predictions"]) == 3
    status, body = post(app, {"series": [{"id": "*", "history": []}]})
    assert status == 400 and "takes no history or future" in json.loads(body)["error"]


def test_other_types_and_routes_are_refused(app) -> None:
    assert post(app, "x", "application/x-npy")[0] == 415
    assert post(app, {"series": [{"id": "the_greek"}]}, accept="image/png")[0] == 406
    assert app.handle("GET", "/ping", None, None, b"")[0] == 200


def test_missing_future_covariates_are_a_400_naming_them(tmp_path) -> None:
    spec = ForecastSpec.from_json({"name": "promo", "series_id": ["sku"], "target": "units",
                                   "timestamp": "day", "covariates": {"price": "mean"},
                                   "horizon": 7})
    days = pd.date_range("2024-01-01", periods=120)
    rng = np.random.default_rng(1)
    frame = pd.concat([pd.DataFrame({
        "series": sku, "timestamp": days, "y": rng.poisson(5, len(days)).astype(float),
        "price": rng.uniform(1, 2, len(days))}) for sku in ("a", "b")], ignore_index=True)
    fitted = gbm.fit(frame, spec, gbm.GbmParams(num_round=5, nthread=1), log=lambda *_: None)
    Forecaster("gbm", spec, frame, {"series": ["a", "b"]}, fitted).save(tmp_path)
    app = App(tmp_path)
    status, body = post(app, {"series": [{"id": "a", "horizon": 3}]})
    assert status == 400 and "future covariates ['price'] are missing" in json.loads(body)["error"]
    status, body = post(app, {"series": [{"id": "a", "horizon": 3, "future": {"price": [1.5]}}]})
    assert status == 400 and "'price' needs 3 values" in json.loads(body)["error"]
    status, body = post(app, {"series": [{"id": "a", "horizon": 3,
                                          "future": {"price": [1.5, 1.6, 1.7]}}]})
    assert status == 200 and len(json.loads(body)["predictions"][0]["forecast"]) == 3


def test_the_serve_entry_point_answers_over_http(demand, tmp_path) -> None:
    server = testing.Server(MANIFEST.name, demand.ml.root, tmp_path / "serve.log")
    try:
        status, body = server.send("/invocations", "the_greek,2\n", CSV)
        assert status == 200 and body.decode().count("\n") == 2
        status, body = server.send("/invocations", json.dumps({"series": [{"id": "x"}]}), JSON)
        assert status == 400 and b"unknown series 'x'" in body
    finally:
        assert server.stop() == 0
