"""Serving fixtures: a model directory trained in-process on the sample data, and one real server
(`runtime_scripts/bin/serve`, two workers) shared by the tests of a session."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from benchmarks.sample_model import SampleModel, build_sample_model
from runtime_scripts.common.serving.model import ModelArtifacts
from tests.serving.server_process import ServerProcess


@pytest.fixture(scope="session")
def sample_model(tmp_path_factory: pytest.TempPathFactory) -> SampleModel:
    # 60 rounds keep the fixture fast; the trees are real all the same.
    return build_sample_model(tmp_path_factory.mktemp("ml") / "model", rounds=60)


@pytest.fixture(scope="session")
def artifacts(sample_model: SampleModel) -> ModelArtifacts:
    return ModelArtifacts.load(sample_model.model_dir)


@pytest.fixture(scope="session")
def holdout(sample_model: SampleModel) -> pd.DataFrame:
    """Raw feature columns of rows the model was not trained on, as strings."""
    return sample_model.holdout[sample_model.spec.feature_names]


@pytest.fixture(scope="session")
def expected(artifacts: ModelArtifacts):
    """In-process predictions: the DataFrame transform and `inplace_predict`, no server code."""

    def predict(frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        features = artifacts.transform.transform_frame(frame)
        probabilities = artifacts.booster.inplace_predict(features)
        schema = artifacts.schema
        labels = [
            schema.positive_label if p >= schema.decision_threshold else schema.negative_label
            for p in probabilities
        ]
        return probabilities.astype(np.float32), labels

    return predict


@pytest.fixture(scope="session")
def server(sample_model: SampleModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    ServerProcess
]:
    ml_root = sample_model.model_dir.parent  # ML_ROOT/model is the model directory
    proc = ServerProcess(
        tmp_path_factory.mktemp("logs") / "serve.log",
        env={"ML_ROOT": str(ml_root), "SAGEMAKER_MODEL_SERVER_WORKERS": "2"},
    )
    try:
        proc.wait_ready()
        yield proc
    finally:
        code = proc.stop()
    assert code == 0, f"serve did not shut down cleanly on SIGTERM:\n{proc.log}"



@pytest.fixture(autouse=True)
def _churn_use_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests run the shared tabular code as the churn use case's image does."""
    monkeypatch.setenv("ML_USE_CASE", "churn")
