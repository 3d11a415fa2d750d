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


def test_a_glue_schema_deduplicating_on_a_column_it_lacks_is_refused(tmp_path):
    churn = load_manifest("churn")
    schema = tmp_path / "glue_schema.json"  # a copy whose dedup key its columns lack
    schema.write_text(churn.path(churn.glue_schema).read_text().replace(
        '"dedup_keys": ["customer_id"]', '"dedup_keys": ["patient_id"]'))
    with pytest.raises(ManifestError, match="dedup_keys patient_id are not among its columns"):
        replace(churn, glue_schema=str(schema)).validate()


def test_make_test_resolves_every_use_case_with_the_platform_then_installs_no_deps_files(
        monkeypatch):
    calls = []

    class Done:
        returncode, stderr = 0, ""

    monkeypatch.setattr(use_case_requirements.subprocess, "run",
                        lambda command, **_: calls.append(command[command.index("install"):])
                        or Done())
    # pip installs without compiling: the environment is compiled after (local_runner/bytecode.py).
    monkeypatch.setattr(use_case_requirements, "compile_installed",
                        lambda: calls.append(["compiled"]))
    use_case_requirements.install_all()
    assert calls.pop() == ["compiled"]
    resolved, *no_deps = calls
    files = [resolved[i + 1] for i, arg in enumerate(resolved) if arg == "-r"]
    assert files[0].endswith("requirements-dev.txt")
    owners = [load_manifest(name) for name in use_case_requirements.available_use_cases()]
    assert files[1:] == [str(m.path(m.requirements)) for m in owners if m.requirements]
    assert no_deps == [["install", "--quiet", "--disable-pip-version-check", "--no-compile",
                        "--no-deps", "-r", str(m.path(m.requirements_no_deps))]
                       for m in owners if m.requirements_no_deps]
    assert no_deps  # a use case (demand) has such a file: the rule is exercised


def test_cross_validation_of_data_the_split_job_cannot_fold_is_refused():
    demand = load_manifest("demand")  # forecasting: refuses cross-validation, with its reason
    assert not demand.cross_validation.allowed and demand.cross_validation.refusal
    with pytest.raises(ManifestError, match="folds the rows of a tabular dataset spec"):
        replace(demand, cross_validation=type(demand.cross_validation)()).validate()
