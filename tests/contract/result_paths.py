"""Every path a definition reads from a Task's result names a member of that operation's output.

Step Functions hands a Task's result on with the model's member names (PascalCase, see
outcomes.py); a `ResultSelector` or Choice `Variable` that names a member the output does not
have fails the execution with States.Runtime at that state, on AWS only, after the jobs before it
were paid for. Checked statically over the definition:
- each `ResultSelector` path (and each path inside an intrinsic there) against the output shape;
- each path anywhere in the definition (Parameters, ResultSelector, Choice rules, InputPath,
  OutputPath, ItemsPath) that reads below a Task's `ResultPath`, against what the Task stored
  there: the output shape, or the ResultSelector's keys and the members they select;
- paths below a Catch's `ResultPath` against `{Error, Cause}`, and below a Pass state's
  `ResultPath` against the keys its Parameters produce.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from botocore.model import Shape

from tests.contract import asl
from tests.contract.outcomes import members, operation_output_shape
from tests.contract.rendering import integration_of

_PATH_IN_TEXT = re.compile(r"(?<![\w$])\$(?:\.[A-Za-z_][\w-]*|\[\d+\])+")
_PATH_FIELDS = ("InputPath", "OutputPath", "ItemsPath", "Variable")
OPAQUE = object()  # a value whose structure is not a botocore shape (an intrinsic's result)


@dataclass(frozen=True)
class Stored:
    """What a state writes at its ResultPath: a botocore shape, a dict of keys to values, or
    OPAQUE. `api` is True for a Task's result, which every read below it must fit (any of the
    Tasks may have written it); a Pass state's or Catch's value is the definition's own, and a
    read must fit at least one of them (this check does not follow which one ran)."""

    where: str
    value: object
    api: bool = True


def _paths(node: object) -> Iterator[str]:
    """Every JSONPath (`$.`, not `$$.`) a state reads."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "ResultPath":
                continue  # where a state writes, not what it reads
            if isinstance(value, str) and (key.endswith(".$") or key in _PATH_FIELDS
                                           or key.endswith("Path")):
                yield from _PATH_IN_TEXT.findall(value)
            else:
                yield from _paths(value)
    elif isinstance(node, list):
        for item in node:
            yield from _paths(item)


def _resolve(value: object, steps: tuple, where: str) -> tuple[object, str | None]:
    """Follow `steps` into a stored value: (what is there, or None and why not)."""
    for step in steps:
        if value is OPAQUE:
            return OPAQUE, None
        if isinstance(value, Shape):
            value, problem = _member(value, step)
            if problem:
                return None, f"{where}: {problem}"
        elif isinstance(value, dict):
            if step not in value:
                return None, f"{where} has no {step!r} (it has {', '.join(value)})"
            value = value[step].value if isinstance(value[step], Stored) else value[step]
        else:
            return None, f"{where}: cannot read {step!r} from a plain value"
    return value, None


def _member(shape: Shape, step: str | int) -> tuple[object, str | None]:
    kind = shape.type_name
    if kind == "structure" and isinstance(step, str):
        found = members(shape)
        if step not in found:
            return None, f"{shape.name} has no member {step!r} (members: {', '.join(found)})"
        return found[step], None
    if kind == "list" and isinstance(step, int):
        return shape.member, None
    if kind == "map" and isinstance(step, str):
        return shape.value, None
    if kind in ("blob", "string"):
        return OPAQUE, None  # e.g. a JSON document (States.StringToJson) read further
    return None, f"{shape.name} ({kind}) cannot be read with {step!r}"


def _selected(state_name: str, state: dict, output: Shape | None) -> tuple[object, list[str]]:
    """What a Task stores, and the problems of its ResultSelector."""
    where = f"{state_name}: output of {state['Resource'].rsplit(':', 2)[-1]}"
    if "ResultSelector" not in state:
        return output if output is not None else OPAQUE, []
    problems, stored = [], {}
    for key, value in state["ResultSelector"].items():
        name = key[:-2] if key.endswith(".$") else key
        if not key.endswith(".$"):
            stored[name] = OPAQUE
            continue
        for path in _PATH_IN_TEXT.findall(value) or [value]:
            if output is not None:
                _, problem = _resolve(output, asl.steps(path), where)
                if problem:
                    problems.append(f"ResultSelector {key}: {problem}")
        direct = not value.startswith("States.")
        stored[name] = _resolve(output, asl.steps(value), where)[0] \
            if direct and output is not None else OPAQUE
    return stored, problems


def _writers(definition: dict) -> list[tuple[tuple, Stored]]:
    writers = []
    for name, state in definition["States"].items():
        for catcher in state.get("Catch", []):
            path = catcher.get("ResultPath", "$")
            if path is not None:
                writers.append((asl.steps(path), Stored(
                    f"{name} (Catch)", {"Error": OPAQUE, "Cause": OPAQUE}, api=False)))
        path = state.get("ResultPath", "$")
        if path is None or state["Type"] not in ("Task", "Pass"):
            continue
        if state["Type"] == "Pass":
            keys = {k[:-2] if k.endswith(".$") else k: OPAQUE
                    for k in state.get("Parameters", {})} if "Parameters" in state else OPAQUE
            writers.append((asl.steps(path), Stored(name, keys, api=False)))
            continue
        service, operation, integration = integration_of(state["Resource"])
        if integration == "lambda":
            continue  # the input validator's document: its paths are checked by the walk
        stored, _ = _selected(name, state, operation_output_shape(service, operation,
                                                                  integration))
        writers.append((asl.steps(path), Stored(name, stored)))
    return writers


def problems(definition: dict) -> list[str]:
    found = []
    for name, state in definition["States"].items():
        if state["Type"] == "Task" and "ResultSelector" in state:
            service, operation, integration = integration_of(state["Resource"])
            if integration != "lambda":
                found += _selected(name, state, operation_output_shape(
                    service, operation, integration))[1]
    writers = [(steps, stored) for steps, stored in _writers(definition) if steps]
    for name, state in definition["States"].items():
        for path in set(_paths({k: v for k, v in state.items() if k != "ResultSelector"})):
            found += _read_problems(name, path, writers)
    return sorted(set(found))


def _read_problems(name: str, path: str, writers: list[tuple[tuple, Stored]]) -> list[str]:
    steps = asl.steps(path)
    api, own = [], []
    for prefix, stored in writers:
        if steps[:len(prefix)] == prefix:
            _, problem = _resolve(stored.value, steps[len(prefix):],
                                  f"{name} reads {path}; {stored.where} stored")
            (api if stored.api else own).append(problem)
    found = [p for p in api if p]
    if own and all(own):
        found += own
    return found
