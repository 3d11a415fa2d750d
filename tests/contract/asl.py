"""The JSONPath side of the Amazon States Language, enough to walk the synthesized definitions.

What it implements, as the ASL specification and the Step Functions developer guide define it:
definite reference paths (`$`, `$.a.b`, `$.a[0].b`, `$$.Execution.Name` into the context object),
payload templates (`Parameters`, `ResultSelector`: a key ending in `.$` takes a path or an
intrinsic function), `ResultPath` (null discards the result; missing keys are created),
`InputPath` / `OutputPath`, Choice rules (every comparison operator, `And`/`Or`/`Not`,
`...Path` variants) and the intrinsic functions the definitions use. Anything else raises
`Unsupported`, so a definition that starts to use a feature this walker does not know fails the
contract tests by name instead of being rendered wrongly.

Documents are treated as immutable: `put` copies only the spine it changes, so forking a walk at
a Task costs no deep copy.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from typing import Any

_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


class Unsupported(Exception):
    """A construct of the definition this walker cannot evaluate faithfully."""


class PathNotFound(Exception):
    """Step Functions fails the state with States.Runtime when a path names nothing."""


@functools.lru_cache(maxsize=4096)
def steps(path: str) -> tuple[str | int, ...]:
    if not path.startswith("$"):
        raise Unsupported(f"not a reference path: {path!r}")
    rest, steps, pos = path[1:], [], 0
    while pos < len(rest):
        match = _STEP.match(rest, pos)
        if not match:
            raise Unsupported(f"only definite paths are supported, got {path!r}")
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    return tuple(steps)


def get(document: Any, path: str, context: dict | None = None) -> Any:
    """The value a definite path names; `$$.` paths read the context object."""
    node: Any = document
    if path.startswith("$$"):
        node, path = context or {}, path[1:]
    for step in steps(path):
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                raise PathNotFound(path)
            node = node[step]
        else:
            if not isinstance(node, dict) or step not in node:
                raise PathNotFound(path)
            node = node[step]
    return node


def present(document: Any, path: str, context: dict | None = None) -> bool:
    try:
        get(document, path, context)
    except PathNotFound:
        return False
    return True


def put(document: Any, path: str | None, value: Any) -> Any:
    """ResultPath: a new document with `value` at `path` (null: the input unchanged)."""
    if path is None:
        return document
    where = steps(path)
    if not where:
        return value

    def place(node: Any, remaining: tuple) -> Any:
        step = remaining[0]
        if isinstance(step, int):
            raise Unsupported(f"ResultPath with an index: {path!r}")
        base = dict(node) if isinstance(node, dict) else {}
        base[step] = value if len(remaining) == 1 else place(base.get(step), remaining[1:])
        return base

    return place(document, where)


def select(document: Any, path: str | None, context: dict | None = None) -> Any:
    """InputPath / OutputPath: null gives {}, as Step Functions does."""
    return {} if path is None else get(document, path, context)


# --- payload templates ----------------------------------------------------------------------
def resolve(template: Any, document: Any, context: dict) -> Any:
    """A payload template (`Parameters`, `ResultSelector`, `ItemSelector`) against a document:
    a key ending in `.$` takes its path's or intrinsic function's value."""
    return _compiled(template)(document, context)


# Templates come from the definitions, which the walk evaluates hundreds of thousands of times:
# each is turned into a function once. Keyed by identity, the template kept alive with it.
_COMPILED: dict[int, tuple[Any, Any]] = {}


def _compiled(template: Any):
    entry = _COMPILED.get(id(template))
    if entry is None or entry[0] is not template:
        entry = (template, _compile(template))
        _COMPILED[id(template)] = entry
    return entry[1]


def _compile(template: Any):
    if isinstance(template, dict):
        parts = [(key[:-2], _compile_expression(value)) if key.endswith(".$")
                 else (key, _compile(value)) for key, value in template.items()]
        return lambda document, context: {key: part(document, context) for key, part in parts}
    if isinstance(template, list):
        items = [_compile(item) for item in template]
        return lambda document, context: [item(document, context) for item in items]
    return lambda document, context: template


def _compile_expression(text: str):
    if text.startswith("States."):
        node = _parsed(text)
        return lambda document, context: _evaluate(node, document, context)
    return lambda document, context: get(document, text, context)


def expression(text: str, document: Any, context: dict) -> Any:
    """A `.$` value: a path, or an intrinsic function call."""
    return _compile_expression(text)(document, context)


# An intrinsic function call parsed once (the walk evaluates the same few hundred texts
# hundreds of thousands of times): ("value", v) | ("path", p) | ("call", name, args, text).
_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<num>-?\d+(?:\.\d+)?)"
                    r"|(?P<fn>States\.[A-Za-z]+)\(|(?P<path>\$\$?[^,)\s]*)"
                    r"|(?P<lit>null|true|false))")


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> tuple:
    """`States.Fn(arg, ...)` with string literals, numbers, paths and nested calls."""
    node, pos = _parse_value(text, 0)
    if text[pos:].strip():
        raise Unsupported(f"trailing text in {text!r}")
    return node


def _parse_value(text: str, pos: int) -> tuple[tuple, int]:
    match = _TOKEN.match(text, pos)
    if not match:
        raise Unsupported(f"cannot parse {text!r} at {pos}")
    pos = match.end()
    if match.group("str") is not None:
        return ("value", re.sub(r"\\(.)", r"\1", match.group("str")[1:-1])), pos
    if match.group("num") is not None:
        number = match.group("num")
        return ("value", float(number) if "." in number else int(number)), pos
    if match.group("path") is not None:
        return ("path", match.group("path")), pos
    if match.group("lit") is not None:
        return ("value", json.loads(match.group("lit"))), pos
    name, args = match.group("fn"), []
    while True:
        if text[pos:].lstrip().startswith(")"):
            return ("call", name, tuple(args), text), text.index(")", pos) + 1
        arg, pos = _parse_value(text, pos)
        args.append(arg)
        rest = text[pos:].lstrip()
        if rest.startswith(","):
            pos = text.index(",", pos) + 1
        elif not rest.startswith(")"):
            raise Unsupported(f"cannot parse {text!r} at {pos}")


def _evaluate(node: tuple, document: Any, context: dict) -> Any:
    kind = node[0]
    if kind == "value":
        return node[1]
    if kind == "path":
        return get(document, node[1], context)
    _, name, args, text = node
    return _call(name, [_evaluate(arg, document, context) for arg in args], text)


def _format(template: str, *values: Any) -> str:
    parts = template.split("{}")
    if len(parts) != len(values) + 1:
        raise Unsupported(f"States.Format: {len(values)} arguments for {template!r}")
    text = parts[0]
    for value, part in zip(values, parts[1:], strict=True):
        # Strings as they are, everything else as JSON (the ASL specification).
        text += (value if isinstance(value, str) else json.dumps(value)) + part
    return text


_FUNCTIONS = {
    "States.Format": _format,
    "States.StringToJson": json.loads,
    "States.JsonToString": lambda v: json.dumps(v, separators=(",", ":")),
    "States.Array": lambda *v: list(v),
    "States.ArrayGetItem": lambda array, index: array[index],
    "States.ArrayLength": len,
    # Step Functions merges shallowly only: the third argument must be false.
    "States.JsonMerge": lambda a, b, deep: {**a, **b} if deep is False else _deep_merge(),
    "States.MathAdd": lambda a, b: a + b,
    # A random integer in [start, end]: the walk takes the start, so requests stay reproducible.
    "States.MathRandom": lambda start, end, seed=None: int(start),
    "States.Hash": lambda data, algorithm: hashlib.new(
        {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384",
         "SHA-512": "sha512"}[algorithm], data.encode()).hexdigest(),
}


def _deep_merge() -> Any:
    raise Unsupported("States.JsonMerge: Step Functions supports only a shallow merge (false)")


def _call(name: str, args: list, text: str) -> Any:
    if name not in _FUNCTIONS:
        raise Unsupported(f"intrinsic {name} in {text!r}")
    return _FUNCTIONS[name](*args)


# --- Choice rules -----------------------------------------------------------------------------
_TYPE_TESTS = {
    "IsNull": lambda v: v is None,
    "IsString": lambda v: isinstance(v, str),
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsNumeric": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "IsTimestamp": lambda v: isinstance(v, str) and bool(re.match(r"\d{4}-\d\d-\d\dT", v)),
}
_COMPARE = {
    "Equals": lambda a, b: a == b, "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b, "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
_KINDS = {"String": str, "Numeric": (int, float), "Boolean": bool, "Timestamp": str}


def _wildcard(pattern: str) -> re.Pattern:
    """StringMatches: `*` matches any run of characters, `\\*` a literal star; nothing else
    is special."""
    parts = re.split(r"(\\\\|\\\*|\*)", pattern)
    text = "".join(".*" if p == "*" else re.escape(p[1:] if p in ("\\*", "\\\\") else p)
                   for p in parts)
    return re.compile(text, re.DOTALL)


def matches(rule: dict, document: Any, context: dict) -> bool:
    """One Choice rule (with its Variable) against the state's input."""
    if "And" in rule:
        return all(matches(r, document, context) for r in rule["And"])
    if "Or" in rule:
        return any(matches(r, document, context) for r in rule["Or"])
    if "Not" in rule:
        return not matches(rule["Not"], document, context)
    variable = rule["Variable"]
    operator = next(k for k in rule if k not in ("Variable", "Next", "Comment"))
    expected = rule[operator]
    if operator == "IsPresent":
        return present(document, variable, context) == expected
    if not present(document, variable, context):
        # Step Functions fails the execution (States.Runtime) when a Variable names nothing.
        raise PathNotFound(f"Choice Variable {variable}")
    value = get(document, variable, context)
    if operator in _TYPE_TESTS:
        return _TYPE_TESTS[operator](value) == expected
    if operator.endswith("Path"):
        operator, expected = operator[:-4], get(document, expected, context)
    if operator == "StringMatches":
        return isinstance(value, str) and _wildcard(expected).fullmatch(value) is not None
    kind = next((k for k in _KINDS if operator.startswith(k)), None)
    if kind is None or operator[len(kind):] not in _COMPARE:
        raise Unsupported(f"Choice operator {operator}")
    wanted = _KINDS[kind]
    if not isinstance(value, wanted) or (kind != "Boolean" and isinstance(value, bool)):
        return False
    return _COMPARE[operator[len(kind):]](value, expected)


def all_states(definition: dict) -> dict[str, dict]:
    """Every state of a definition by name, those of its Maps' item processors (child
    executions) included: state names are unique across the whole definition."""
    found: dict[str, dict] = {}
    for name, state in definition["States"].items():
        found[name] = state
        if state["Type"] == "Map" and "ItemProcessor" in state:
            found.update(all_states(state["ItemProcessor"]))
    return found


def requesting(state: dict) -> bool:
    """Does the state send requests: a Task, or a distributed Map (its item list, its child
    executions, its results)."""
    return state["Type"] == "Task" or (
        state["Type"] == "Map" and state.get("ItemProcessor", {}).get(
            "ProcessorConfig", {}).get("Mode") == "DISTRIBUTED")
