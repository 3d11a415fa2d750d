"""Request bodies to raw feature rows, predictions to response bodies.

Accepted request bodies (Content-Type), every row in feature_schema `input_columns` order or,
in batch transform, in the training data's layout (`record_columns`, see layout.py):
- text/csv: one row per line, as SageMaker sends (batch transform with SplitType=Line joins
  several records with newlines); in batch transform optionally after a header row naming
  either layout, never at an endpoint. Quoted fields are understood ("a,b" is one field); a
  body the csv module cannot read (a field over 131,072 characters, say) is a 400 naming the row.
- application/json: {"instances": [...]}, a bare list of instances, or one instance (a list of
  values or an object). An instance is a list of values, an object keyed by column name (absent
  keys are missing values; the id and target columns are ignored; other unknown keys are an
  error) or {"features": [values]}.
- application/jsonlines: one instance per line.
Values are numbers, strings or null; what each cell means (missing, rejected) is the one cell
policy of training and serving, `runtime_scripts/common/tabular/cells.py`. Client values
quoted back in a message are shortened (`cells.shown`).

Responses (Accept; default: the request's own type), in the columns of the model's answer
(answers.py): a classifier's "probability,label", a regression's "prediction":
- text/csv: "probability,label" per row (after a header row "probability,label" when a batch
  request had one); a regression's "prediction" per row
- application/json: {"predictions": [{"probability": p, "label": "yes"}, ...]}, or
  {"predictions": [{"prediction": v}, ...]}
- application/jsonlines: {"probability": p, "label": "yes"} (or {"prediction": v}) per line
Rows of a batch in the training data's layout carry their id columns in front: "10,0.93,yes" and
{"customer_id": "10", "probability": 0.93, "label": "yes"}. Labels are the two classes as the
dataset spec spells them. Numbers are written as the shortest decimal that reads back as the
model's float32 value.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from runtime_scripts.common.serving.errors import BadRequest, NotAcceptable, UnsupportedMediaType
from runtime_scripts.common.tabular.cells import shown

if TYPE_CHECKING:
    from runtime_scripts.common.serving.answers import Answer

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
MEDIA_TYPES = (CSV, JSON, JSONLINES)
_ALIASES = {"application/jsonl": JSONLINES, "application/x-jsonlines": JSONLINES}
_WILDCARDS = {"*/*": None, "text/*": CSV, "application/*": JSON}
_SCALARS = (str, int, float, type(None))

Row = Sequence[Any]


def content_type(header: str | None) -> str:
    """The media type of a request body; SageMaker's default for a missing header is CSV."""
    if not header:
        return CSV
    if header in MEDIA_TYPES:
        return header
    media = header.split(";", 1)[0].strip().lower()
    media = _ALIASES.get(media, media)
    if media not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"unsupported Content-Type {shown(media)}; send one of {', '.join(MEDIA_TYPES)}"
        )
    return media


def accept_type(header: str | None, request_type: str) -> str:
    """The response media type: the first supported one in Accept, by quality, else 406."""
    if not header or header == "*/*":
        return request_type
    if header in MEDIA_TYPES:
        return header
    offers = []
    for position, part in enumerate(header.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if quality > 0:
            offers.append((-quality, position, media.lower()))
    for _, _, media in sorted(offers):
        if media in _WILDCARDS:
            return _WILDCARDS[media] or request_type
        media = _ALIASES.get(media, media)
        if media in MEDIA_TYPES:
            return media
    raise NotAcceptable(
        f"unsupported Accept {shown(header)}; accept one of {', '.join(MEDIA_TYPES)}"
    )


def decode(media: str, body: bytes, columns: Sequence[str], ignored: frozenset[str]) -> list[Row]:
    if not body.strip():
        raise BadRequest("empty request body: send at least one row")
    if media == CSV:
        return decode_csv(body)
    if media == JSON:
        data = _load_json(body, "request body")
        if isinstance(data, dict) and "instances" in data:
            instances = data["instances"]
            if not isinstance(instances, list):
                raise BadRequest('"instances" must be a list of instances')
        elif isinstance(data, list):
            # A bare list of values (not of lists/objects) is one instance.
            flat = bool(data) and not isinstance(data[0], (list, dict))
            instances = [data] if flat else data
        else:
            instances = [data]
    else:
        lines = body.split(b"\n")
        instances = [
            _load_json(line, f"line {i + 1}") for i, line in enumerate(lines) if line.strip()
        ]
    if not instances:
        raise BadRequest("the request holds no instances")
    return [_instance_row(x, i + 1, columns, ignored) for i, x in enumerate(instances)]


def decode_csv(body: bytes) -> list[Row]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not UTF-8 text: {exc}") from None
    text = text.lstrip("\ufeff").rstrip("\r\n")
    if '"' in text:
        rows: list[Row] = []
        try:
            # newline="": a CR or LF inside a quoted field is part of the field, as RFC 4180 says.
            rows.extend(csv.reader(io.StringIO(text, newline="")))
        except csv.Error as exc:
            raise BadRequest(
                f"row {len(rows) + 1} is not valid CSV: {exc}; quote fields with double quotes "
                "and keep each field under 131,072 characters"
            ) from None
    else:
        # str.split takes ~60% of the csv module's time here; quotes are the only reason for it.
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        rows = [line.split(",") for line in text.split("\n")]
    return rows  # a header row, if any, is the layout's to recognise (layout.py)


def _load_json(data: bytes, where: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"{where} is not valid JSON: {exc}") from None


def _instance_row(
    instance: Any, number: int, columns: Sequence[str], ignored: frozenset[str]
) -> Row:
    if isinstance(instance, dict):
        if isinstance(instance.get("features"), list):
            row = instance["features"]
        else:
            unknown = instance.keys() - set(columns) - ignored
            if unknown:
                names = ", ".join(shown(k) for k in sorted(unknown, key=str)[:5])
                more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
                raise BadRequest(
                    f"instance {number} has unknown keys [{names}]{more}; "
                    f"expected keys: {', '.join(columns)}"
                )
            row = [instance.get(c) for c in columns]
    elif isinstance(instance, list):
        row = instance
    else:
        raise BadRequest(
            f"instance {number} must be a list of values or an object keyed by column name, "
            f"got {type(instance).__name__}"
        )
    for position, value in enumerate(row):
        if not isinstance(value, _SCALARS) or isinstance(value, bool):
            name = columns[position] if position < len(columns) else f"#{position + 1}"
            raise BadRequest(
                f"instance {number}: column {shown(name)} has value {shown(value)}; "
                "values must be numbers, strings or null"
            )
    return row


def encode(media: str, values: np.ndarray, answer: Answer, ids: IdColumns | None = None,
           header: bool = False) -> bytes:
    """The response body; `ids` (names and per-row tokens) go in front of each prediction, and
    `header` starts a CSV body with a header row (the request had one)."""
    # orjson writes float32 values in their shortest round-trip form, 1,000 in ~30 us.
    numbers = orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].split(b",") \
        if len(values) else []  # a batch request of a header row alone has no rows
    if media == CSV:
        lines = answer.csv_lines(values, numbers)
        if ids is not None:
            lines = [fields + line for fields, line in zip(ids.csv_prefixes(), lines, strict=True)]
        if header:
            names = ids.csv_header() if ids is not None else b""
            lines.insert(0, names + answer.columns + b"\n")
        return b"".join(lines)
    items = answer.json_members(values, numbers)
    prefixes = ids.json_prefixes() if ids is not None else [b"{"] * len(items)
    items = [prefix + item for prefix, item in zip(prefixes, items, strict=True)]
    if media == JSON:
        return b'{"predictions":[' + b",".join(items) + b"]}"
    return b"\n".join(items) + b"\n"


@dataclass(frozen=True)
class IdColumns:
    """The id columns a request's rows carried: their names and, per row, their tokens."""

    names: Sequence[str]
    values: Sequence[Row]

    def csv_header(self) -> bytes:
        return b"".join(_csv_field(name) + b"," for name in self.names)

    def csv_prefixes(self) -> list[bytes]:
        return [b"".join(_csv_field(v) + b"," for v in row) for row in self.values]

    def json_prefixes(self) -> list[bytes]:
        keys = [orjson.dumps(name) for name in self.names]
        return [b"{" + b"".join(b"%s:%s," % (k, orjson.dumps(v)) for k, v in zip(keys, row,
                                                                               strict=True))
                for row in self.values]


def _csv_field(value: object) -> bytes:
    text = "" if value is None else str(value)
    if any(c in text for c in ',"\r\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text.encode()
