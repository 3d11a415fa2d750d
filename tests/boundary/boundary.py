"""The plug-in boundary: which files are the platform's and which a use case's, and where a
platform file names a use case.

A use case's files are its folder `runtime_scripts/use_cases/<name>/` (its tests included) and
its entries in the stage files `config/stages/*.json`. Everything else the app is built from is
the platform's, and a platform file that names a use case (as a word: in code, in a string, in
a comment) ties the platform to it: the next use case would have to edit it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from local_runner.scaffold import name_pattern

ROOT = Path(__file__).resolve().parents[2]
USE_CASES = PurePosixPath("runtime_scripts", "use_cases")
STAGE_FILES = PurePosixPath("config", "stages")
# The platform: what builds, deploys and runs every use case. Folders hold every file below
# them; runtime_scripts/ holds everything but the use cases themselves.
PLATFORM_FOLDERS = ("stacks", "ml_constructs", "local_runner", "runtime_scripts")
PLATFORM_FILES = ("app.py", "Makefile")
TEXT_SUFFIXES = {".py", ".json", ".txt", ".sh", ".toml", ".cfg", ""}


def is_platform_path(path: str | PurePosixPath) -> bool:
    """Whether a repository path is a platform file (config/*.py counts, the stage files and
    the use-case folders do not)."""
    path = PurePosixPath(path)
    if "__pycache__" in path.parts:
        return False
    if str(path) in PLATFORM_FILES:
        return True
    if path.parent == PurePosixPath("config"):
        return path.suffix == ".py"
    if path.is_relative_to(USE_CASES):
        return len(path.parts) == len(USE_CASES.parts) + 1  # use_cases/__init__.py itself
    return path.parts[0] in PLATFORM_FOLDERS


def use_case_of(path: str | PurePosixPath) -> str | None:
    """The use case whose folder holds `path`, or None."""
    path = PurePosixPath(path)
    if path.is_relative_to(USE_CASES) and len(path.parts) > len(USE_CASES.parts) + 1:
        return path.parts[len(USE_CASES.parts)]
    return None


def is_use_case_path(path: str | PurePosixPath, name: str) -> bool:
    """Whether a change to `path` belongs to adding use case `name`: its folder, a stage file."""
    path = PurePosixPath(path)
    return use_case_of(path) == name or (path.parent == STAGE_FILES and path.suffix == ".json")


@dataclass(frozen=True)
class Mention:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text.strip()[:120]}"


def platform_files(root: Path = ROOT) -> Iterator[Path]:
    for name in PLATFORM_FILES:
        if (root / name).is_file():
            yield root / name
    yield from sorted((root / "config").glob("*.py"))
    for folder in PLATFORM_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            relative = PurePosixPath(path.relative_to(root).as_posix())
            if path.is_file() and path.suffix in TEXT_SUFFIXES and is_platform_path(relative):
                yield path


def mentions(paths: Iterable[Path], names: Iterable[str], root: Path = ROOT) -> list[Mention]:
    """Every line of `paths` that names one of `names`."""
    pattern = name_pattern(names)
    found = []
    for path in paths:
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if pattern.search(line):
                found.append(Mention(path.relative_to(root).as_posix(), number, line))
    return found
