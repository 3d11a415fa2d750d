"""ML_SERVE_OUTPUT=features: the image as the first container of a serial inference pipeline
(a built-in algorithm's own container next) answers raw rows as the model's features, one
header-less CSV line per row, whatever the client's Accept asks the last container for."""

from __future__ import annotations

import numpy as np

from runtime_scripts import contract
from runtime_scripts.common.serving.app import InferenceApp, Scorer
from runtime_scripts.common.serving.config import ServerConfig

from .test_predictions import CSV, JSON, csv_body


def test_raw_rows_are_answered_as_the_transforms_features(artifacts, holdout):
    config = ServerConfig.resolve([], {contract.SERVE_OUTPUT_ENV: contract.SERVE_FEATURES})
    assert config.features_only
    app = InferenceApp(config, Scorer(artifacts))
    frame = holdout.iloc[:5]
    reply = app.handle("POST", b"/invocations", CSV, JSON, csv_body(frame).encode())
    assert (reply.status, reply.content_type) == (200, CSV.encode())
    rows = np.array([[float(v) for v in line.split(",")]
                     for line in reply.body.decode().splitlines()])
    want = artifacts.transform.transform_frame(frame.astype(str))
    assert rows.shape == (5, artifacts.transform.width)
    np.testing.assert_allclose(rows, want, rtol=1e-6, atol=1e-7)
    # A bad row is the first container's 400, named as the server names it.
    bad = app.handle("POST", b"/invocations", CSV, None, b"not,a,row\n")
    assert bad.status == 400


def test_without_it_the_server_answers_predictions(artifacts, holdout):
    app = InferenceApp(ServerConfig.resolve([], {}), Scorer(artifacts))
    assert not app.config.features_only
    reply = app.handle("POST", b"/invocations", CSV, None, csv_body(holdout.iloc[:2]).encode())
    assert reply.body.decode().splitlines()[0].count(",") == 1  # probability,label
