"""The input-validator Lambda: its reserved concurrency (a typed config key, off by default)
and its code asset (the package and the project modules it imports, runnable on its own)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from config import ConfigError, load_stage_config
from ml_constructs.input_validation import HANDLER, PACKAGE, InputValidator
from ml_constructs.python_asset import AssetImportError, package_files
from runtime_scripts.pipeline_input import resolve

VALIDATORS = ("mlplatform-{stage}-pipeline-input", "mlplatform-{stage}-deployment-input")


def _functions(synthesized, stage: str) -> dict[str, dict]:
    found = {}
    for path in synthesized[stage].templates:
        for resource in json.loads(path.read_text())["Resources"].values():
            if resource["Type"] == "AWS::Lambda::Function":
                name = resource["Properties"].get("FunctionName")
                if isinstance(name, str):
                    found[name] = resource["Properties"]
    return found


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_validators_reserve_no_concurrency_by_default(synthesized, stage):
    """A new account's concurrency quota can be 10 and Lambda keeps 100 unreserved, so any
    reservation fails the first deploy there: none unless the stage asks for one."""
    assert load_stage_config(stage).input_validation.reserved_concurrency is None
    functions = _functions(synthesized, stage)
    for name in VALIDATORS:
        assert "ReservedConcurrentExecutions" not in functions[name.format(stage=stage)]


def test_a_configured_reservation_reaches_the_function(tmp_path):
    path = tmp_path / "qa.json"
    path.write_text(json.dumps({"input_validation": {"reserved_concurrency": 5},
                                "use_cases": [{"name": "churn"}]}))
    config = load_stage_config("qa", path)
    stack = cdk.Stack(cdk.App(), "Test")
    InputValidator(stack, "Validator", function_name="mlplatform-qa-pipeline-input",
                   key=kms.Key(stack, "Key"), log_retention=logs.RetentionDays.ONE_WEEK,
                   reserved_concurrency=config.input_validation.reserved_concurrency)
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function", {"ReservedConcurrentExecutions": 5})


@pytest.mark.parametrize(("value", "message"), [
    (0, "input_validation.reserved_concurrency': 0 is below the minimum (allowed: >= 1)"),
    (-3, "is below the minimum"),
    ("10", "must be an integer"),
    (2.5, "must be an integer"),
    (True, "must be an integer"),
])
def test_bad_reservations_name_the_key(tmp_path, value, message):
    path = tmp_path / "qa.json"
    path.write_text(json.dumps({"input_validation": {"reserved_concurrency": value},
                                "use_cases": [{"name": "churn"}]}))
    with pytest.raises(ConfigError, match="input_validation.reserved_concurrency") as error:
        load_stage_config("qa", path)
    assert message in str(error.value)


# --- the function's code asset -------------------------------------------------------------------
def _asset_folders(stage) -> set[Path]:
    """The staged code folder of every input validator in a synthesized stage."""
    folders = set()
    for path in stage.templates:
        for resource in json.loads(path.read_text())["Resources"].values():
            if (resource["Type"] == "AWS::Lambda::Function"
                    and resource["Properties"].get("Handler") == HANDLER):
                folders.add(path.parent / resource["Metadata"]["aws:asset:path"])
    return folders


def test_the_asset_holds_the_package_and_the_contract_it_imports_and_nothing_else(dev):
    (folder,) = _asset_folders(dev)  # both validators of the stage share one asset
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == package_files(PACKAGE)
    assert "runtime_scripts/contract.py" in files
    # Of the shared runtime, only the standard-library modules the backtest's rules share
    # with its split job (the window arithmetic and the dataset spec's time key) and the
    # data profile cross-validation's first run builds as its split job does, and the rule on
    # how many folds the data holds.
    shared = {f for f in files if f.startswith("runtime_scripts/common/")}
    assert shared == {"runtime_scripts/common/__init__.py",
                      "runtime_scripts/common/resampling/__init__.py",
                      "runtime_scripts/common/resampling/data_profile.py",
                      "runtime_scripts/common/resampling/fold_rules.py",
                      "runtime_scripts/common/resampling/periods.py",
                      "runtime_scripts/common/resampling/windows.py",
                      "runtime_scripts/common/tabular/__init__.py",
                      "runtime_scripts/common/tabular/time_spec.py"}


def test_the_handler_imports_and_runs_from_its_asset_alone(dev):
    """As the Lambda runtime loads it: only the asset's root on sys.path (-I: no cwd, no
    PYTHONPATH; -S: no site-packages), and every module from the asset."""
    from tests.pipeline_input.events import event

    (folder,) = _asset_folders(dev)
    module, _, function = HANDLER.rpartition(".")
    code = ("import importlib, json, sys; sys.path.insert(0, sys.argv[1]); "
            f"handler = getattr(importlib.import_module({module!r}), {function!r}); "
            "out = handler(json.loads(sys.stdin.read()), None); "
            "files = [m.__file__ for n, m in sys.modules.items() "
            "         if n.startswith('runtime_scripts')]; "
            "print(json.dumps({'out': out, 'files': files}))")
    ev = event("training", {"tuning": {"max_jobs": 12}})
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(folder)],
                          input=json.dumps(ev), capture_output=True, text=True, check=False,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["out"] == resolve(ev)
    assert any(f.endswith("runtime_scripts/contract.py") for f in result["files"])
    assert all(Path(f).is_relative_to(folder) for f in result["files"])


def test_a_package_importing_beyond_the_standard_library_and_boto3_cannot_be_shipped(
        tmp_path):
    package = tmp_path / "project" / "handlers"
    package.mkdir(parents=True)
    (tmp_path / "project" / "__init__.py").write_text("")
    (tmp_path / "project" / "shared.py").write_text("import json\n")
    (package / "__init__.py").write_text("")
    (package / "ok.py").write_text("from .. import shared\nfrom . import other\n")
    (package / "other.py").write_text("import os\n")
    assert package_files("project.handlers", tmp_path) == [
        "project/__init__.py", "project/handlers/__init__.py", "project/handlers/ok.py",
        "project/handlers/other.py", "project/shared.py"]
    (package / "sdk.py").write_text("import boto3\n")  # the Lambda runtime's own SDK
    assert "project/handlers/sdk.py" in package_files("project.handlers", tmp_path)
    (package / "bad.py").write_text("import numpy\n")
    with pytest.raises(AssetImportError, match="bad.py imports numpy"):
        package_files("project.handlers", tmp_path)
