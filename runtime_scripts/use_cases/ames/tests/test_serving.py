"""bin/serve with the model the ames pipeline trained: each row gets its `prediction`, in CSV,
JSON and JSON lines; a batch in the training data's layout (the local run's hold-out houses)
is answered with its house ids, and batch scoring pairs those predictions with known prices."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runtime_scripts import contract
from runtime_scripts.common.model_bundle import load_bundle
from runtime_scripts.use_cases.ames.manifest import MANIFEST
from runtime_scripts.use_cases.ames.tests.conftest import AmesRun, entry, gate_arguments
from runtime_scripts.use_cases.testing import Server, ok

HOLDOUT = MANIFEST.path(MANIFEST.local_batch)
LABELS = MANIFEST.path(MANIFEST.local_batch_labels)


def serve(ames: AmesRun, log: Path, **env: str) -> Iterator[Server]:
    server = Server(MANIFEST.name, ames.root, log, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", **env})
    yield server
    assert server.stop() == 0, log.read_text()


@pytest.fixture(scope="module")
def endpoint(ames: AmesRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(ames, tmp_path_factory.mktemp("logs") / "endpoint.log")


@pytest.fixture(scope="module")
def batch(ames: AmesRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """As in a batch transform job, which reads the training data's layout."""
    yield from serve(ames, tmp_path_factory.mktemp("logs") / "batch.log", SAGEMAKER_BATCH="true")


@pytest.fixture(scope="module")
def expected(ames: AmesRun) -> pd.Series:
    """The hold-out houses' prices as the model predicts them in process, by house_id."""
    bundle = load_bundle(ames.ml.model)
    rows = pd.read_csv(HOLDOUT, dtype=str, keep_default_na=False)
    values = bundle.booster.inplace_predict(bundle.transform.transform_frame(rows))
    return pd.Series(values.astype(np.float32), index=rows["house_id"])


def test_a_batch_in_the_training_layout_is_answered_with_house_ids(batch, expected) -> None:
    status, body = batch.send("/invocations", HOLDOUT.read_bytes())
    assert status == 200, body
    answer = list(csv.reader(io.StringIO(body.decode())))
    assert answer[0] == ["house_id", "prediction"]
    assert [row[0] for row in answer[1:]] == list(expected.index)
    served = np.array([float(row[1]) for row in answer[1:]], dtype=np.float32)
    assert np.array_equal(served, expected.to_numpy())  # the float32 value, written exactly


def test_a_header_row_alone_is_answered_with_a_header_row(batch) -> None:
    """No rows to score (an object holding its header only): one header line, not a 500."""
    header = HOLDOUT.read_text().splitlines()[0]
    status, body = batch.send("/invocations", header + "\n")
    assert status == 200 and body.endswith(b"prediction\n") and body.count(b"\n") == 1


def test_an_endpoint_answers_a_prediction_per_row_in_each_format(endpoint, expected) -> None:
    rows = pd.read_csv(HOLDOUT, dtype=str, keep_default_na=False).drop(columns=["house_id"])
    first = rows.iloc[:3]
    want = expected.iloc[:3].to_numpy()
    body = first.to_csv(header=False, index=False)
    status, as_csv = endpoint.send("/invocations", body)
    assert status == 200 and np.array_equal(np.array(as_csv.split(), np.float32), want)
    instances = first.to_dict(orient="records")
    status, as_json = endpoint.send("/invocations", json.dumps({"instances": instances}),
                                    "application/json")
    predictions = json.loads(as_json)["predictions"]
    assert [set(p) for p in predictions] == [{"prediction"}] * 3
    assert np.array_equal(np.array([p["prediction"] for p in predictions], np.float32), want)
    lines = "".join(json.dumps(x) + "\n" for x in instances)
    status, as_lines = endpoint.send("/invocations", lines, "application/jsonlines")
    assert [json.loads(line) for line in as_lines.splitlines()] == predictions
    # An endpoint reads features only: a row in the training layout is a client's mistake.
    status, refused = endpoint.send("/invocations", HOLDOUT.read_text().splitlines()[1])
    assert status == 400 and b"columns" in refused


def test_batch_predictions_are_scored_against_the_known_prices(ames: AmesRun, batch,
                                                               tmp_path: Path) -> None:
    """What batch transform wrote (`<file>.out`) and holdout_labels.csv, as batch inference
    stages them for `process evaluate`."""
    status, predicted = batch.send("/invocations", HOLDOUT.read_bytes())
    ml = contract.MlPaths(tmp_path)
    model = ml.processing_input(contract.PROCESSING_INPUT_MODEL)
    model.parent.mkdir(parents=True)
    model.symlink_to(ames.ml.model, target_is_directory=True)
    predictions = ml.processing_input(contract.PROCESSING_INPUT_PREDICTIONS)
    labels = ml.processing_input(contract.PROCESSING_INPUT_LABELS)
    predictions.mkdir(parents=True)
    labels.mkdir(parents=True)
    (predictions / f"{HOLDOUT.name}.out").write_bytes(predicted)
    (labels / LABELS.name).write_bytes(LABELS.read_bytes())
    ok(entry("process", "evaluate", *gate_arguments(), root=tmp_path))
    out = ml.processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
    doc = json.loads((out / contract.EVALUATION_FILE).read_text())
    assert doc["data"]["source"] == "predictions"
    assert doc["data"]["predictions_without_label"] == doc["data"]["labels_without_prediction"] \
        == 0
    assert doc["rows"]["total"] == 293
    truth = pd.read_csv(LABELS)["Sale_Price"].to_numpy(dtype=float)
    served = np.array([float(r[1]) for r in list(csv.reader(io.StringIO(predicted.decode())))[1:]])
    assert doc["metrics"]["mae"] == pytest.approx(np.abs(truth - served).mean())
    assert doc["quality_gate"]["passed"] is True
    print(f"ames hold-out batch (293 houses): RMSE {doc['metrics']['rmse']:,.0f} "
          f"MAE {doc['metrics']['mae']:,.0f} R2 {doc['metrics']['r2']:.4f}")
