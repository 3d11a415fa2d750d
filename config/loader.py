"""Reading a stage file: JSON in, a typed and validated StageConfig out, or one ConfigError with
every problem of the file.

`_build` turns a JSON object into a dataclass: unknown keys are refused with the nearest known
one, every value is type-checked against its field's annotation (nested sections, lists, string
maps, Literal choices), and keys left out keep the defaults, or a `base` instance's values (how a
use case's sections merge over the stage's).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal

from config.problems import ConfigError, collecting, display_path, nearest, report, with_article
from config.stage import StageConfig
from config.stage_files import stage_file
from config.use_cases import OVERRIDABLE, UseCaseConfig
from runtime_scripts.common.manifest import available_use_cases


def load_stage_config(stage: str, path: Path | None = None) -> StageConfig:
    """Read, type-check and validate one stage's configuration. Every problem of the file is
    reported at once, in one ConfigError that names the file."""
    if path is None:
        path = stage_file(stage)
    data = _read_json_object(Path(path))
    with collecting() as problems:
        entries = data.pop("use_cases", [])
        config = _build(StageConfig, {"stage": stage, **data}, "")
        config = dataclasses.replace(config, use_cases=_build_use_cases(config, entries))
        config.validate()
    if problems:
        raise ConfigError.of(problems, source=path)
    return config


def _read_json_object(path: Path) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError("", f"config file {display_path(path)} does not exist") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        line = text.splitlines()[exc.lineno - 1] if text.splitlines() else ""
        raise ConfigError("", f"not valid JSON at line {exc.lineno}, column {exc.colno}: "
                          f"{exc.msg}\n    {line.strip()}", source=path) from None
    if not isinstance(data, dict):
        raise ConfigError("", f"must hold a JSON object, got {type(data).__name__}",
                          source=path)
    return data


def _build_use_cases(config: StageConfig, entries: Any) -> list[UseCaseConfig]:
    """`use_cases`, each built over the stage's sections: a key it leaves out keeps the stage's
    value (the gate, whose default is the use case's own, excepted)."""
    if not isinstance(entries, list):
        report("use_cases", f"must be a list, got {entries!r}", '[{"name": "<use case>"}]')
        return []
    base = UseCaseConfig(name="", **{name: getattr(config, name) for name in OVERRIDABLE})
    built = []
    for i, entry in enumerate(entries):
        key = f"use_cases[{i}]"
        if not isinstance(entry, dict):
            report(key, f"must be an object, got {entry!r}", '{"name": "<use case>"}')
            continue
        if "name" not in entry:
            report(f"{key}.name", "is required", ", ".join(available_use_cases()))
            continue
        try:
            built.append(_build(UseCaseConfig, entry, f"{key}.", base=base))
        except _Invalid:
            pass
    return built


class _Invalid(Exception):
    """A value of the wrong type, already reported: the field keeps its default."""


def _build(cls: type, data: dict, prefix: str, base: Any = None) -> Any:
    """An instance of `cls` from `data`; keys it leaves out take `base`'s values (else the
    defaults), nested sections too."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name in sorted(set(data) - set(fields)):
        guess = nearest(name, fields)
        report(f"{prefix}{name}", "unknown key" + (f"; did you mean '{prefix}{guess}'?"
                                                   if guess else ""),
               ", ".join(f"{prefix}{n}" for n in fields))
    values = {}
    for name in fields:
        if name in data:
            try:
                values[name] = _coerce(hints[name], data[name], f"{prefix}{name}",
                                       getattr(base, name, None))
            except _Invalid:
                pass
    # A field without a default (a quality gate condition's) must be given, and valid.
    required = [n for n, f in fields.items()
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    for name in required:
        if name not in data:
            report(f"{prefix}{name}", "is required")
    if any(name not in values for name in required):
        raise _Invalid(prefix)  # reported above: the object keeps its default
    return dataclasses.replace(base, **values) if base is not None else cls(**values)


def _invalid(key: str, problem: str, allowed: str | None = None) -> _Invalid:
    report(key, problem, allowed)
    return _Invalid(key)


def _coerce(hint: Any, value: Any, key: str, base: Any = None) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (hint,) = [o for o in options if o is not type(None)]
        origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise _invalid(key, f"must be an object, got {type(value).__name__}")
        return _build(hint, value, f"{key}.",
                      base if dataclasses.is_dataclass(base) else None)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            guess = nearest(str(value), map(str, allowed))
            raise _invalid(key, f"{value!r} is not allowed" + (f"; did you mean {guess!r}?"
                                                                if guess else ""),
                           ", ".join(map(str, allowed)))
        return value
    if origin in (list, dict):
        return _coerce_container(hint, value, key)
    expected = {int: "integer", float: "number", bool: "boolean", str: "string"}[hint]
    ok = isinstance(value, hint) and not (hint is int and isinstance(value, bool))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise _invalid(key, f"must be {with_article(expected)}, got {value!r}")
    return value


def _coerce_container(hint: Any, value: Any, key: str) -> Any:
    """list[T] (items checked as T, keys like `cicd.stages[1]`) or dict[str, str]."""
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise _invalid(key, f"must be a list, got {value!r}", 'e.g. ["dev", "prod"]')
        items, bad = [], False
        for i, v in enumerate(value):
            try:
                items.append(_coerce(item, v, f"{key}[{i}]"))
            except _Invalid:
                bad = True  # every item is checked; one bad item invalidates the list
        if bad:
            raise _Invalid(key)
        return items
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _invalid(key, "must be an object of strings to strings", 'e.g. {"max_depth": "5"}')
    return dict(value)
