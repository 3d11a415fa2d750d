"""How stage configuration problems are collected and reported.

While a stage file is loaded, every check reports into one collection instead of stopping at the
first problem, so the user sees every wrong key and value of the file at once. Outside a load
(a check called directly) a problem raises at once, as before.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    key: str  # "" for a problem of the file itself (missing, not JSON)
    problem: str
    allowed: str | None = None

    def __str__(self) -> str:
        text = f"config key '{self.key}': {self.problem}" if self.key else self.problem
        return f"{text} (allowed: {self.allowed})" if self.allowed else text


class ConfigError(ValueError):
    """A stage configuration is wrong. The message names the file (when there is one), and for
    each problem the key path, what is wrong and what is allowed. `key` is the first problem's."""

    def __init__(self, key: str, problem: str, allowed: str | None = None, *,
                 problems: Iterable[Problem] = (), source: Path | str | None = None) -> None:
        self.problems = list(problems) or [Problem(key, problem, allowed)]
        self.key = self.problems[0].key
        self.source = source
        super().__init__(self._message())

    @classmethod
    def of(cls, problems: list[Problem], source: Path | str | None = None) -> ConfigError:
        first = problems[0]
        return cls(first.key, first.problem, first.allowed, problems=problems, source=source)

    def _message(self) -> str:
        where = f"{display_path(self.source)}: " if self.source is not None else ""
        if len(self.problems) == 1:
            return f"{where}{self.problems[0]}"
        lines = "\n".join(f"  - {p}" for p in self.problems)
        return f"{where}{len(self.problems)} problems\n{lines}"


_collected: ContextVar[list[Problem] | None] = ContextVar("config_problems", default=None)


def report(key: str, problem: str, allowed: str | None = None) -> None:
    """One wrong key or value: collected while `collecting()`, raised as ConfigError otherwise."""
    problems = _collected.get()
    if problems is None:
        raise ConfigError(key, problem, allowed)
    problems.append(Problem(key, problem, allowed))


@contextmanager
def collecting() -> Iterator[list[Problem]]:
    """Gather every `report` made inside; a ConfigError raised inside is gathered too."""
    problems: list[Problem] = []
    token = _collected.set(problems)
    try:
        yield problems
    except ConfigError as error:
        problems.extend(error.problems)
    finally:
        _collected.reset(token)


def reported() -> list[Problem]:
    """The problems collected so far (none outside `collecting()`)."""
    return list(_collected.get() or [])


@contextmanager
def independently() -> Iterator[None]:
    """A check that raises instead of reporting stops its own section only, not the load."""
    try:
        yield
    except ConfigError as error:
        if _collected.get() is None:
            raise
        _collected.get().extend(error.problems)


def nearest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate a typo most likely meant, if one is close enough."""
    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def with_article(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def display_path(path: Path | str) -> str:
    """A path relative to the working directory where it lies below it (as the user typed it)."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
