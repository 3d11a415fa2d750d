"""A tiny declarative schema: type/range/enum checks, unknown-key detection and the deep merge.

Each spec checks one JSON value, appends a `Problem` naming the dotted key path for everything
wrong (so one message can list several mistakes), and returns the normalised value (ints given
for floats become floats, optional keys absent from an object are filled in). The merge is
schema-aware because a few keys do not merge like plain objects (see `Obj.atomic`, `StringMap`).
Standard library only: this runs in a bare Lambda Python runtime.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import Problem, describe, render
from .values import bucket_problem, control_chars, split_s3_uri

Problems = list[Problem]


def _type_error(out: Problems, key: str, expected: str, value: Any) -> None:
    out.append(Problem(key, f"must be {expected}, got {describe(value)}"))


def join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


class Spec:
    """Base: `check` validates and normalises; `merge` combines a default with an override."""

    def check(self, value: Any, key: str, out: Problems) -> Any:
        raise NotImplementedError

    def merge(self, base: Any, override: Any) -> Any:
        # Scalars, lists and nulls replace the default outright.
        return copy.deepcopy(override)


@dataclass(frozen=True)
class Bool(Spec):
    def check(self, value: Any, key: str, out: Problems) -> Any:
        if not isinstance(value, bool):
            _type_error(out, key, "a boolean (true or false)", value)
        return value


@dataclass(frozen=True)
class Int(Spec):
    low: int | None = None
    high: int | None = None

    def check(self, value: Any, key: str, out: Problems) -> Any:
        # JSON true/false arrive as Python bools, which are ints: reject them explicitly.
        if isinstance(value, bool) or not isinstance(value, int):
            _type_error(out, key, "an integer", value)
        else:
            _check_range(value, key, out, self.low, self.high)
        return value


@dataclass(frozen=True)
class Float(Spec):
    low: float | None = None
    high: float | None = None

    def check(self, value: Any, key: str, out: Problems) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            _type_error(out, key, "a number", value)
            return value
        try:
            number = float(value)  # a huge JSON integer does not fit a float
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            out.append(Problem(key, f"{render(value)} is not a finite number"))
            return value
        _check_range(number, key, out, self.low, self.high)
        return number


def _check_range(value: float, key: str, out: Problems, low: float | None,
                 high: float | None) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "" if low is None else f"{low} "
        hi = "" if high is None else f" {high}"
        out.append(Problem(key, f"{render(value)} is out of range", f"{lo}..{hi}".strip()))


@dataclass(frozen=True)
class Str(Spec):
    max_len: int | None = None
    min_len: int = 1
    pattern: re.Pattern[str] | None = None
    pattern_help: str | None = None  # what a matching value looks like, for the message

    def check(self, value: Any, key: str, out: Problems) -> Any:
        if not isinstance(value, str):
            _type_error(out, key, "a string", value)
        elif len(value) < self.min_len:
            out.append(Problem(key, "must not be empty" if self.min_len == 1
                               else f"must be at least {self.min_len} characters"))
        elif self.max_len is not None and len(value) > self.max_len:
            out.append(Problem(key, f"has {len(value)} characters",
                               f"at most {self.max_len} characters"))
        elif control_chars(value):
            out.append(Problem(key, f"{render(value)} contains control characters"))
        elif self.pattern is not None and not self.pattern.match(value):
            out.append(Problem(key, f"{render(value)} is not valid",
                               self.pattern_help or self.pattern.pattern))
        return value


@dataclass(frozen=True)
class Enum(Spec):
    values: tuple[str, ...]

    def check(self, value: Any, key: str, out: Problems) -> Any:
        if not isinstance(value, str):
            _type_error(out, key, "a string", value)
        elif value not in self.values:
            hint = _suggest(value, self.values)
            out.append(Problem(key, f"{render(value)} is not allowed{hint}",
                               ", ".join(self.values)))
        return value


@dataclass(frozen=True)
class S3Uri(Spec):
    def check(self, value: Any, key: str, out: Problems) -> Any:
        if not isinstance(value, str):
            _type_error(out, key, "an S3 URI string", value)
            return value
        parts = split_s3_uri(value)
        if parts is None:
            out.append(Problem(key, f"{render(value)} is not an S3 URI",
                               "s3://bucket/prefix/ with a valid bucket name"))
            return value
        problem = bucket_problem(parts[0])
        if problem:
            out.append(Problem(key, f"{render(value)}: bucket {render(parts[0])} {problem}",
                               "3-63 lowercase letters, digits, '.' and '-', starting and ending "
                               "with a letter or digit"))
        elif len(value) > 1024 or control_chars(value):
            # SageMaker's S3Uri is at most 1024 characters; S3 keys hold no control characters.
            out.append(Problem(key, f"{render(value)} is too long or contains control characters",
                               "at most 1024 printable characters"))
        return value


@dataclass(frozen=True)
class AnyValue(Spec):
    """Anything at all (checked elsewhere); `object_only` still insists on a JSON object."""

    object_only: bool = False

    def check(self, value: Any, key: str, out: Problems) -> Any:
        if self.object_only and not isinstance(value, dict):
            _type_error(out, key, "an object", value)
        return value


@dataclass(frozen=True)
class Nullable(Spec):
    inner: Spec

    def check(self, value: Any, key: str, out: Problems) -> Any:
        return None if value is None else self.inner.check(value, key, out)

    def merge(self, base: Any, override: Any) -> Any:
        if base is None or override is None:
            return copy.deepcopy(override)
        return self.inner.merge(base, override)


@dataclass(frozen=True)
class ListOf(Spec):
    item: Spec
    min_items: int = 0
    max_items: int | None = None

    def check(self, value: Any, key: str, out: Problems) -> Any:
        if not isinstance(value, list):
            _type_error(out, key, "an array", value)
            return value
        if len(value) < self.min_items or (self.max_items is not None
                                           and len(value) > self.max_items):
            high = "" if self.max_items is None else f" {self.max_items}"
            out.append(Problem(key, f"has {len(value)} items", f"{self.min_items} ..{high} items"))
        return [self.item.check(v, f"{key}[{i}]", out) for i, v in enumerate(value)]


@dataclass(frozen=True)
class StringMap(Spec):
    """A free-form string -> string map (hyperparameters). Merged key by key; in an override a
    null value removes that key from the default, since values themselves must be strings."""

    max_entries: int = 100  # SageMaker HyperParameters / StaticHyperParameters limits
    max_key: int = 256
    max_value: int = 2500

    def check(self, value: Any, key: str, out: Problems) -> Any:
        if not isinstance(value, dict):
            _type_error(out, key, 'an object of strings, e.g. {"max_depth": "5"}', value)
            return value
        if len(value) > self.max_entries:
            out.append(Problem(key, f"has {len(value)} entries", f"at most {self.max_entries}"))
        for name, item in value.items():
            sub = join(key, name)
            if not 1 <= len(name) <= self.max_key:
                out.append(Problem(sub, "name must be 1 .. 256 characters"))
            elif not isinstance(item, str):
                # SageMaker passes hyperparameters to the container as strings, so say so.
                _type_error(out, sub, f'a string (SageMaker passes strings: "{render(item)}")'
                            if isinstance(item, int | float) and not isinstance(item, bool)
                            else "a string", item)
            elif len(item) > self.max_value:
                out.append(Problem(sub, f"has {len(item)} characters",
                                   f"at most {self.max_value} characters"))
        return dict(value)

    def merge(self, base: Any, override: Any) -> Any:
        if not (isinstance(base, dict) and isinstance(override, dict)):
            return copy.deepcopy(override)
        merged = dict(base)
        for name, item in override.items():
            if item is None:
                merged.pop(name, None)
            else:
                merged[name] = item
        return merged


@dataclass(frozen=True)
class Obj(Spec):
    """A JSON object with a fixed set of keys. `optional` keys may be absent (their default is
    filled in). `atomic` objects are replaced as a whole by an override instead of merged: for
    `tuning.ranges`, "the ranges you give are the ranges searched" is what people expect."""

    fields: Mapping[str, Spec]
    optional: Mapping[str, Any] = field(default_factory=dict)
    atomic: bool = False

    def check(self, value: Any, key: str, out: Problems) -> Any:
        if not isinstance(value, dict):
            _type_error(out, key, "an object", value)
            return value
        for name in value:
            if name not in self.fields:
                hint = _suggest(name, tuple(self.fields))
                out.append(Problem(join(key, name), f"unknown key{hint}", ", ".join(self.fields)))
        result: dict[str, Any] = {}
        for name, spec in self.fields.items():
            if name in value:
                result[name] = spec.check(value[name], join(key, name), out)
            elif name in self.optional:
                result[name] = copy.deepcopy(self.optional[name])
            elif isinstance(spec, Nullable):
                # Absent means null: CDK drops None values when it renders the state's payload
                # template, so a null stage default never reaches the Lambda as a key.
                result[name] = None
            else:
                out.append(Problem(join(key, name), "is required"))
        return result

    def merge(self, base: Any, override: Any) -> Any:
        if self.atomic or not (isinstance(base, dict) and isinstance(override, dict)):
            return copy.deepcopy(override)
        merged = copy.deepcopy(base)
        for name, item in override.items():
            spec = self.fields.get(name)
            # Unknown keys are copied through so that validation reports them.
            merged[name] = spec.merge(base[name], item) if spec and name in base \
                else copy.deepcopy(item)
        return merged


def _suggest(value: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.75)
    return f", did you mean {render(close[0])}?" if close else ""
