"""End to end on the sample data, through the SageMaker directory layout under a temp ML_ROOT:
bin/process preprocess -> bin/train -> bin/serve, and predictions over HTTP equal in-process
predictions from the model directory training wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost

from runtime_scripts import contract
from runtime_scripts.common.tabular.transform import FittedTransform
from tests.serving.server_process import REPO_ROOT, ServerProcess

BIN = REPO_ROOT / "runtime_scripts" / "bin"
SAMPLE = REPO_ROOT / "runtime_scripts" / "use_cases" / "churn" / "sample_data" / "mlc_churn.csv"


def run(entry: str, *args: str, root: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}  # no leaks inward
    env |= {"ML_ROOT": str(root), "PYTHON": sys.executable, "ML_USE_CASE": "churn"}
    done = subprocess.run([str(BIN / entry), *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, f"{entry} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> contract.MlPaths:
    ml = contract.MlPaths(tmp_path_factory.mktemp("e2e"))
    raw = ml.processing_input(contract.PROCESSING_INPUT_RAW)
    raw.mkdir(parents=True)
    (raw / SAMPLE.name).symlink_to(SAMPLE)
    run("process", "preprocess", root=ml.root)
    # The training job sees the preprocessing outputs as its channels, as the pipeline maps them.
    ml.input_data.mkdir(parents=True)
    for channel in (contract.CHANNEL_TRAIN, contract.CHANNEL_VALIDATION,
                    contract.CHANNEL_TRANSFORM):
        ml.channel(channel).symlink_to(ml.processing_output(channel), target_is_directory=True)
    ml.hyperparameters.parent.mkdir(parents=True)
    ml.hyperparameters.write_text(json.dumps({"nthread": "1"}))  # strings, as SageMaker sends
    run("train", root=ml.root)
    return ml


def test_preprocess_train_serve(trained: contract.MlPaths, tmp_path: Path):
    test_dir = trained.processing_output(contract.PROCESSING_OUTPUT_TEST)
    raw_test = pd.read_csv(test_dir / contract.RAW_TEST_FILE, dtype=str, keep_default_na=False)
    schema = json.loads((trained.model / contract.FEATURE_SCHEMA_FILE).read_text())
    features = raw_test[schema["input_columns"]]

    # In process, from the model directory alone: the DataFrame transform and the booster.
    transform = FittedTransform.load(trained.model / contract.TRANSFORM_FILE)
    booster = xgboost.Booster()
    booster.load_model(trained.model / contract.MODEL_FILE)
    want = booster.inplace_predict(transform.transform_frame(features))

    server = ServerProcess(tmp_path / "serve.log", {"ML_ROOT": str(trained.root)},
                           ["--workers", "1"])
    try:
        server.wait_ready()
        body = "\n".join(",".join(r) for r in features.to_numpy().tolist()) + "\n"
        csv_reply = server.request("POST", "/invocations", body, {"Content-Type": "text/csv"})
        # JSON records as a client might hold them: with the target column, which is ignored.
        records = raw_test.to_dict(orient="records")
        json_reply = server.request("POST", "/invocations", json.dumps({"instances": records}),
                                    {"Content-Type": "application/json"})
    finally:
        assert server.stop() == 0
    assert csv_reply.status == 200 and json_reply.status == 200, (csv_reply, json_reply)
    lines = [line.split(",") for line in csv_reply.text.splitlines()]
    got = np.array([float(p) for p, _ in lines], dtype=np.float32)
    np.testing.assert_array_equal(got, want)
    predictions = json.loads(json_reply.body)["predictions"]
    np.testing.assert_array_equal(
        np.array([p["probability"] for p in predictions], dtype=np.float32), want
    )
    threshold = schema.get("decision_threshold", 0.5)
    labels = [schema["positive_label"] if p >= threshold else schema["negative_label"]
              for p in want]
    assert [label for _, label in lines] == labels == [p["label"] for p in predictions]
