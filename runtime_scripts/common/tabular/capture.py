"""SageMaker data capture records -> raw feature rows; also Model Monitor's record preprocessor.

An endpoint with data capture writes JSON lines under
`<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl`, one per sampled request:

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "128,KS,...\\n107,OH,...", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT",
                                        "data": "0.12,no\\n0.81,yes", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "...", "inferenceTime": "2026-11-20T13:45:00Z"},
     "eventVersion": "0"}

A request may carry several rows (CSV lines, a JSON list of instances, JSON lines), in the
request column order of the model's feature_schema.json; `encoding` is CSV, JSON or BASE64.

Standard library only and free of package imports: Model Monitor downloads this one file into
its analyzer container and calls `preprocess_handler` on every captured record, so that the data
quality job sees named feature columns (as in the baseline, whose CSV has a header) and not the
prediction columns. The drift check (`drift.py`) imports the same parser. The analyzer's Python
may be older than ours, so nothing here needs a newer one than 3.7 at run time (no `X | Y` outside
annotations, no `zip(strict=...)`).

The column names are not written here: they are the deployed model's, which its training run's
dataset spec decided (another spec, other columns). `feature_columns` reads them from the
monitoring job itself (see there).
"""

from __future__ import annotations

import base64
import csv
import functools
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Dict, List, Union  # noqa: UP035 (Python 3.7 at run time)

# Comma-separated column names, when a job sets them explicitly (an environment value of a
# monitoring job definition holds at most 256 characters, so only short column lists fit).
FEATURE_COLUMNS_ENV = "FEATURE_COLUMNS"
# Model Monitor's container contract (AWS, "Container Contract Inputs"): a monitoring job whose
# BaselineConfig names statistics and constraints gets both downloaded, their local paths in
# these environment variables.
BASELINE_STATISTICS_ENV = "baseline_statistics"
BASELINE_CONSTRAINTS_ENV = "baseline_constraints"
CSV_TYPES = ("text/csv",)
JSON_TYPE = "application/json"
JSONLINES_TYPES = ("application/jsonlines", "application/jsonl", "application/x-jsonlines")

Value = Union[str, float, int, None]  # noqa: UP007
Row = List[Value]  # noqa: UP006
Record = Dict[str, Value]  # noqa: UP006


class CaptureError(ValueError):
    """A captured record that cannot be read as feature rows; the message says why."""


def decode(data: str, encoding: str) -> str:
    if encoding.upper() == "BASE64":
        try:
            return base64.b64decode(data, validate=True).decode("utf-8")
        except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
            raise CaptureError(f"BASE64 data does not decode to UTF-8 text: {exc}") from None
    return data


def _media(content_type: str | None) -> str:
    return (content_type or "text/csv").split(";", 1)[0].strip().lower()


def _instance(value: Any, columns: Sequence[str]) -> Row:
    """One JSON instance: a list of values, {"features": [...]}, or an object keyed by name."""
    if isinstance(value, dict):
        if "features" in value and isinstance(value["features"], list):
            return list(value["features"])
        return [value.get(name) for name in columns]
    if isinstance(value, list):
        return list(value)
    raise CaptureError(f"a JSON instance must be a list or an object, got {type(value).__name__}")


def parse_body(text: str, content_type: str | None, columns: Sequence[str]) -> list[Row]:
    """The rows of one request body, as the inference server reads it."""
    media = _media(content_type)
    if media in CSV_TYPES:
        return [[cell if cell != "" else None for cell in row]
                for row in csv.reader(io.StringIO(text)) if row]
    try:
        if media in JSONLINES_TYPES:
            return [_instance(json.loads(line), columns) for line in text.splitlines()
                    if line.strip()]
        if media == JSON_TYPE:
            doc = json.loads(text)
            if isinstance(doc, dict) and "instances" in doc:
                doc = doc["instances"]
            if isinstance(doc, list) and doc and not isinstance(doc[0], (list, dict)):  # noqa: UP038
                return [_instance(doc, columns)]  # one instance given as a bare list of values
            return [_instance(item, columns) for item in (doc if isinstance(doc, list) else [doc])]
    except json.JSONDecodeError as exc:
        raise CaptureError(f"{media} body is not valid JSON: {exc}") from None
    raise CaptureError(f"unsupported captured content type {media!r}")


def rows_from_record(record: dict, columns: Sequence[str]) -> list[Row]:
    """The request rows of one captured record (a parsed JSON line)."""
    try:
        endpoint_input = record["captureData"]["endpointInput"]
        data = endpoint_input["data"]
    except (KeyError, TypeError):
        raise CaptureError("not a data capture record: captureData.endpointInput.data is "
                           "missing") from None
    text = decode(data, str(endpoint_input.get("encoding", "CSV")))
    return parse_body(text, endpoint_input.get("observedContentType"), columns)


def rows_from_lines(lines: Iterable[str], columns: Sequence[str]) -> list[Row]:
    """Every request row of a capture file's lines; blank lines are skipped."""
    rows: list[Row] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CaptureError(f"line {number} is not JSON: {exc}") from None
        try:
            rows.extend(rows_from_record(record, columns))
        except CaptureError as exc:
            raise CaptureError(f"line {number}: {exc}") from None
    return rows


def typed(value: Value) -> Value:
    """A CSV cell as Model Monitor should see it: numbers as numbers, the rest as text."""
    if not isinstance(value, str):
        return value
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() \
        else number


def as_records(rows: Iterable[Row], columns: Sequence[str]) -> list[Record]:
    """Rows as {column: value}; a row with the wrong number of values is an error."""
    records = []
    for row in rows:
        if len(row) != len(columns):
            raise CaptureError(f"a row has {len(row)} values, expected {len(columns)} "
                               f"({', '.join(columns[:3])}, ...)")
        records.append(dict(zip(columns, map(typed, row))))  # lengths checked above  # noqa: B905
    return records


@functools.lru_cache(maxsize=4)
def baseline_columns(path: str) -> tuple[str, ...]:
    """The feature names of a Model Monitor statistics.json or constraints.json, in its order
    (both list `features`, each with its `name`). That order is the baseline dataset's column
    order: Model Monitor itself matches captured CSV to the baseline by position ("the training
    dataset data schema and the inference dataset schema should exactly match: the number and
    order of the features", AWS's baseline guide), and our baseline.csv is written in the
    model's request column order (preprocess.py, feature_schema.json `input_columns`)."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as exc:
        raise CaptureError(f"cannot read the baseline at {path}: {exc}") from None
    features = document.get("features") if isinstance(document, dict) else None
    names = tuple(f.get("name") for f in features or () if isinstance(f, dict))
    if not names or not all(isinstance(name, str) and name for name in names):
        raise CaptureError(f"{path} lists no feature names (features[].name): it must be a "
                           "Model Monitor statistics.json or constraints.json")
    return names


def feature_columns(environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """The request columns, in order: FEATURE_COLUMNS when the job sets it, else the columns of
    the baseline the monitoring job compares against. The deployment state machine computes that
    baseline from the deployed model's own training run (its baseline.csv, written with that
    run's dataset spec) and promotes it to where the job definition reads it, so the names always
    follow the model that is serving, whatever spec it was trained with."""
    configured = environ.get(FEATURE_COLUMNS_ENV, "")
    names = tuple(name.strip() for name in configured.split(",") if name.strip())
    if names:
        return names
    for variable in (BASELINE_STATISTICS_ENV, BASELINE_CONSTRAINTS_ENV):
        if environ.get(variable):
            return baseline_columns(environ[variable])
    raise CaptureError(f"no feature columns: the monitoring job has neither {FEATURE_COLUMNS_ENV} "
                       f"nor a baseline ({BASELINE_STATISTICS_ENV}); give its job definition "
                       "a baseline config (statistics and constraints)")


def _attribute(event_data: Any, *names: str) -> Any:
    for name in names:
        value = getattr(event_data, name, None)
        if value is not None:
            return value
    return None


def preprocess_handler(inference_record: Any, logger: Any = None) -> list[Record]:
    """Model Monitor's record preprocessor hook: one captured record -> one named record per
    request row (the prediction columns are left out: data quality compares inputs)."""
    endpoint_input = inference_record.endpoint_input
    columns = feature_columns()
    text = decode(endpoint_input.data, str(_attribute(endpoint_input, "encoding") or "CSV"))
    # AWS documents the record's EventData with `observedContentType` (camel case, as in the
    # capture file); the snake-case spelling is accepted too.
    content_type = _attribute(endpoint_input, "observedContentType", "observed_content_type")
    rows = parse_body(text, content_type, columns)
    if logger is not None and not rows:
        logger.info("captured record without rows")
    return as_records(rows, columns)
