"""Synthesize the app with the pinned CDK CLI and read the cloud assembly it writes (cdk.out)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from local_runner.errors import RunnerError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# What offline synth needs: no credentials, no instance-metadata probing, no telemetry or notices.
OFFLINE_ENV = {
    "AWS_REGION": os.environ.get("AWS_REGION", "eu-west-1"),
    "AWS_EC2_METADATA_DISABLED": "true",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}


@dataclass(frozen=True)
class StackTemplate:
    stack_name: str
    construct_id: str
    template: dict
    directory: Path = Path(".")  # the cloud assembly it is in: where its assets are staged

    @property
    def resource_counts(self) -> Counter:
        return Counter(r["Type"] for r in self.template.get("Resources", {}).values())


SOURCES = ("app.py", "cdk.json", "config", "stacks", "ml_constructs", "runtime_scripts")
# config/stage_files.py STAGES_DIR, relative to the project root (a test passes another root).
STAGE_FILES = Path("config", "stages")
STAGE_MARKER = "mlplatform-stage.txt"


def assembly_dir(stage: str, root: Path = PROJECT_ROOT) -> Path:
    """One cloud assembly per stage, so that switching stages reuses each one while current."""
    return root / "cdk.out" / stage


def _newest_source_mtime(stages: Iterable[str] | None, root: Path) -> float:
    """The newest file the synth of `stages` reads: the app's code and configuration, with only
    those stages' files from config/stages/ (every stage file when `stages` is None)."""
    stage_files = root / STAGE_FILES
    wanted = None if stages is None else {stage_files / f"{name}.json" for name in stages}
    newest = 0.0
    for name in SOURCES:
        path = root / name
        for file in [path] if path.is_file() else path.rglob("*"):
            if not file.is_file() or "__pycache__" in file.parts:
                continue
            if wanted is not None and file.parent == stage_files and file not in wanted:
                continue
            newest = max(newest, file.stat().st_mtime)
    return newest


def synth_is_current(outdir: Path, stage: str, stages_read: Iterable[str] | None = None, *,
                     root: Path = PROJECT_ROOT) -> bool:
    """Whether `outdir` holds a synth of `stage` newer than every source it was made from;
    `stages_read`: the stage files that synth reads (default: all)."""
    marker = outdir / STAGE_MARKER
    return (marker.exists() and marker.read_text().strip() == stage
            and marker.stat().st_mtime >= _newest_source_mtime(stages_read, root))


def synth_command(stage: str, outdir: Path, *, root: Path = PROJECT_ROOT) -> list[str]:
    """`cdk synth` of every stack of `stage` into `outdir`, with the project's pinned CDK CLI.

    cdk.json's app is `python3 app.py`: the interpreter of an activated virtualenv, which is
    what `npx cdk deploy` in the README expects. Here the app is run by this very interpreter
    instead, so that `.venv/bin/mlplatform` works from any shell, activated or not."""
    local_cdk = root / "node_modules" / ".bin" / "cdk"
    if local_cdk.exists():
        cdk = [str(local_cdk)]
    elif (npx := shutil.which("npx")) is not None:
        cdk = [npx, "--no-install", "cdk"]
    else:
        raise RunnerError("neither node_modules/.bin/cdk nor npx is there",
                          "install Node.js 20+ and run `make setup`")
    # The CDK CLI takes a double-quoted first word as the executable (a path with spaces).
    app = f'"{sys.executable}" app.py'
    return [*cdk, "synth", "--app", app, "--quiet", "--no-notices", "--no-version-reporting",
            "-c", f"stage={stage}", "--output", str(outdir)]


def synth(stage: str, outdir: Path, *, root: Path = PROJECT_ROOT) -> None:
    """Synthesize `stage` into `outdir`; raise RunnerError with the CLI's output on failure."""
    if shutil.which("node") is None:
        raise RunnerError("node is not on PATH", "install Node.js 20+ and run `make setup`")
    result = subprocess.run(synth_command(stage, outdir, root=root), cwd=root,
                            env={**os.environ, **OFFLINE_ENV}, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise RunnerError(f"cdk synth failed for stage {stage!r}:\n{tail}",
                          "fix the error above; `npx cdk synth -c stage=...` shows the same")
    (outdir / STAGE_MARKER).write_text(stage)


def read_stacks(outdir: Path) -> list[StackTemplate]:
    manifest_path = outdir / "manifest.json"
    if not manifest_path.exists():
        raise RunnerError(f"{outdir} holds no cloud assembly",
                          "synthesize it: drop `--synth never`, or run `mlplatform summary`")
    manifest = json.loads(manifest_path.read_text())
    stacks = []
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        props = artifact["properties"]
        template = json.loads((outdir / props["templateFile"]).read_text())
        stacks.append(StackTemplate(props.get("stackName", artifact_id), artifact_id, template,
                                    outdir))
    return stacks
