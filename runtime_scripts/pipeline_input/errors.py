"""Error classes and the one-line messages the pipelines show when their input is rejected.

The Lambda runtime reports an unhandled exception's class name as the error name, and the state
machines catch on that name: `InvalidPipelineInput` means "the person who started the execution
made a mistake" (a clear failure, no job started), anything else is a platform bug. So the user's
mistakes and deploy-side mistakes (a bad stage default, a broken event) get distinct classes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Problems shown in one message: enough to fix several typos in one go, short enough to read in
# the Step Functions console.
MAX_PROBLEMS_SHOWN = 10


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one key: `key` is a dotted path, e.g. 'tuning.ranges.integer[0].min'."""

    key: str
    problem: str
    allowed: str | None = None

    def render(self, source: str) -> str:
        where = f"{source} key '{self.key}'" if self.key else source
        # "input key 'data.input_s3_uri' is required" reads better without a colon.
        sep = " " if self.problem.startswith("is required") else ": "
        text = f"{where}{sep}{self.problem}"
        return f"{text} (allowed: {self.allowed})" if self.allowed else text


class PipelineInputError(ValueError):
    """Base class: the merged pipeline document cannot be used. `problems` lists every finding."""

    source = "input"

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        if not problems:
            raise ValueError("a PipelineInputError needs at least one problem")
        self.problems = list(problems)
        self.source = source or type(self).source
        shown = [p.render(self.source) for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        hidden = len(self.problems) - len(shown)
        if hidden:
            shown.append(f"and {hidden} more problem{'s' if hidden > 1 else ''}")
        # One line: Step Functions shows the cause verbatim and notifications quote it.
        super().__init__("; ".join(shown).replace("\n", " "))

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.problems]


class InvalidPipelineInput(PipelineInputError):
    """The execution input is wrong: an unknown key, a wrong type, a value out of range..."""

    source = "input"


class InvalidPipelineDefaults(PipelineInputError):
    """The deployed side is wrong: a stage default ('default key ...') or the event envelope the
    state machine builds, platform values included ('event key ...'). A deploy bug, never the
    user's, so the state machine does not catch it as an input error."""

    source = "default"


# --- rendering values the way the user typed them (JSON), kept short --------------------------
_MAX_VALUE_CHARS = 60


def render(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def json_type(value: Any) -> str:
    """The JSON name of a Python value's type; bool before int because bool is an int subclass."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def describe(value: Any) -> str:
    """'string "abc"', 'boolean true', 'null': what a value is, for "must be X, got Y"."""
    return "null" if value is None else f"{json_type(value)} {render(value)}"
