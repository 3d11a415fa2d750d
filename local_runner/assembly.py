"""Synthesize the app with the pinned CDK CLI and read the cloud assembly it writes (cdk.out)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
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

    @property
    def resource_counts(self) -> Counter:
        return Counter(r["Type"] for r in self.template.get("Resources", {}).values())


SOURCES = ("app.py", "cdk.json", "config", "stacks", "ml_constructs", "runtime_scripts")
STAGE_MARKER = "mlplatform-stage.txt"


def _newest_source_mtime() -> float:
    newest = 0.0
    for name in SOURCES:
        path = PROJECT_ROOT / name
        files = [path] if path.is_file() else path.rglob("*")
        newest = max([newest, *(f.stat().st_mtime for f in files
                                if f.is_file() and "__pycache__" not in f.parts)])
    return newest


def synth_is_current(outdir: Path, stage: str) -> bool:
    """Whether `outdir` holds a synth of `stage` newer than every source file."""
    marker = outdir / STAGE_MARKER
    return (marker.exists() and marker.read_text().strip() == stage
            and marker.stat().st_mtime >= _newest_source_mtime())


def synth(stage: str, outdir: Path) -> None:
    """Run `npx cdk synth` for every stack of `stage`; raise RunnerError with the CLI's output."""
    npx = shutil.which("npx")
    if npx is None:
        raise RunnerError("npx is not on PATH", "install Node.js 20+ and run `make setup`")
    command = [npx, "--no-install", "cdk", "synth", "--quiet", "--no-notices",
               "--no-version-reporting", "-c", f"stage={stage}", "--output", str(outdir)]
    result = subprocess.run(command, cwd=PROJECT_ROOT, env={**os.environ, **OFFLINE_ENV},
                            capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise RunnerError(f"cdk synth failed for stage {stage!r}:\n{tail}",
                          "fix the error above; `npx cdk synth -c stage=...` shows the same")
    (outdir / STAGE_MARKER).write_text(stage)


def read_stacks(outdir: Path) -> list[StackTemplate]:
    manifest_path = outdir / "manifest.json"
    if not manifest_path.exists():
        raise RunnerError(f"{outdir} holds no cloud assembly", "run `mlplatform synth` first")
    manifest = json.loads(manifest_path.read_text())
    stacks = []
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        props = artifact["properties"]
        template = json.loads((outdir / props["templateFile"]).read_text())
        stacks.append(StackTemplate(props.get("stackName", artifact_id), artifact_id, template))
    return stacks
