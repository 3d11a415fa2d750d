"""Batch transform's record handling, as SageMaker does it between S3 and the model server:
splitting objects into records, batching them into payloads, InputFilter / JoinSource /
OutputFilter (DataProcessing), and pairing response lines with the records sent."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MB = 1024 * 1024
# One step of a filter: `.name`, `['name']` or `[...]` (an index, a list of them, or a slice).
_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\['([^']*)'\]|\[([^\]]*)\]")
_SLICE = re.compile(r"^\s*(-?\d*)\s*:\s*(-?\d*)\s*$")


class RecordError(ValueError):
    """Data the transform cannot process; the message is the job's failure reason."""


def is_csv(media_type: str | None) -> bool:
    return "csv" in (media_type or "text/csv").lower()


def split_records(body: bytes, split_type: str) -> list[bytes]:
    """SplitType Line: one record per non-blank line; None: the whole object is one record."""
    if split_type == "Line":
        return [line for line in body.splitlines() if line.strip()]
    if split_type == "None":
        return [body] if body.strip() else []
    raise RecordError(f"SplitType {split_type!r} is not supported locally; use Line or None")


def batches(records: list[bytes], strategy: str, max_payload_mb: int,
            ) -> Iterator[tuple[int, list[bytes]]]:
    """(index of the first record, records) per request: one record (SingleRecord) or as many as
    fit in MaxPayloadInMB, newline-joined (MultiRecord). 0 MB means no limit."""
    limit = max_payload_mb * MB
    start, batch, size = 0, [], 0
    for i, record in enumerate(records):
        if limit and len(record) > limit:
            raise RecordError(f"record {i + 1} is {len(record)} bytes, over MaxPayloadInMB "
                              f"({max_payload_mb} MB)")
        if batch and (strategy == "SingleRecord" or (limit and size + len(record) + 1 > limit)):
            yield start, batch
            start, batch, size = i, [], 0
        batch.append(record)
        size += len(record) + 1
    if batch:
        yield start, batch


def split_response(body: bytes, count: int) -> list[bytes] | None:
    """One output per record sent: the response's lines, or the elements of a JSON array; None
    when the response does not hold `count` outputs."""
    lines = [line for line in body.splitlines() if line.strip()]
    if len(lines) == count:
        return lines
    if count == 1:
        return [body.strip()]
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if isinstance(parsed, list) and len(parsed) == count:
        return [json.dumps(item, separators=(",", ":")).encode() for item in parsed]
    return None


def join(record: bytes, output: bytes, input_type: str) -> bytes:
    """JoinSource Input: the (unfiltered) input record with its output, in the input's format."""
    if is_csv(input_type):
        return record.rstrip(b"\r\n") + b"," + output
    source, result = _json(record, "input record"), _json_or_text(output)
    if isinstance(source, dict):
        joined: dict[str, Any] = {**source, "SageMakerOutput": result}
    else:
        joined = {"SageMakerInput": source, "SageMakerOutput": result}
    return json.dumps(joined, separators=(",", ":")).encode()


@dataclass(frozen=True)
class JsonPathFilter:
    """An InputFilter / OutputFilter: `$`, `$[1:]`, `$[0,3,-1]` (CSV columns or JSON array
    items), `$.key.sub` / `$['key']` (JSON objects), or steps of these combined."""

    expression: str
    steps: tuple[tuple[str, str], ...]  # ("key", name) | ("index", spec)

    @classmethod
    def parse(cls, expression: str | None) -> JsonPathFilter:
        text = (expression or "$").strip()
        steps: list[tuple[str, str]] = []
        position = 1
        while text.startswith("$") and position < len(text):
            match = _STEP.match(text, position)
            if match is None:
                break
            name, quoted, index = match.groups()
            steps.append(("index", index) if index is not None else ("key", name or quoted))
            position = match.end()
        if not text.startswith("$") or position != len(text):
            raise RecordError(f"filter {text!r} is not supported locally: use '$', '$[a:b]', "
                              "'$[i,j]' or '$.key'")
        return cls(text, tuple(steps))

    @property
    def identity(self) -> bool:
        return not self.steps

    def apply(self, record: bytes, media_type: str) -> bytes:
        if self.identity:
            return record
        if is_csv(media_type):
            if len(self.steps) != 1 or self.steps[0][0] != "index":
                raise RecordError(f"filter {self.expression!r} selects JSON keys, but the "
                                  "records are CSV: select columns with '$[...]'")
            return _csv_line(_select(_csv_fields(record), self.steps[0][1], self.expression))
        value: Any = _json(record, "record")
        for kind, arg in self.steps:
            if kind == "key":
                if not isinstance(value, dict) or arg not in value:
                    raise RecordError(f"filter {self.expression!r}: the record has no key {arg!r}")
                value = value[arg]
            elif isinstance(value, list):
                value = _select(value, arg, self.expression)
            else:
                raise RecordError(f"filter {self.expression!r}: [{arg}] needs a JSON array")
        return json.dumps(value, separators=(",", ":")).encode()


def _select(items: list, spec: str, expression: str) -> list:
    spec = spec.strip()
    if spec == "*":
        return items
    sliced = _SLICE.match(spec)
    try:
        if sliced:
            low, high = (int(s) if s else None for s in sliced.groups())
            return items[low:high]
        return [items[int(i)] for i in spec.split(",")]
    except (ValueError, IndexError):
        raise RecordError(f"filter {expression!r} does not fit a record of {len(items)} "
                          "columns") from None


def _csv_fields(record: bytes) -> list[str]:
    text = record.decode("utf-8", errors="replace").rstrip("\r\n")
    if '"' not in text:
        return text.split(",")  # the common case, without the csv module's overhead
    return next(csv.reader(io.StringIO(text)), [])


def _csv_line(fields: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue().encode()


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise RecordError(f"the {what} is not JSON ({exc}): {data[:80]!r}") from None


def _json_or_text(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", errors="replace")
