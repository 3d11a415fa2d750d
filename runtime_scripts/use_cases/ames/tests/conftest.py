"""The ames use case run as its image runs it: the real entry points (runtime_scripts/bin/*) with
ML_USE_CASE=ames, under a temp ML_ROOT, on the committed sample data.

`ames` runs preprocess -> train -> evaluate once per session with the manifest's default
hyperparameters and gate, on the sample less the local run's hold-out houses (as the local run
trains), so that the hold-out batch is scored by a model that never saw it; the tests read what
it left behind.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runtime_scripts.common.manifest import USE_CASE_ENV
from runtime_scripts.use_cases import testing
from runtime_scripts.use_cases.ames.manifest import MANIFEST

TRAINING_DATA = MANIFEST.folder / "sample_data" / "local_run" / "ames_train.csv"
# The use case's own defaults, on one thread (a shared 2-core machine: threads only contend).
DEFAULT_HPS = {**MANIFEST.hyperparameters, "nthread": "1"}


def gate_arguments(conditions=MANIFEST.gate) -> list[str]:
    """`--gate metric<op>threshold` arguments, as the pipeline's input validator writes them."""
    return [arg for c in conditions for arg in ("--gate", f"{c.metric}{c.comparison}"
                                                          f"{c.threshold!r}")]


def entry(name: str, *args: str, root: Path) -> subprocess.CompletedProcess[str]:
    """bin/<name> for the ames use case with ML_ROOT=root."""
    return testing.run_entry(name, *args, root=root, use_case=MANIFEST.name)


AmesRun = testing.PipelineRun


@pytest.fixture(scope="session")
def ames(tmp_path_factory: pytest.TempPathFactory) -> AmesRun:
    return testing.run_training_pipeline(tmp_path_factory.mktemp("ames"), MANIFEST.name,
                                         TRAINING_DATA, DEFAULT_HPS, gate_arguments())


@pytest.fixture(autouse=True)
def _ames_use_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process code runs for the ames use case, as its image does."""
    monkeypatch.setenv(USE_CASE_ENV, MANIFEST.name)
