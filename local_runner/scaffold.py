"""`mlplatform new-use-case NAME --from TEMPLATE`: a new use case, copied from an existing one.

Any use case is a template. Its folder is copied to `runtime_scripts/use_cases/NAME/` and what
names the template as the use case is renamed, in Python files and a Dockerfile of the folder: the
manifest's name and every string literal that is exactly the template's name
(`run_as("<template>", ...)` in the entry points, the tests), module and folder paths
(`use_cases.<template>`, `use_cases/<template>/`), a Dockerfile's `ML_USE_CASE=`, and the
name as a lowercase word in comments and docstrings. Data files (dataset spec, Glue schema,
sample data) are copied as they are: a column may well carry the template's name. What still
mentions the template (a description, a capitalized word) is listed for review.
"""

from __future__ import annotations

import io
import re
import shutil
import tokenize
from dataclasses import dataclass
from pathlib import Path

from config.problems import nearest
from local_runner.errors import RunnerError
from runtime_scripts.common.manifest import (
    USE_CASE_ENV,
    USE_CASE_NAME,
    USE_CASE_NAME_MAX,
    USE_CASES_DIR,
    ManifestError,
    available_use_cases,
    load_manifest,
)

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
MENTIONS_SHOWN = 12


def name_pattern(names) -> re.Pattern[str]:
    """A use case's name as a word of any spelling, for `fraud`: `fraud`, `Fraud`,
    `FRAUD_COLUMNS`, `card_fraud.csv`, `FraudSpec`, but not `frauds` or `defraud`. Letters
    around the name end the match, except a camel-case hump; `_`, `-`, digits and punctuation
    do not."""
    words = "|".join(re.escape(name).replace(r"\-", "[-_]") for name in sorted(names))
    return re.compile(rf"(?:(?<![A-Za-z])|(?<=[a-z])(?=[A-Z]))(?i:{words})(?![a-z])")


@dataclass(frozen=True)
class Scaffolded:
    name: str
    template: str
    folder: Path
    files: tuple[Path, ...]
    renamed: tuple[Path, ...]  # files in which the template's name was replaced
    mentions: tuple[str, ...]  # "<file>:<line>: <text>" that still name the template


def describe_templates() -> str:
    """Every use case, as `--help` lists them: `<name> (<problem type>)`, ..."""
    described = []
    for name in available_use_cases():
        try:
            described.append(f"{name} ({load_manifest(name).problem_type})")
        except ManifestError:
            described.append(f"{name} (its manifest does not load)")
    return ", ".join(described) or "none"


def _check(name: str, template: str) -> None:
    if not USE_CASE_NAME.match(name):
        raise RunnerError(f"new-use-case {name}: not a use case name",
                          f"2-{USE_CASE_NAME_MAX} lowercase letters, digits and single '-', "
                          "starting with a letter (it is part of AWS resource names)")
    if (USE_CASES_DIR / name).exists():
        raise RunnerError(f"new-use-case {name}: runtime_scripts/use_cases/{name}/ exists",
                          "pick another name, or edit that use case")
    templates = available_use_cases()
    if template not in templates:
        guess = nearest(template, templates)
        raise RunnerError(f"--from {template}: no use case is called {template!r}"
                          + (f"; did you mean {guess}?" if guess else ""),
                          f"templates: {', '.join(templates) or 'none'}")


def _renamings(template: str, name: str) -> list[tuple[re.Pattern[str], str]]:
    word = r"(?![\w-])"
    quoted = re.escape(template)
    return [
        (re.compile(rf"(use_cases[./]){quoted}{word}"), rf"\g<1>{name}"),
        (re.compile(rf"""(["']){quoted}\1"""), rf"\g<1>{name}\g<1>"),
        (re.compile(rf"({USE_CASE_ENV}=){quoted}{word}"), rf"\g<1>{name}"),
    ]


def _renames_in(path: Path, dockerfile: str) -> bool:
    return path.suffix == ".py" or path.name == dockerfile


_STATEMENT_START = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT,
                    tokenize.ENCODING}


def _prose_spans(text: str, python: bool) -> list[tuple[int, int]]:
    """(start, end) offsets of the comments and docstrings of a file (a Dockerfile's comment
    lines; in Python, comments and strings that stand alone as a statement)."""
    if not python:
        spans, offset = [], 0
        for line in text.splitlines(keepends=True):
            if line.lstrip().startswith("#"):
                spans.append((offset, offset + len(line)))
            offset += len(line)
        return spans
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    spans = []
    for i, token in enumerate(tokens):
        standalone = (token.type == tokenize.STRING
                      and (i == 0 or tokens[i - 1].type in _STATEMENT_START)
                      and (i + 1 == len(tokens) or tokens[i + 1].type == tokenize.NEWLINE))
        if token.type == tokenize.COMMENT or standalone:
            spans.append((starts[token.start[0] - 1] + token.start[1],
                          starts[token.end[0] - 1] + token.end[1]))
    return spans


def _rename_in_prose(text: str, template: str, name: str, python: bool) -> str:
    word = re.compile(rf"(?<![\w.]){re.escape(template)}(?![\w])")
    for start, end in reversed(_prose_spans(text, python)):
        text = text[:start] + word.sub(name, text[start:end]) + text[end:]
    return text


def scaffold(name: str, template: str) -> Scaffolded:
    """Copy use case `template` to `name` and rename it there (module docstring)."""
    _check(name, template)
    dockerfile = Path(load_manifest(template).image.dockerfile).name
    folder = USE_CASES_DIR / name
    shutil.copytree(USE_CASES_DIR / template, folder, ignore=IGNORED)
    files = tuple(sorted(p for p in folder.rglob("*") if p.is_file()))
    renamed = []
    for path in files:
        if not _renames_in(path, dockerfile):
            continue
        text = original = path.read_text()
        text = _rename_in_prose(text, template, name, python=path.suffix == ".py")
        for pattern, replacement in _renamings(template, name):
            text = pattern.sub(replacement, text)
        if text != original:
            path.write_text(text)
            renamed.append(path)
    try:
        load_manifest(name)
    except ManifestError as error:
        shutil.rmtree(folder)
        raise RunnerError(f"new-use-case {name}: the copy of {template} does not load: {error}",
                          f"fix runtime_scripts/use_cases/{template}/ first") from None
    return Scaffolded(name, template, folder, files, tuple(renamed),
                      tuple(_mentions(files, template, folder, dockerfile)))


def _mentions(files, template: str, folder: Path, dockerfile: str) -> list[str]:
    pattern = name_pattern([template])
    found = []
    for path in files:
        if not _renames_in(path, dockerfile):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if pattern.search(line):
                found.append(f"{path.relative_to(folder)}:{number}: {line.strip()[:90]}")
    return found


def next_steps(created: Scaffolded) -> str:
    name, template = created.name, created.template
    folder = f"runtime_scripts/use_cases/{name}"
    manifest = load_manifest(name)
    data = ", ".join(value for value in (manifest.sample_data, manifest.local_batch,
                                         manifest.local_batch_labels) if value)
    lines = [
        f"Created {folder}/ from {template}: {len(created.files)} files, the use case's name "
        f"replaced in {len(created.renamed)}.",
        f"It runs as it is, on {template}'s sample data. Next (docs/use-cases.md):",
        f"  1. Deploy it: add {{\"name\": \"{name}\"}} to \"use_cases\" in "
        "config/stages/dev.json (and any other stage)",
        f"  2. Run it here: mlplatform run {name}:training {name}:batch-inference",
        f"  3. Your data: replace the files the manifest names ({data})",
        "  4. dataset.json: target, labels, id columns, features; glue_schema.json: the raw "
        "table's columns",
        f"  5. manifest.py: description, and metrics, gate, hyperparameters and tuning where "
        f"your problem differs from {template}'s",
        f"  6. Its tests: .venv/bin/python -m pytest {folder}",
    ]
    if created.mentions:
        shown = created.mentions[:MENTIONS_SHOWN]
        lines += [f"Still naming {template} ({len(created.mentions)} lines; review them):",
                  *(f"  {folder}/{mention}" for mention in shown)]
        if len(created.mentions) > len(shown):
            lines.append(f"  ... and {len(created.mentions) - len(shown)} more: grep -rni "
                         f"{template} {folder}")
    return "\n".join(lines)
