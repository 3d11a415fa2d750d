"""A use case's own dependencies: what is missing is found from its pins, and installed once."""

from dataclasses import replace
from importlib import metadata

import pytest

from local_runner import use_case_requirements
from local_runner.use_case_requirements import ensure_installed, missing_pins
from runtime_scripts.common.manifest import ManifestError, load_manifest


def test_only_pins_this_environment_lacks_are_missing(tmp_path):
    pytest_version = metadata.version("pytest")
    file = tmp_path / "requirements.txt"
    file.write_text(f"# comment\nPyTest=={pytest_version}  # satisfied\n"
                    "not-a-real-package-xyz==1.0\nruff==0.0.1\n")
    assert missing_pins(file) == ["not-a-real-package-xyz==1.0", "ruff==0.0.1"]


def test_a_satisfied_use_case_installs_nothing_and_a_missing_pin_runs_pip(tmp_path, monkeypatch):
    churn = load_manifest("churn")
    assert ensure_installed([churn]) == []  # no requirements of its own
    folder = tmp_path / "uc"
    folder.mkdir()
    (folder / "requirements.txt").write_text("not-a-real-package-xyz==1.0\n")
    own = replace(churn, requirements="requirements.txt")
    monkeypatch.setattr(type(own), "folder", property(lambda self: folder))
    calls = []

    class Done:
        returncode, stderr = 1, "ERROR: No matching distribution found"

    monkeypatch.setattr(use_case_requirements.subprocess, "run",
                        lambda command, **_: calls.append(command) or Done())
    with pytest.raises(use_case_requirements.RunnerError, match="No matching distribution"):
        ensure_installed([own], announce=lambda _: None)
    assert calls and calls[0][-1] == str(folder / "requirements.txt")


def test_requirements_need_the_use_cases_own_dockerfile():
    churn = load_manifest("churn")  # the shared tabular Dockerfile
    with pytest.raises(ManifestError, match="own Dockerfile"):
        replace(churn, requirements="dataset.json").validate()
