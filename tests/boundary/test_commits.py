"""The commit-range check, on a repository made for the test: a use case added with only its
own files passes, one whose commit also edits the platform fails and names the files."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.boundary.boundary import ROOT
from tests.boundary.commits import main, use_case_commits


def _commit(repo, message: str, files: dict[str, str]) -> None:
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "-m", message], check=True)


STAGE = json.dumps({"log_retention_days": 90, "use_cases": [{"name": "churn"}]})
WITH_AMES = json.dumps({"log_retention_days": 90,
                        "use_cases": [{"name": "churn"}, {"name": "ames", "prefix": "ames/"}]})
# The history since every use case became a plug-in (issue 12's boundary): each use case added
# after it must have come with only its own files.
BOUNDARY_COMMIT = "ddcff0a"


@pytest.fixture
def repo(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    _commit(tmp_path, "platform", {"stacks/app.py": "x", "config/stages/dev.json": STAGE,
                                   "runtime_scripts/use_cases/churn/manifest.py": "x"})
    return tmp_path


def test_a_use_case_added_with_only_its_folder_and_a_stage_file_passes(repo, capsys):
    _commit(repo, "platform change", {"stacks/app.py": "y"})  # adds no use case: not judged
    _commit(repo, "add ames", {"runtime_scripts/use_cases/ames/manifest.py": "x",
                               "runtime_scripts/use_cases/ames/tests/test_ames.py": "x",
                               "config/stages/dev.json": WITH_AMES})
    assert main(["HEAD~2..HEAD", "--repo", str(repo)]) == 0
    out = capsys.readouterr().out
    assert "adds ames: only its own files  (add ames)" in out
    assert "platform change" not in out


def test_a_use_case_whose_commit_edits_the_platform_fails_naming_the_files(repo, capsys):
    _commit(repo, "add ames", {"runtime_scripts/use_cases/ames/manifest.py": "x",
                               "stacks/app.py": "ames", "config/settings.py": "x",
                               "runtime_scripts/use_cases/churn/manifest.py": "edited"})
    assert main(["HEAD~1..HEAD", "--repo", str(repo)]) == 1
    [commit] = use_case_commits("HEAD~1..HEAD", repo)
    assert commit.use_cases == ("ames",)
    assert commit.outside == ("config/settings.py", "runtime_scripts/use_cases/churn/manifest.py",
                              "stacks/app.py")
    assert "    stacks/app.py" in capsys.readouterr().out


def test_a_range_without_a_new_use_case_passes(repo, capsys):
    _commit(repo, "edit churn", {"runtime_scripts/use_cases/churn/manifest.py": "y"})
    assert main(["HEAD~1..HEAD", "--repo", str(repo)]) == 0
    assert "no commit adds a use case" in capsys.readouterr().out


def test_a_stage_file_edit_beyond_the_use_cases_entries_fails(repo):
    edited = json.loads(WITH_AMES) | {"log_retention_days": 7}
    _commit(repo, "add ames", {"runtime_scripts/use_cases/ames/manifest.py": "x",
                               "config/stages/dev.json": json.dumps(edited)})
    [commit] = use_case_commits("HEAD~1..HEAD", repo)
    assert commit.outside == ("config/stages/dev.json",)


def test_every_use_case_added_since_the_boundary_came_with_only_its_own_files(capsys):
    """The CI check on this repository's own history (a clean clone has all of it)."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the history to check is not here")
    known = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet",
                            f"{BOUNDARY_COMMIT}^{{commit}}"], capture_output=True)
    assert known.returncode == 0, (f"commit {BOUNDARY_COMMIT} is not in this clone's history: "
                                   "clone without --depth (or `git fetch --unshallow`)")
    assert main([f"{BOUNDARY_COMMIT}..HEAD"]) == 0, capsys.readouterr().out
