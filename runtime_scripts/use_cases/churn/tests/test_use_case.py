"""The churn use case on its own: its manifest and the files it names, and its jobs run end to
end on its local-run data (preprocess -> train -> evaluate, as SageMaker runs the image) with
the default quality gate passing. `mlplatform new-use-case` copies these tests."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from runtime_scripts import contract
from runtime_scripts.common.manifest import load_manifest
from runtime_scripts.use_cases import testing

FOLDER = Path(__file__).resolve().parents[1]
USE_CASE = "churn"
BIN = FOLDER.parents[1] / "bin"


@pytest.fixture(scope="module")
def manifest():
    return load_manifest(USE_CASE)


@pytest.fixture(scope="module")
def spec(manifest) -> dict:
    return json.loads(manifest.path(manifest.dataset_spec).read_text())


def test_the_manifest_loads_and_is_this_folders(manifest):
    assert manifest.name == FOLDER.name and manifest.folder == FOLDER


def test_the_local_run_data_fits_the_dataset_spec(manifest, spec):
    columns = [*spec["id_columns"], *spec["features"]]
    train = pd.read_csv(manifest.path(manifest.sample_data), dtype=str)
    assert set(columns) | {spec["target"]} <= set(train.columns)
    assert set(train[spec["target"]]) == {spec["positive_label"], spec["negative_label"]}
    if manifest.local_batch:
        batch = pd.read_csv(manifest.path(manifest.local_batch), dtype=str)
        assert set(columns) <= set(batch.columns) and spec["target"] not in batch.columns
        ids = spec["id_columns"]
        # Rows scored in a local run were never trained on: their metrics are a hold-out's.
        assert not set(map(tuple, batch[ids].values)) & set(map(tuple, train[ids].values))
    if manifest.local_batch and manifest.local_batch_labels:
        labels = pd.read_csv(manifest.path(manifest.local_batch_labels), dtype=str)
        assert list(labels.columns) == [*spec["id_columns"], spec["target"]]
        assert list(labels[ids].values.tolist()) == list(batch[ids].values.tolist())


def _run(entry: str, *args: str, root: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    env.update(ML_ROOT=str(root), PYTHON=testing.job_python(), ML_USE_CASE=USE_CASE)
    done = subprocess.run([str(BIN / entry), *args], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, f"{entry} {args}: exit {done.returncode}\n{done.stderr[-3000:]}"
    return done


def _link(target: Path, source: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(source, target_is_directory=source.is_dir())


def test_its_jobs_train_a_model_that_passes_its_default_gate(manifest, tmp_path):
    ml = contract.MlPaths(tmp_path)
    data = manifest.path(manifest.sample_data)
    _link(ml.processing_input(contract.PROCESSING_INPUT_RAW) / data.name, data)
    _run("process", "preprocess", root=tmp_path)
    for channel in (contract.CHANNEL_TRAIN, contract.CHANNEL_VALIDATION,
                    contract.CHANNEL_TRANSFORM):
        _link(ml.channel(channel), ml.processing_output(channel))
    ml.hyperparameters.parent.mkdir(parents=True, exist_ok=True)
    ml.hyperparameters.write_text(json.dumps({**manifest.hyperparameters, "nthread": "1"}))
    _run("train", root=tmp_path)
    staged = tmp_path / "staged-model"  # the archive as a processing job stages model.tar.gz
    staged.mkdir()
    with tarfile.open(staged / "model.tar.gz", "w:gz") as tar:
        for path in sorted(ml.model.iterdir()):
            tar.add(path, arcname=path.name)
    _link(ml.processing_input(contract.PROCESSING_INPUT_MODEL), staged)
    _link(ml.processing_input(contract.PROCESSING_INPUT_TEST),
          ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    gate = [f"{c.metric}{c.comparison}{c.threshold}" for c in manifest.gate]
    _run("process", "evaluate", *(arg for c in gate for arg in ("--gate", c)), root=tmp_path)
    evaluation = json.loads((ml.processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
                             / contract.EVALUATION_FILE).read_text())
    assert set(manifest.metric_names) <= set(evaluation["metrics"])
    assert evaluation["quality_gate"]["passed"], evaluation["quality_gate"]["failed"]
