"""Did adding a use case touch the platform? For each commit of a range that adds a use case
(a new `runtime_scripts/use_cases/<name>/manifest.py`), every file it changes must be that use
case's: its folder (its tests included) or a stage file `config/stages/*.json`.

    python -m tests.boundary.commits main~3..main      # exit 1 and the offending files if not
    python -m tests.boundary.commits <first>^..<last>  # the commits that added a use case

Merge commits are skipped: the commits they bring are in the range themselves.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tests.boundary.boundary import ROOT, STAGE_FILES, USE_CASES, is_use_case_path


@dataclass(frozen=True)
class UseCaseCommit:
    sha: str
    subject: str
    use_cases: tuple[str, ...]  # the use cases it adds
    outside: tuple[str, ...]  # the files it changes that are not theirs


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _changes(repo: Path, sha: str) -> list[tuple[str, str]]:
    """(status, path) of every file a commit changes; a rename counts as both of its paths."""
    out = _git(repo, "diff-tree", "--root", "--no-commit-id", "-r", "-M", "--name-status", sha)
    changes = []
    for line in out.splitlines():
        status, *paths = line.split("\t")
        changes += [(status[0], path) for path in paths]
    return changes


def _added_use_case(status: str, path: str) -> str | None:
    parts = PurePosixPath(path).parts
    base = len(USE_CASES.parts)
    if status == "A" and len(parts) == base + 2 and PurePosixPath(*parts[:base]) == USE_CASES \
            and parts[-1] == "manifest.py":
        return parts[base]
    return None


def _stage_file_without(repo: Path, revision: str, path: str, names: tuple[str, ...]):
    """A stage file at `revision` with the `use_cases` entries of `names` dropped (None when the
    file does not exist there; the text itself when it is not JSON)."""
    done = subprocess.run(["git", "-C", str(repo), "show", f"{revision}:{path}"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return None
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError:
        return done.stdout
    if isinstance(document, dict) and isinstance(document.get("use_cases"), list):
        document["use_cases"] = [entry for entry in document["use_cases"]
                                 if not (isinstance(entry, dict) and entry.get("name") in names)]
    return document


def _changes_more_than_entries(repo: Path, sha: str, path: str, names: tuple[str, ...]) -> bool:
    """Whether a commit's change to a stage file goes beyond the use cases' own entries (a
    platform setting edited alongside a use case would hide among its files)."""
    if not PurePosixPath(path).is_relative_to(STAGE_FILES):
        return False
    before = _stage_file_without(repo, f"{sha}^", path, names)
    after = _stage_file_without(repo, sha, path, names)
    return before is not None and before != after


def use_case_commits(revision_range: str, repo: Path = ROOT) -> list[UseCaseCommit]:
    """The commits of `revision_range` that add a use case, oldest first."""
    found = []
    shas = _git(repo, "rev-list", "--reverse", "--no-merges", revision_range).split()
    for sha in shas:
        changes = _changes(repo, sha)
        added = tuple(sorted({name for status, path in changes
                              if (name := _added_use_case(status, path))}))
        if not added:
            continue
        outside = tuple(sorted({path for _, path in changes
                                if not any(is_use_case_path(path, name) for name in added)
                                or _changes_more_than_entries(repo, sha, path, added)}))
        subject = _git(repo, "log", "-1", "--format=%s", sha).strip()
        found.append(UseCaseCommit(sha, subject, added, outside))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.boundary.commits",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("range", help="a git revision range, e.g. main~5..main")
    parser.add_argument("--repo", type=Path, default=ROOT, help="repository (default: this)")
    args = parser.parse_args(argv)
    commits = use_case_commits(args.range, args.repo)
    if not commits:
        print(f"{args.range}: no commit adds a use case")
        return 0
    for commit in commits:
        verdict = "touches platform files" if commit.outside else "only its own files"
        print(f"{commit.sha[:10]} adds {', '.join(commit.use_cases)}: {verdict}  "
              f"({commit.subject})")
        for path in commit.outside:
            print(f"    {path}")
    return 1 if any(commit.outside for commit in commits) else 0


if __name__ == "__main__":
    sys.exit(main())
