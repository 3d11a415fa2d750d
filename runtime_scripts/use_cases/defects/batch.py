"""Batch transform of images, as SageMaker's transform job runs it over this model: every
object under an input prefix, or every key of a manifest file, is one request (SplitType None,
one image per object) and gives `<key>.out` under the output folder, the server's JSON answer.
A transform job on AWS sends the objects to `serve`; this runs the same scorer over a local
folder, for a local run and for the tests.

    python -m runtime_scripts.use_cases.defects.batch --model-dir DIR --output DIR
        (--input-prefix DIR | --manifest FILE) [--content-type application/x-image]

A manifest is SageMaker's ManifestFile: a JSON list whose first item is {"prefix": ...} and whose
others are keys relative to it. An image the model refuses fails the job, naming the key, as a
transform job fails on a 4xx.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from runtime_scripts.common.jobio import JobError, run_job, write_atomic
from runtime_scripts.common.serving.errors import ClientError
from runtime_scripts.use_cases.defects.scorer import Scorer


def manifest_keys(path: Path) -> tuple[Path, list[str]]:
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise JobError(f"manifest {path} is not readable JSON: {exc}") from None
    if not (isinstance(document, list) and document and isinstance(document[0], dict)
            and "prefix" in document[0] and all(isinstance(k, str) for k in document[1:])):
        raise JobError(f'manifest {path} must be [{{"prefix": "..."}}, "key", ...]')
    prefix = document[0]["prefix"]
    return Path(prefix.removeprefix("file://")), document[1:]


def prefix_keys(root: Path) -> list[str]:
    if not root.is_dir():
        raise JobError(f"input prefix {root} does not exist")
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and not p.name.startswith("."))


def transform(scorer: Scorer, root: Path, keys: list[str], output: Path,
              content_type: str = "application/x-image") -> int:
    for key in keys:
        source = root / key
        if not source.is_file():
            raise JobError(f"{key}: no such object under {root}")
        try:
            answer = scorer.answer(content_type, "application/json", source.read_bytes())
        except ClientError as exc:
            raise JobError(f"{key}: the model refused it ({exc.status}): {exc.message}") \
                from None
        write_atomic(output / f"{key}.out", answer)
    return len(keys)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="batch")
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input-prefix", type=Path)
    source.add_argument("--manifest", type=Path)
    parser.add_argument("--content-type", default="application/x-image")
    args = parser.parse_args(argv)
    root, keys = (manifest_keys(args.manifest) if args.manifest
                  else (args.input_prefix, prefix_keys(args.input_prefix)))
    count = transform(Scorer(args.model_dir), root, keys, args.output, args.content_type)
    print(json.dumps({"transformed": count, "output": str(args.output)}))


if __name__ == "__main__":
    sys.exit(run_job(main, Path("/dev/null"), "batch transform"))
