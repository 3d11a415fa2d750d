"""A request checked against its operation's botocore input shape, every constraint included.

botocore's own `ParamValidator` checks types, required members and some minimums; the service
rejects what it leaves out: maximum lengths and sizes, string patterns and enums. This checks
all of them, the way the service does: a pattern must match the whole value, lengths count
characters.

botocore's patterns are Java regular expressions (the services validate with Java). Python's
`re` has no `\\p{L}`-style classes, so patterns compile with the `regex` module after three
Java-only spellings are translated: UTF-16 surrogate pairs (`\\uD800\\uDC00-\\uDBFF\\uDFFF` is
U+10000..U+10FFFF), Java's ASCII-only POSIX classes (`\\p{Alnum}`, `\\p{Print}`, `\\p{ASCII}`,
...) and a quantified end anchor (`${1,256}`, which in Java is just `$`).

Step Functions serialises a JSON object given for a few string or blob members (SNS Publish
`Message`, StartExecution `Input`, Lambda Invoke `Payload`): those are checked as the JSON text
Step Functions sends.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import regex
from botocore.model import Shape

from tests.contract.outcomes import operation_model, sfn_name

# Java's POSIX classes are US-ASCII: their members, for use inside a character class.
_JAVA_POSIX = {"Lower": "a-z", "Upper": "A-Z", "ASCII": r"\x00-\x7F", "Alpha": "a-zA-Z",
               "Digit": "0-9", "Alnum": "a-zA-Z0-9", "Punct": r"!-/:-@\[-`{-~",
               "Graph": r"!-~", "Print": r"\x20-\x7E", "Blank": r" \t", "Space": r" \t\n\x0B\f\r",
               "XDigit": "0-9a-fA-F", "Cntrl": r"\x00-\x1F\x7F"}
_SURROGATES = re.compile(r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})", re.IGNORECASE)
_POSIX = re.compile(r"\\p\{(" + "|".join(_JAVA_POSIX) + r")\}")
# Step Functions serialises these when given a JSON object: (service, operation, member).
SERIALISED = {("sns", "Publish", "Message"), ("stepfunctions", "StartExecution", "input"),
              ("lambda", "Invoke", "Payload")}
STATE_PAYLOAD_MAX = 262_144  # Step Functions: 256 KiB of UTF-8 per state input or result


def _pair(match: re.Match) -> str:
    high, low = int(match.group(1), 16), int(match.group(2), 16)
    return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"


def _posix(pattern: str) -> str:
    """Each Java POSIX class as its ASCII members: bare inside [...], bracketed outside."""
    out, depth, pos = [], 0, 0
    while pos < len(pattern):
        char = pattern[pos]
        if char == "\\":
            match = _POSIX.match(pattern, pos)
            if match:
                members = _JAVA_POSIX[match.group(1)]
                out.append(members if depth else f"[{members}]")
                pos = match.end()
                continue
            out.append(pattern[pos:pos + 2])
            pos += 2
            continue
        depth += char == "["
        depth -= char == "]" and depth > 0
        out.append(char)
        pos += 1
    return "".join(out)


@functools.cache
def java_pattern(pattern: str) -> regex.Pattern:
    text = _SURROGATES.sub(_pair, pattern)
    text = re.sub(r"\$\{\d+(?:,\d*)?\}", "$", text)
    return regex.compile(_posix(text))


def request_problems(service: str, operation: str, request: dict) -> list[str]:
    """Everything the service would reject in `request` (Step Functions' member names)."""
    shape = operation_model(service, operation).input_shape
    problems: list[str] = []
    if shape is None:
        return [] if not request else [f"{operation} takes no input, got {sorted(request)}"]
    _check(shape, request, "", problems, (service, operation))
    return problems


def _check(shape: Shape, value: Any, path: str, out: list[str], operation: tuple) -> None:
    _CHECKS.get(shape.type_name, _check_other)(shape, value, path, out, operation)


def _check_structure(shape: Shape, value: Any, path: str, out: list[str],
                     operation: tuple) -> None:
    where = path or "request"
    if not isinstance(value, dict):
        out.append(f"{where}: must be an object, got {type(value).__name__}")
        return
    names = {sfn_name(name): name for name in shape.members}
    for key, member_value in value.items():
        if key not in names:
            out.append(f"{where}: unknown member {key!r} (members: {', '.join(names)})")
            continue
        member = names[key]
        if (*operation, member) in SERIALISED and not isinstance(member_value, str):
            member_value = json.dumps(member_value, ensure_ascii=False)
        _check(shape.members[member], member_value, f"{path}.{key}".lstrip("."), out, operation)
    for required in shape.required_members:
        if sfn_name(required) not in value:
            out.append(f"{where}: required member {sfn_name(required)!r} is missing")


def _check_list(shape: Shape, value: Any, path: str, out: list[str], operation: tuple) -> None:
    if not isinstance(value, list):
        out.append(f"{path or 'request'}: must be a list, got {type(value).__name__}")
        return
    _bounds(shape, len(value), f"{path} has {len(value)} items", out)
    for index, item in enumerate(value):
        _check(shape.member, item, f"{path}[{index}]", out, operation)


def _check_map(shape: Shape, value: Any, path: str, out: list[str], operation: tuple) -> None:
    if not isinstance(value, dict):
        out.append(f"{path or 'request'}: must be a map, got {type(value).__name__}")
        return
    _bounds(shape, len(value), f"{path} has {len(value)} entries", out)
    for key, item in value.items():
        _check(shape.key, key, f"{path} key {key!r}", out, operation)
        _check(shape.value, item, f"{path}.{key}", out, operation)


def _bounds(shape: Shape, size: int | float, what: str, out: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if (low is not None and size < low) or (high is not None and size > high):
        out.append(f"{what} (allowed: {low if low is not None else 0} .. {high or 'any'})")


def _check_string(shape: Shape, value: Any, path: str, out: list[str], operation: tuple) -> None:
    if not isinstance(value, str):
        out.append(f"{path}: must be a string, got {type(value).__name__} {value!r}")
        return
    _bounds(shape, len(value), f"{path}: {value[:80]!r} is {len(value)} characters", out)
    if shape.enum and value not in shape.enum:
        out.append(f"{path}: {value!r} is not one of {shape.enum}")
    pattern = shape.metadata.get("pattern")
    if pattern and java_pattern(pattern).fullmatch(value) is None:
        out.append(f"{path}: {value[:80]!r} does not match {shape.name}'s pattern {pattern!r}")


def _check_number(shape: Shape, value: Any, path: str, out: list[str], operation: tuple) -> None:
    integral = shape.type_name in ("integer", "long")
    if isinstance(value, bool) or not isinstance(value, int if integral else int | float):
        out.append(f"{path}: must be {'an integer' if integral else 'a number'}, got {value!r}")
    else:
        _bounds(shape, value, f"{path}: {value}", out)


def _check_other(shape: Shape, value: Any, path: str, out: list[str], operation: tuple) -> None:
    kind = shape.type_name
    if kind == "boolean" and not isinstance(value, bool):
        out.append(f"{path}: must be a boolean, got {value!r}")
    elif kind == "timestamp" and (isinstance(value, bool)
                                  or not isinstance(value, str | int | float)):
        out.append(f"{path}: must be a timestamp, got {value!r}")
    elif kind == "blob":
        if not isinstance(value, str | bytes):
            out.append(f"{path}: must be bytes or text, got {type(value).__name__}")
        elif len(value.encode() if isinstance(value, str) else value) > STATE_PAYLOAD_MAX:
            out.append(f"{path}: more than {STATE_PAYLOAD_MAX} bytes")


_CHECKS = {"structure": _check_structure, "list": _check_list, "map": _check_map,
           "string": _check_string, "integer": _check_number, "long": _check_number,
           "float": _check_number, "double": _check_number}
