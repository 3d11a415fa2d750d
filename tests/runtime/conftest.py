"""Run the real entry points (runtime_scripts/bin/*) as SageMaker would, under a temp ML_ROOT.

`pipeline` runs preprocess -> train -> evaluate once per session on the committed sample data;
the tests read what it left behind and start extra runs only where they need other inputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime_scripts import contract

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "runtime_scripts" / "bin"
SAMPLE = REPO / "runtime_scripts" / "use_cases" / "churn" / "sample_data" / "mlc_churn.csv"
# Platform defaults, on one thread: OpenMP threads spinning on a shared 2-core box cost more
# than they give on 3,500 rows, and one thread keeps the suite fast next to other work.
PIPELINE_HPS = {"nthread": "1"}


def run_entry(entry: str, *args: str, root: Path, env: Mapping[str, str] | None = None,
              ) -> subprocess.CompletedProcess[str]:
    """Run bin/<entry> with ML_ROOT=root, as the container would, and capture its output."""
    # SM_* variables of the surrounding shell must not leak into the job under test.
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    full_env.update(ML_ROOT=str(root), PYTHON=sys.executable, ML_USE_CASE="churn", **(env or {}))
    return subprocess.run([str(BIN / entry), *args], env=full_env, capture_output=True,
                          text=True, timeout=300, check=False)


def stage_training(root: Path, processed: Path, hps: Mapping[str, str]) -> None:
    """The training job layout: channels are the preprocess outputs of `processed`."""
    ml, src = contract.MlPaths(root), contract.MlPaths(processed)
    ml.input_data.mkdir(parents=True, exist_ok=True)
    channels = (contract.CHANNEL_TRAIN, contract.CHANNEL_VALIDATION, contract.CHANNEL_TRANSFORM)
    for channel in channels:
        ml.channel(channel).symlink_to(src.processing_output(channel), target_is_directory=True)
    ml.hyperparameters.parent.mkdir(parents=True, exist_ok=True)
    ml.hyperparameters.write_text(json.dumps(dict(hps)))


def stage_evaluation(root: Path, model: Path, test: Path) -> None:
    ml = contract.MlPaths(root)
    for name, source in ((contract.PROCESSING_INPUT_MODEL, model),
                         (contract.PROCESSING_INPUT_TEST, test)):
        target = ml.processing_input(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(source, target_is_directory=True)


def make_model_archive(model_dir: Path, into: Path) -> Path:
    """model.tar.gz as SageMaker packs /opt/ml/model, in a directory as processing stages it."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(into / "model.tar.gz", "w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)
    return into


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@dataclass
class Pipeline:
    root: Path
    preprocess: subprocess.CompletedProcess[str]
    train: subprocess.CompletedProcess[str]
    evaluate: subprocess.CompletedProcess[str]

    @property
    def ml(self) -> contract.MlPaths:
        return contract.MlPaths(self.root)

    @property
    def summary(self) -> dict:
        return json.loads(self.preprocess.stdout.strip().splitlines()[-1])

    @property
    def evaluation(self) -> dict:
        path = self.ml.processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
        return json.loads((path / contract.EVALUATION_FILE).read_text())


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    root = tmp_path_factory.mktemp("ml")
    ml = contract.MlPaths(root)
    raw = ml.processing_input(contract.PROCESSING_INPUT_RAW)
    raw.mkdir(parents=True)
    (raw / SAMPLE.name).symlink_to(SAMPLE)
    preprocess = ok(run_entry("process", "preprocess", root=root))
    stage_training(root, root, PIPELINE_HPS)
    train = ok(run_entry("train", root=root))
    # Evaluation gets the archive exactly as a processing job stages an S3 model artefact.
    archive = make_model_archive(ml.model, root / "staged-model")
    stage_evaluation(root, archive, ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    evaluate = ok(run_entry("process", "evaluate", root=root))
    return Pipeline(root, preprocess, train, evaluate)


@pytest.fixture(autouse=True)
def _churn_use_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests run the shared tabular code as the churn use case's image does."""
    monkeypatch.setenv("ML_USE_CASE", "churn")
