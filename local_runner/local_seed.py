"""What a local run uploads into the emulated account before it starts pipelines, and the inputs
it starts them with: a seed.

By default the seed is each use case's own local-run data, which its manifest names
(`sample_data`: the training data; `local_batch`: rows to score; `local_batch_labels`: their
true labels), uploaded below the use case's data prefix. `--seed FILE` gives one instead:

    {"uploads": [{"file": "...", "bucket_output": "RawBucketName", "key": "..."}],
     "inputs": {"fraud:training": {...}, "batch-inference": {...}}}

`${Name}` in an input stands for the stack output `Name` (a bucket's generated name), and an
input's key is a pipeline as `mlplatform run` names one (`<use case>:<pipeline>`, or the bare
pipeline for the use cases the run selects).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from local_runner.assembly import PROJECT_ROOT
from local_runner.errors import RunnerError

if TYPE_CHECKING:
    from config import UseCaseConfig

class _Allowed:  # a pipeline without a manifest field of its own: every use case has it
    allowed = True


_ALLOWED = _Allowed()
# The storage stack's output with the raw bucket's name: what every upload goes to.
RAW_BUCKET_OUTPUT = "RawBucketName"
# A manifest's local-run file -> the pipeline input that reads it, and where below the raw
# bucket it goes. The training data lies under the use case's data prefix, where its training
# and Glue read by default; the rows to score and their labels lie outside it (a training job
# reads every object under its prefix), the rows where its batch inference reads by default.
LOCAL_DATA = (
    ("sample_data", "training", "raw_s3_uri", "{prefix}"),
    ("sample_data", "backtest", "raw_s3_uri", "{prefix}"),
    ("local_batch", "batch-inference", "input_s3_uri", "batch/input/{prefix}"),
    ("local_batch_labels", "batch-inference", "labels_s3_uri", "batch/labels/{prefix}"),
)


@dataclass(frozen=True)
class Upload:
    file: Path
    bucket_output: str  # the stack output that names the bucket
    key: str


@dataclass(frozen=True)
class Seed:
    uploads: tuple[Upload, ...]
    inputs: dict[str, dict] = field(default_factory=dict)  # pipeline address -> input
    source: str = "the use cases' local-run data"

    def check(self) -> Seed:
        """Every file to upload exists (checked before any synth)."""
        for upload in self.uploads:
            if not upload.file.is_file():
                raise RunnerError(f"{self.source}: {upload.file} does not exist",
                                  "fix the path, or add the file")
        return self

    @classmethod
    def from_file(cls, path: Path) -> Seed:
        where = f"seed file {path}"
        try:
            document = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise RunnerError(f"{where} does not exist", "give an existing file to --seed") \
                from None
        except json.JSONDecodeError as error:
            raise RunnerError(f"{where} is not JSON: {error.msg} at line {error.lineno}") \
                from None
        uploads, inputs = _shape(document, where)
        return cls(tuple(Upload(PROJECT_ROOT / item["file"], item["bucket_output"],
                                item["key"]) for item in uploads), inputs, where)

    @classmethod
    def for_use_cases(cls, use_cases: list[UseCaseConfig],
                      runs: list[str] | None = None) -> Seed:
        """Each use case's local-run data (its manifest's files that are set) and the inputs
        that point its pipelines at them; with `runs` (`<use case>:<pipeline>`), only what
        those pipelines read."""
        uploads: list[Upload] = []
        inputs: dict[str, dict] = {}
        for use_case in use_cases:
            manifest = use_case.manifest
            for attribute, pipeline, input_key, folder in LOCAL_DATA:
                relative = getattr(manifest, attribute)
                address = f"{use_case.name}:{pipeline}"
                # A pipeline the manifest refuses (e.g. a backtest of untimed data) gets none.
                refused = not getattr(manifest, pipeline.replace("-", "_"), _ALLOWED).allowed
                # Labels the stage's batch cannot score (its first state refuses them).
                refused |= input_key == "labels_s3_uri" and not use_case.batch_labels_scored
                if relative is None or refused or (runs is not None and address not in runs):
                    continue
                file = manifest.path(relative)
                prefix = folder.format(prefix=use_case.prefix)
                upload = Upload(file, RAW_BUCKET_OUTPUT, prefix + file.name)
                if upload not in uploads:  # training and backtest read the same file
                    uploads.append(upload)
                data = inputs.setdefault(address, {"data": {}})["data"]
                data[input_key] = f"s3://${{{RAW_BUCKET_OUTPUT}}}/{prefix}"
        source = f"the local-run data of {', '.join(u.name for u in use_cases)} (manifest.py)"
        return cls(tuple(uploads), inputs, source)


def _shape(document, where: str) -> tuple[list[dict], dict[str, dict]]:
    if not isinstance(document, dict):
        raise RunnerError(f"{where} must hold a JSON object",
                          '{"uploads": [...], "inputs": {...}} (docs/use-cases.md)')
    uploads = document.get("uploads", [])
    keys = {"file", "bucket_output", "key"}
    if not isinstance(uploads, list) or not all(
            isinstance(u, dict) and keys <= set(u) for u in uploads):
        raise RunnerError(f"{where}: uploads must be a list of objects with "
                          f"{', '.join(sorted(keys))}")
    inputs = document.get("inputs", {})
    if not isinstance(inputs, dict) or not all(isinstance(v, dict) for v in inputs.values()):
        raise RunnerError(f"{where}: inputs must map pipelines to input objects")
    return uploads, inputs


def merge(base: dict, override: dict) -> dict:
    """`override` over `base`: objects merge key by key, anything else replaces (the rule of
    the pipelines' own input merge)."""
    merged = dict(base)
    for key, value in override.items():
        merged[key] = merge(merged[key], value) \
            if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged
