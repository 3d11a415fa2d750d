"""The demand use case run as its image runs it: the real entry points (runtime_scripts/bin/*)
with ML_USE_CASE=demand, under a temp ML_ROOT, on three pizzas of the bundled sample (a small,
fast slice of the same data: preprocess -> train -> evaluate once per session, two backtest
windows, every baseline)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from runtime_scripts.common.manifest import USE_CASE_ENV
from runtime_scripts.use_cases import testing
from runtime_scripts.use_cases.demand.manifest import MANIFEST

SAMPLE = MANIFEST.path(MANIFEST.sample_data)
PIZZAS = ("classic_dlx", "brie_carre", "the_greek")
HPS = {**MANIFEST.hyperparameters, "num_round": "40", "nthread": "1"}
WINDOWS = 2


def gate_arguments(conditions=MANIFEST.gate) -> list[str]:
    return [arg for c in conditions for arg in ("--gate", f"{c.metric}{c.comparison}"
                                                          f"{c.threshold!r}")]


@pytest.fixture(scope="session")
def demand(tmp_path_factory: pytest.TempPathFactory) -> testing.PipelineRun:
    root = tmp_path_factory.mktemp("demand")
    raw = pd.read_csv(SAMPLE)
    raw[raw["name"].isin(PIZZAS)].to_csv(root / "pizzas.csv", index=False)
    return testing.run_training_pipeline(root / "run", MANIFEST.name, root / "pizzas.csv", HPS,
                                         ["--windows", str(WINDOWS), *gate_arguments()])


@pytest.fixture(autouse=True)
def _demand_use_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(USE_CASE_ENV, MANIFEST.name)


def model_dir(run: testing.PipelineRun) -> Path:
    return run.ml.model
