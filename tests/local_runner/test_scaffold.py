"""`mlplatform new-use-case`: a use case scaffolded from a template runs locally at once. The
scaffold goes into a copy of the project (it writes runtime_scripts/use_cases/<name>/), which
then synthesizes a stage deploying the new use case and runs its training pipeline end to
end, on the new folder's own files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local_runner.errors import RunnerError
from local_runner.scaffold import scaffold

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("app.py", "cdk.json", "package.json", "pyproject.toml", "config", "stacks",
           "ml_constructs", "runtime_scripts", "local_runner", "sample_data")
NAME, TEMPLATE, STAGE = "fraud", "churn", "scaffold"


@pytest.mark.parametrize(("name", "template", "message"), [
    ("Fraud_1", TEMPLATE, "new-use-case Fraud_1: not a use case name"),
    ("a-very-long-name", TEMPLATE, "not a use case name"),
    (TEMPLATE, TEMPLATE, f"runtime_scripts/use_cases/{TEMPLATE}/ exists"),
    (NAME, "chrun", "--from chrun: no use case is called 'chrun'; did you mean churn?"),
])
def test_a_wrong_name_or_template_is_refused_before_anything_is_written(name, template,
                                                                         message):
    with pytest.raises(RunnerError, match=message.replace("?", r"\?")):
        scaffold(name, template)
    assert not (ROOT / "runtime_scripts" / "use_cases" / NAME).exists()


def _cli(copy: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "local_runner.cli", *args], cwd=copy,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    for name in PROJECT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name,
                            ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
        else:
            shutil.copy2(source, root / name)
    (root / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    return root


@pytest.fixture(scope="module")
def scaffolded(copy) -> subprocess.CompletedProcess[str]:
    done = _cli(copy, "new-use-case", NAME, "--from", TEMPLATE)
    assert done.returncode == 0, done.stderr
    return done


def test_the_scaffold_renames_the_use_case_and_prints_the_next_steps(copy, scaffolded):
    folder = copy / "runtime_scripts" / "use_cases" / NAME
    assert f'name="{NAME}"' in (folder / "manifest.py").read_text()
    # The image it names is the template's (the shared tabular one, built with its name).
    image = [line for line in (folder / "manifest.py").read_text().splitlines()
             if "image=" in line]
    assert image and image == [line for line in (ROOT / "runtime_scripts" / "use_cases" /
                                                 TEMPLATE / "manifest.py").read_text().splitlines()
                               if "image=" in line]
    assert f'run_as("{NAME}", "runtime_scripts.common.tabular.train")' in \
        (folder / "train.py").read_text()
    assert f'USE_CASE = "{NAME}"' in (folder / "tests" / "test_use_case.py").read_text()
    assert f'"""The {NAME} use case\'s `train` entry point' in (folder / "train.py").read_text()
    # A file name that holds the template's name is data: unchanged, and listed for review.
    assert 'sample_data="sample_data/local_run/mlc_churn_train.csv"' in \
        (folder / "manifest.py").read_text()
    # Data is copied as it is: the dataset's target column keeps its name.
    assert (folder / "dataset.json").read_text() == \
        (ROOT / "runtime_scripts" / "use_cases" / TEMPLATE / "dataset.json").read_text()
    out = scaffolded.stdout
    assert f'add {{"name": "{NAME}"}} to "use_cases" in config/stages/dev.json' in out
    assert f"mlplatform run {NAME}:training {NAME}:batch-inference" in out
    assert f"Still naming {TEMPLATE} (" in out and "manifest.py:" in out


def test_the_scaffolded_use_cases_own_tests_pass(copy, scaffolded):
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"runtime_scripts/use_cases/{NAME}", "-k", "not jobs"],
                          cwd=copy, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 passed" in done.stdout


@pytest.fixture(scope="module")
def trained(copy, scaffolded) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The new use case in a stage of its own, its dataset spec edited as a user would (a
    feature dropped), synthesized and its training pipeline run locally."""
    spec_file = copy / "runtime_scripts" / "use_cases" / NAME / "dataset.json"
    spec = json.loads(spec_file.read_text())
    del spec["features"]["state"]
    spec_file.write_text(json.dumps(spec, indent=2))
    stage = json.loads((copy / "config" / "stages" / "dev.json").read_text())
    stage["use_cases"] = [{"name": NAME}]
    (copy / "config" / "stages" / f"{STAGE}.json").write_text(json.dumps(stage))
    results = copy / "local_out"
    done = _cli(copy, "run", f"{NAME}:training", "--stage", STAGE, "--results", str(results),
                timeout=1500)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    return done, results


def test_the_scaffolded_use_case_trains_end_to_end_on_its_own_files(trained):
    done, results = trained
    assert f"seeded s3://mlplatform-{STAGE}-storage-" in done.stdout
    assert f"/{NAME}/mlc_churn_train.csv" in done.stdout  # below its own data prefix
    evaluation = json.loads((results / "latest" / f"{NAME}-training" / "evaluation"
                             / "evaluation.json").read_text())
    # Its jobs ran as the new use case (ML_USE_CASE): its own, edited dataset spec.
    assert "state" not in evaluation["model"]["input_columns"]
    assert "account_length" in evaluation["model"]["input_columns"]
    assert evaluation["quality_gate"]["passed"] is True
    assert "Register model package" in done.stdout
