"""Local jobs share the machine's cores: their OpenMP threads sleep when idle, unless the job's
own image or request says otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_runner.executors.results import LocalProgram
from local_runner.executors.staging import job_environment

PROGRAM = LocalProgram(bin_dir=Path("/nonexistent/bin"), python="python3")


def test_a_job_runs_openmp_passive(monkeypatch, tmp_path):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert job_environment(PROGRAM, tmp_path)["OMP_WAIT_POLICY"] == "PASSIVE"


@pytest.mark.parametrize("where", ["runner", "request"])
def test_a_setting_of_its_own_wins(monkeypatch, tmp_path, where):
    if where == "runner":
        monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
        layers = ()
    else:
        layers = ({"OMP_WAIT_POLICY": "ACTIVE"},)
    assert job_environment(PROGRAM, tmp_path, *layers)["OMP_WAIT_POLICY"] == "ACTIVE"
