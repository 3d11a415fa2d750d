"""Run the real entry points (runtime_scripts/bin/*) as SageMaker would, under a temp ML_ROOT.

`pipeline` runs preprocess -> train -> evaluate once per session on the committed sample data;
the tests read what it left behind and start extra runs only where they need other inputs.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from runtime_scripts.use_cases import testing
from runtime_scripts.use_cases.testing import (
    make_model_archive,
    ok,
    stage_evaluation,
    stage_training,
)

__all__ = ["make_model_archive", "ok", "run_entry", "stage_evaluation", "stage_training"]
REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "runtime_scripts" / "use_cases" / "churn" / "sample_data" / "mlc_churn.csv"
# Platform defaults, on one thread: OpenMP threads spinning on a shared 2-core box cost more
# than they give on 3,500 rows, and one thread keeps the suite fast next to other work.
PIPELINE_HPS = {"nthread": "1"}


def run_entry(entry: str, *args: str, root: Path, env: Mapping[str, str] | None = None,
              ) -> subprocess.CompletedProcess[str]:
    """Run bin/<entry> with ML_ROOT=root, as the churn image would, and capture its output."""
    return testing.run_entry(entry, *args, root=root, use_case="churn", env=env)


Pipeline = testing.PipelineRun


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    return testing.run_training_pipeline(tmp_path_factory.mktemp("ml"), "churn", SAMPLE,
                                         PIPELINE_HPS)


@pytest.fixture(autouse=True)
def _churn_use_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests run the shared tabular code as the churn use case's image does."""
    monkeypatch.setenv("ML_USE_CASE", "churn")
