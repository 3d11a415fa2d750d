"""The runner's one error type: a headline and the fix."""

from __future__ import annotations


class RunnerError(Exception):
    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(problem if fix is None else f"{problem}\n  fix: {fix}")
