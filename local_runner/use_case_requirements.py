"""A use case's own dependencies (its manifest's `requirements` and `requirements_no_deps`
files), installed into this environment on its first local run rather than for every user of
the platform.

    python -m local_runner.use_case_requirements   # every use case's, with the platform's pins

is what `make test` runs: the suite runs every use case. There the files are resolved in one
pip call together with requirements-dev.txt, so no pin of the platform is silently replaced;
then each `requirements_no_deps` file is installed without dependency resolution.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from pathlib import Path

from local_runner.bytecode import compile_installed
from local_runner.errors import RunnerError
from runtime_scripts.common.manifest import UseCaseManifest, available_use_cases, load_manifest

# `name==version` (extras and environment markers are not used by pinned use-case files).
PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")
PLATFORM_REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements-dev.txt"


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


def _files(manifest: UseCaseManifest) -> list[tuple[Path, bool]]:
    """(file, without dependency resolution) of a use case, in install order."""
    return [(manifest.path(relative), no_deps)
            for relative, no_deps in ((manifest.requirements, False),
                                      (manifest.requirements_no_deps, True)) if relative]


def _pip(arguments: Sequence[str], what: str, fix_file: Path) -> None:
    done = subprocess.run(
        # --no-compile: compiled after, on every core (bytecode.py).
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-compile", *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        raise RunnerError(
            f"installing {what} failed:\n{done.stderr.strip()[-2000:]}",
            f"fix the pins in {fix_file}, or install them yourself with "
            f"`{sys.executable} -m pip install {' '.join(arguments)}`")


def ensure_installed(manifests: Iterable[UseCaseManifest], *,
                     announce: Callable[[str], None] = print) -> list[str]:
    """pip-installs the pins of each manifest's requirements files that are missing here (into
    the running interpreter's environment, where the local jobs run too); returns them."""
    installed: list[str] = []
    for manifest in manifests:
        for file, no_deps in _files(manifest):
            missing = missing_pins(file)
            if not missing:
                continue
            announce(f"  installing {manifest.name}'s own dependencies (first run, once): "
                     f"{', '.join(missing)}")
            _pip([*(["--no-deps"] if no_deps else []), "-r", str(file)],
                 f"{manifest.name}'s requirements ({file})", file)
            installed += missing
    if installed:
        compile_installed()
    return installed


def install_all(names: Sequence[str] | None = None) -> None:
    """Every use case's files, the resolvable ones in one resolve with the platform's pins."""
    manifests = [load_manifest(name) for name in (names or available_use_cases())]
    files = [(m.name, file, no_deps) for m in manifests for file, no_deps in _files(m)]
    resolved = [arg for _, file, no_deps in files if not no_deps for arg in ("-r", str(file))]
    if resolved:
        _pip(["-r", str(PLATFORM_REQUIREMENTS), *resolved], "the use cases' requirements",
             PLATFORM_REQUIREMENTS)
    for name, file, no_deps in files:
        if no_deps:
            _pip(["--no-deps", "-r", str(file)], f"{name}'s requirements ({file})", file)
    compile_installed()


if __name__ == "__main__":
    try:
        install_all(sys.argv[1:])
    except RunnerError as error:
        sys.exit(f"error: {error}")
