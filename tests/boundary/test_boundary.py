"""The plug-in boundary as a CI check: no platform file names a use case, so adding one edits
only its folder and the stage files (docs/use-cases.md)."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from local_runner.scaffold import name_pattern
from runtime_scripts.common.manifest import available_use_cases
from tests.boundary.boundary import (
    ROOT,
    is_platform_path,
    is_use_case_path,
    mentions,
    platform_files,
)

# One check per area, so that a failure says which part of the platform still names a use case.
# A file belongs to the most specific area that holds it ("runtime_scripts": the rest of it,
# contract.py and bin/ among them).
AREAS = ("app.py", "Makefile", "config", "stacks", "ml_constructs", "local_runner",
         "runtime_scripts/common", "runtime_scripts/pipeline_input", "runtime_scripts/glue",
         "runtime_scripts")


def _area_of(path) -> str | None:
    relative = PurePosixPath(path.relative_to(ROOT).as_posix())
    holding = [area for area in AREAS if relative.is_relative_to(area)]
    return max(holding, key=len) if holding else None


@pytest.mark.parametrize("area", AREAS)
def test_no_platform_file_names_a_use_case(area):
    names = available_use_cases()
    assert names, "no use case found under runtime_scripts/use_cases/"
    files = [path for path in platform_files() if _area_of(path) == area]
    assert files, f"{area}: no platform file there (renamed? update AREAS)"
    found = mentions(files, names)
    assert not found, (f"{len(found)} line(s) of {area} name a use case ({', '.join(names)}); "
                       "read it from the use case's manifest or the stage config instead:\n"
                       + "\n".join(map(str, found)))


def test_every_platform_file_is_in_a_checked_area():
    unchecked = [path for path in platform_files() if _area_of(path) is None]
    assert not unchecked, f"platform files outside AREAS: {unchecked}"


@pytest.mark.parametrize(("text", "named"), [
    ("ML_USE_CASE=churn", True), ('name="churn"', True), ("CHURN_COLUMNS = ()", True),
    ("sample_data/mlc_churn.csv", True), ("class ChurnSpec:", True), ("the churn model", True),
    ("# Churn: will a customer leave?", True), ("localChurnSpec", True), ("churn-team", True),
    ("customers churned", False), ("def names():", False), ("frames", False),
    ("James", False), ("AMES_PRICES", True), ("ames.csv", True),
])
def test_a_use_case_is_found_in_any_spelling_and_only_as_a_word(text, named):
    assert bool(name_pattern(["churn", "ames"]).search(text)) is named


def test_a_hyphenated_name_is_found_spelled_with_a_hyphen_or_an_underscore():
    pattern = name_pattern(["house-prices"])
    assert pattern.search("HOUSE_PRICES") and pattern.search("use_cases/house-prices/")
    assert not pattern.search("house prices")


@pytest.mark.parametrize(("path", "platform"), [
    ("stacks/pipelines_stack.py", True), ("config/settings.py", True), ("app.py", True),
    ("runtime_scripts/common/tabular/train.py", True), ("runtime_scripts/bin/train", True),
    ("runtime_scripts/use_cases/__init__.py", True), ("config/stages/dev.json", False),
    ("runtime_scripts/use_cases/churn/manifest.py", False), ("tests/conftest.py", False),
    ("docs/use-cases.md", False), ("stacks/__pycache__/x.pyc", False),
])
def test_platform_paths(path, platform):
    assert is_platform_path(path) is platform


def test_a_use_cases_own_paths_are_its_folder_and_the_stage_files():
    assert is_use_case_path("runtime_scripts/use_cases/ames/tests/test_x.py", "ames")
    assert is_use_case_path("config/stages/dev.json", "ames")
    assert not is_use_case_path("runtime_scripts/use_cases/churn/manifest.py", "ames")
    assert not is_use_case_path("config/settings.py", "ames")
    assert not is_use_case_path("runtime_scripts/use_cases/__init__.py", "ames")
