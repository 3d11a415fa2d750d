"""`mlplatform`'s own work before any pipeline runs: it synthesizes from any shell (no activated
venv), checks what the user typed before the synth, and keeps one cloud assembly per stage."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local_runner import cli
from local_runner.assembly import STAGE_MARKER, synth_command, synth_is_current

ROOT = Path(__file__).resolve().parents[2]


# --- before the synth ----------------------------------------------------------------------------
@pytest.fixture
def no_synth(monkeypatch, tmp_path):
    """Any synth fails the test; assemblies would go under tmp_path."""
    def synth(stage, outdir):
        raise AssertionError(f"synthesized {stage} although the command line was wrong")

    monkeypatch.setattr(cli, "synth", synth)
    monkeypatch.setattr(cli, "assembly_dir", lambda stage: tmp_path / "cdk.out" / stage)
    return tmp_path


@pytest.mark.parametrize(("argv", "message"), [
    (["--stage", "qa"], "unknown stage 'qa'"),
    (["--stage", "qa"], "to add a stage, create config/stages/qa.json"),
    (["--input", "missing.json"], "input file missing.json does not exist"),
    (["--input", "{bad}"], "is not JSON: Expecting property name enclosed in double quotes at "
                           "line 1, column 2"),
    (["--input", "[list]"], "holds list, not a JSON object"),
    (["--input", "trainig=x.json"], "no pipeline is called 'trainig'; did you mean training?"),
    (["--input", "deployment=x.json"], "deployment is not one of the pipelines run (training)"),
    (["--input", "{}", "--input", "training={}"], "a second input for training"),
    (["--seed", "missing.json"], "--seed missing.json: no such file"),
    (["--max-trials", "0"], "--max-trials 0: at least 1 trial is needed"),
])
def test_mistakes_on_the_command_line_stop_before_the_synth(no_synth, capsys, argv, message):
    files = {"{bad}": "{bad", "[list]": "[1]", "{}": "{}"}
    for name, text in files.items():
        (no_synth / name).write_text(text)
    argv = [str(no_synth / a) if a in files else a for a in argv]
    argv = [a.replace("training={}", f"training={no_synth / '{}'}") for a in argv]
    assert cli.main(["run", "training", *argv]) == 1
    assert message in capsys.readouterr().err


def test_a_wrong_stage_file_is_reported_before_the_synth(no_synth, capsys, monkeypatch):
    import config.stage_files

    stages = no_synth / "stages"
    stages.mkdir()
    (stages / "broken.json").write_text(json.dumps({"trainig": {}, "log_retention_days": 42,
                                                    "use_cases": [{"name": "churn"}]}))
    monkeypatch.setattr(config.stage_files, "STAGES_DIR", stages)
    assert cli.main(["summary", "--stage", "broken"]) == 1
    err = capsys.readouterr().err
    assert "broken.json: 2 problems" in err and "did you mean 'training'?" in err


# --- one assembly per stage ----------------------------------------------------------------------
def test_switching_stages_reuses_each_stages_assembly(monkeypatch, tmp_path, capsys):
    synthesized: list[str] = []

    def synth(stage, outdir):
        synthesized.append(stage)
        (outdir / "manifest.json").parent.mkdir(parents=True, exist_ok=True)
        (outdir / "manifest.json").write_text('{"artifacts": {}}')
        (outdir / STAGE_MARKER).write_text(stage)

    monkeypatch.setattr(cli, "synth", synth)
    monkeypatch.setattr(cli, "assembly_dir", lambda stage: tmp_path / "cdk.out" / stage)
    for stage in ("dev", "prod", "dev", "prod", "dev"):
        assert cli.main(["summary", "--stage", stage]) == 0
    assert synthesized == ["dev", "prod"]
    assert "into " + str(tmp_path / "cdk.out" / "prod") in capsys.readouterr().out


def _project(root: Path) -> Path:
    for name in ("app.py", "cdk.json", "stacks/app_stack.py", "config/stages/dev.json",
                 "config/stages/prod.json", "runtime_scripts/train.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")
    return root


def _assembly(root: Path, stage: str, mtime: float) -> Path:
    outdir = root / "cdk.out" / stage
    outdir.mkdir(parents=True)
    (outdir / STAGE_MARKER).write_text(stage)
    os.utime(outdir / STAGE_MARKER, (mtime, mtime))
    return outdir


def test_only_the_stage_whose_sources_changed_is_stale(tmp_path):
    root = _project(tmp_path)
    for path in root.rglob("*"):
        os.utime(path, (1000, 1000))
    dev, prod = _assembly(root, "dev", 2000), _assembly(root, "prod", 2000)
    assert synth_is_current(dev, "dev", ["dev"], root=root)
    assert not synth_is_current(dev, "prod", ["prod"], root=root)  # another stage's assembly

    os.utime(root / "config/stages/prod.json", (3000, 3000))  # prod's file edited
    assert synth_is_current(dev, "dev", ["dev"], root=root)
    assert not synth_is_current(prod, "prod", ["prod"], root=root)
    assert not synth_is_current(dev, "dev", ["dev", "prod"], root=root)  # a pipeline of both

    os.utime(root / "stacks/app_stack.py", (4000, 4000))  # code of every stage
    assert not synth_is_current(dev, "dev", ["dev"], root=root)


# --- from any shell ------------------------------------------------------------------------------
def _path_without_the_venv() -> str:
    venv_bins = {Path(sys.executable).parent, Path(sys.prefix) / "bin"}
    return os.pathsep.join(entry for entry in os.environ["PATH"].split(os.pathsep)
                           if entry and Path(entry) not in venv_bins)


def test_the_synth_runs_the_app_with_the_clis_own_interpreter(tmp_path):
    command = synth_command("dev", tmp_path)
    assert command[command.index("--app") + 1] == f'"{sys.executable}" app.py'
    assert command[command.index("--output") + 1] == str(tmp_path)


@pytest.fixture(scope="module")
def venvless_synth(tmp_path_factory):
    """`mlplatform summary` from a shell whose PATH has no venv (no `activate`): the case where
    cdk.json's `python3 app.py` finds an interpreter without aws_cdk."""
    path = _path_without_the_venv()
    python3 = shutil.which("python3", path=path)
    if python3 is not None:
        has_cdk = subprocess.run([python3, "-c", "import importlib.util, sys; "
                                  "sys.exit(importlib.util.find_spec('aws_cdk') is None)"],
                                 capture_output=True).returncode == 0
        if has_cdk:
            pytest.skip(f"{python3} (outside the venv) has aws_cdk: nothing to show here")
    if shutil.which("node", path=path) is None:
        pytest.skip("node is only on the venv's PATH")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = path
    outdir = tmp_path_factory.mktemp("cdk-out") / "dev"

    def summary():
        return subprocess.run([sys.executable, "-m", "local_runner.cli", "summary", "--stage",
                               "dev", "--outdir", str(outdir)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)

    return summary(), summary(), outdir


def test_the_cli_synthesizes_from_a_shell_without_the_venv(venvless_synth):
    first, _, outdir = venvless_synth
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Synthesizing stage 'dev'" in first.stdout
    assert (outdir / "manifest.json").exists()
    assert "mlplatform-dev-pipelines" in first.stdout


def test_an_up_to_date_assembly_is_not_synthesized_again(venvless_synth):
    _, second, _ = venvless_synth
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Synthesizing" not in second.stdout
