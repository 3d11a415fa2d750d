"""A use case's own dependencies (its manifest's `requirements` file), installed into this
environment on its first local run rather than for every user of the platform."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path

from local_runner.errors import RunnerError
from runtime_scripts.common.manifest import UseCaseManifest

# `name==version` (extras and environment markers are not used by pinned use-case files).
PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def missing_pins(requirements: Path) -> list[str]:
    """The `name==version` lines of `requirements` this environment does not satisfy."""
    missing = []
    for line in requirements.read_text().splitlines():
        pin = PIN.match(line)
        if pin is None:
            continue
        name, version = pin.groups()
        try:
            installed = metadata.version(_normalized(name))
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            missing.append(f"{name}=={version}")
    return missing


def ensure_installed(manifests: Iterable[UseCaseManifest], *,
                     announce: Callable[[str], None] = print) -> list[str]:
    """pip-installs the pins of each manifest's requirements file that are missing here (into the
    running interpreter's environment, where the local jobs run too); returns what it installed."""
    installed: list[str] = []
    for manifest in manifests:
        if not manifest.requirements:
            continue
        file = manifest.path(manifest.requirements)
        missing = missing_pins(file)
        if not missing:
            continue
        announce(f"  installing {manifest.name}'s own dependencies (first run, once): "
                 f"{', '.join(missing)}")
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "-r", str(file)], capture_output=True, text=True)
        if done.returncode != 0:
            raise RunnerError(
                f"installing {manifest.name}'s requirements ({file}) failed:\n"
                f"{done.stderr.strip()[-2000:]}",
                f"fix the pins in {file}, or install them yourself with "
                f"`{sys.executable} -m pip install -r {file}`")
        installed += missing
    return installed
