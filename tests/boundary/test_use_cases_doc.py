"""docs/use-cases.md says what the code does: every manifest field is in its reference, the
commands it shows parse, the seed example is a seed, and the folder it shows is churn's."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from pathlib import Path

import pytest

from local_runner.cli import build_parser
from local_runner.local_seed import Seed
from runtime_scripts.common import manifest as manifest_module

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "use-cases.md").read_text()
TYPES = [cls for cls in vars(manifest_module).values()
         if dataclasses.is_dataclass(cls) and cls.__module__ == manifest_module.__name__]


def _section(title: str) -> str:
    match = re.search(rf"^### `{title}`\n(.*?)(?=^##)", DOC, re.DOTALL | re.MULTILINE)
    assert match, f"docs/use-cases.md has no section ### `{title}`"
    return match.group(1)


@pytest.mark.parametrize("cls", TYPES, ids=lambda cls: cls.__name__)
def test_every_manifest_field_is_in_the_reference(cls):
    section = _section(cls.__name__)
    missing = [f.name for f in dataclasses.fields(cls) if f"`{f.name}`" not in section]
    assert not missing, f"{cls.__name__} fields missing from docs/use-cases.md: {missing}"


def test_the_reference_has_no_field_the_manifest_lacks():
    documented = set(re.findall(r"^### `(\w+)`", DOC, re.MULTILINE))
    assert documented == {cls.__name__ for cls in TYPES}


def _commands() -> list[list[str]]:
    blocks = re.findall(r"```bash\n(.*?)```", DOC, re.DOTALL)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return [shlex.split(line)[1:] for line in lines
            if line.startswith(("mlplatform ", ".venv/bin/mlplatform "))]


def test_the_commands_shown_parse():
    commands = _commands()
    assert len(commands) >= 7
    for argv in commands:
        build_parser().parse_args(argv)  # SystemExit on a wrong command line


def test_the_seed_example_is_a_seed(tmp_path):
    example = re.search(r"`--seed FILE`.*?```json\n(.*?)```", DOC, re.DOTALL).group(1)
    (tmp_path / "seed.json").write_text(example)
    seed = Seed.from_file(tmp_path / "seed.json")
    assert [u.key for u in seed.uploads] == ["cards/fraud/cards.csv"]
    assert list(json.loads(example)["inputs"]) == ["fraud:training"]


def test_the_folder_shown_is_a_use_cases_folder():
    block = DOC.split("## The folder", 1)[1].split("```", 2)[1]
    names = re.findall(r"^  (\S+?)/?(?:,|\s|$)", block, re.MULTILINE)
    for name in names:
        assert (ROOT / "runtime_scripts" / "use_cases" / "churn" / name).exists(), name
