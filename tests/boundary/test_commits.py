"""The commit-range check, on a repository made for the test: a use case added with only its
own files passes, one whose commit also edits the platform fails and names the files."""

from __future__ import annotations

import subprocess

import pytest

from tests.boundary.commits import main, use_case_commits


def _commit(repo, message: str, files: dict[str, str]) -> None:
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "-m", message], check=True)


@pytest.fixture
def repo(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    _commit(tmp_path, "platform", {"stacks/app.py": "x", "config/stages/dev.json": "{}",
                                   "runtime_scripts/use_cases/churn/manifest.py": "x"})
    return tmp_path


def test_a_use_case_added_with_only_its_folder_and_a_stage_file_passes(repo, capsys):
    _commit(repo, "platform change", {"stacks/app.py": "y"})  # adds no use case: not judged
    _commit(repo, "add ames", {"runtime_scripts/use_cases/ames/manifest.py": "x",
                               "runtime_scripts/use_cases/ames/tests/test_ames.py": "x",
                               "config/stages/dev.json": '{"use_cases": []}'})
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
