"""Shared job plumbing, in-process: atomic outputs, failure reporting, model archives, imports."""

from __future__ import annotations

import ast
import io
import tarfile
from pathlib import Path

import pytest

from runtime_scripts.common.jobio import JobError, atomic_outputs, run_job
from runtime_scripts.common.model_bundle import resolve_model_dir

RUNTIME = Path(__file__).resolve().parents[2] / "runtime_scripts"
FORBIDDEN = {"aws_cdk", "boto3", "botocore", "constructs", "stacks", "config", "ml_constructs",
             "local_runner", "benchmarks", "tests"}
# Code that never runs in a job's container may use the AWS SDK its runtime provides: the Glue
# script (Glue ships boto3; it assigns Lake Formation tags) and the notebooks' data access
# (Studio ships boto3; it queries Athena). Both import it inside the function that needs it.
SDK_ALLOWED = {"glue/etl.py", "common/tabular/notebook.py",
               # The input validator Lambda's data read (the Python runtimes ship boto3).
               "pipeline_input/data_reads.py"}


def test_failed_job_leaves_targets_untouched_and_no_staging(tmp_path: Path) -> None:
    out = tmp_path / "output"
    (out / "train").mkdir(parents=True)
    (out / "train" / "data.csv").write_text("previous run\n")
    targets = {"train": out / "train", "test": out / "test"}
    with pytest.raises(RuntimeError), atomic_outputs(targets) as staged:
        (staged["train"] / "data.csv").write_text("half")
        (staged["test"] / "data.csv").write_text("written")
        raise RuntimeError("disk full")
    assert sorted(p.name for p in out.iterdir()) == ["train"]
    assert (out / "train" / "data.csv").read_text() == "previous run\n"


def test_successful_job_replaces_every_target(tmp_path: Path) -> None:
    out = tmp_path / "output"
    (out / "train").mkdir(parents=True)
    (out / "train" / "stale.csv").write_text("old")
    (out / "test").mkdir()  # empty, as SageMaker pre-creates processing outputs
    targets = {"train": out / "train", "test": out / "test", "new": out / "new"}
    with atomic_outputs(targets) as staged:
        for name, path in staged.items():
            (path / "data.csv").write_text(name)
    for name in targets:
        assert [p.name for p in (out / name).iterdir()] == ["data.csv"]
        assert (out / name / "data.csv").read_text() == name
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_run_job_reports_one_line_and_exit_codes(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    failure = tmp_path / "output" / "failure"

    def bad_input() -> None:
        raise JobError("column 'x' is missing:\nadd it")

    def bug() -> None:
        raise KeyError("boom")

    assert run_job(lambda: None, failure, "job") == 0 and not failure.exists()
    assert run_job(bad_input, failure, "job") == 1
    assert failure.read_text() == "job failed: column 'x' is missing: add it"
    assert "Traceback" not in capsys.readouterr().err
    assert run_job(bug, failure, "job") == 2
    assert failure.read_text() == "job failed with an unexpected KeyError: 'boom'"
    assert "Traceback" in capsys.readouterr().err  # a bug keeps its traceback for debugging


def test_model_archive_with_an_escaping_path_is_refused(tmp_path: Path) -> None:
    staged = tmp_path / "model"
    staged.mkdir()
    with tarfile.open(staged / "model.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("../../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(JobError, match="cannot extract model archive"):
        resolve_model_dir(staged, tmp_path / "extract")
    assert not (tmp_path / "escape.txt").exists()


def test_model_dir_missing_files_is_named(tmp_path: Path) -> None:
    (tmp_path / "xgboost-model.json").write_text("{}")
    with pytest.raises(JobError, match=r"lacks \['transform.json', 'feature_schema.json'\]"):
        resolve_model_dir(tmp_path, tmp_path / "x")


def test_runtime_scripts_import_nothing_from_the_platform_side() -> None:
    offenders = []
    for path in RUNTIME.rglob("*.py"):
        if "tests" in path.relative_to(RUNTIME).parts:
            continue  # a use case's tests drive the platform too (its synth, its local runner)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom)
                     and not node.level else [])
            relative = str(path.relative_to(RUNTIME))
            offenders += [f"{relative}: {n}" for n in names if n.split(".")[0] in FORBIDDEN
                          and not (relative in SDK_ALLOWED and n.split(".")[0] == "boto3")]
    assert not offenders
