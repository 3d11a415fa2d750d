"""`serve` for personas: each customer's segment behind SageMaker's inference contract, on
uvicorn: GET /ping, POST /invocations. It answers as built-in K-Means does (its documented
response formats), so a client reads one answer whichever way the model was trained:
    CSV request   rows of the features in the dataset spec's order, or of its id columns and
                  features; a header line naming the columns may lead (then any order)
    JSON request  {"instances": [{"features": [...]}, ...]} (the built-in algorithms' JSON) or
                  {"instances": [{"<feature>": value, ...}, ...]}
    CSV answer    `closest_cluster,distance_to_cluster` per row
    JSON answer   {"predictions": [{"closest_cluster": 1, "distance_to_cluster": 0.7}, ...]}
A PCA model (built-in PCA's, repacked) answers each row's projection as built-in PCA does:
    {"projections": [{"projection": [...]}, ...]}, or its values per CSV row.
A malformed request is a 400 naming the row and column; other types are 415/406. With
ML_SERVE_OUTPUT=features (the first container of a serial inference pipeline, before the
built-in algorithm's own container) it answers the rows standardised, as header-less CSV.
    serve [--host ADDR] [--port N] [--model-dir DIR]
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path

import numpy as np

from runtime_scripts import contract
from runtime_scripts.common.serving.plain import PlainApp, media_type, serve
from runtime_scripts.use_cases.personas.bundle import BUNDLE_FILE, Segmenter

JSON, CSV = "application/json", "text/csv"


class BadRequest(ValueError):
    """The request's fault: a 400 with this message."""


def _number(text: object, row: int, column: str) -> float:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value):
        raise BadRequest(f"row {row}: {column} is {text!r}, not a number")
    return value


def parse_csv(body: bytes, features: list[str], ids: list[str]) -> np.ndarray:
    try:
        lines = [row for row in csv.reader(io.StringIO(body.decode())) if row]
    except UnicodeDecodeError:
        raise BadRequest("the CSV body is not UTF-8") from None
    order = features
    if lines and set(features) <= {cell.strip() for cell in lines[0]}:
        header = [cell.strip() for cell in lines.pop(0)]
        positions = [header.index(f) for f in features]
    elif lines and len(lines[0]) == len(ids) + len(features):
        positions = list(range(len(ids), len(ids) + len(features)))
    else:
        positions = list(range(len(features)))
    if not lines:
        raise BadRequest("the CSV body has no rows")
    rows = []
    for number, line in enumerate(lines, start=1):
        if len(line) <= max(positions):
            raise BadRequest(f"row {number} has {len(line)} values; send the "
                             f"{len(features)} features {', '.join(order)}")
        rows.append([_number(line[p], number, f) for p, f in zip(positions, order, strict=True)])
    return np.asarray(rows)


def parse_json(body: bytes, features: list[str]) -> np.ndarray:
    try:
        instances = json.loads(body).get("instances")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        instances = None
    if not isinstance(instances, list) or not instances:
        raise BadRequest('the body must be {"instances": [{"features": [...]}, ...]}')
    rows = []
    for number, item in enumerate(instances, start=1):
        if isinstance(item, dict) and isinstance(item.get("features"), list):
            if len(item["features"]) != len(features):
                raise BadRequest(f"instance {number} has {len(item['features'])} features, "
                                 f"the model {len(features)}")
            rows.append([_number(v, number, f) for v, f in zip(item["features"], features,
                                                                 strict=True)])
        elif isinstance(item, dict):
            missing = [f for f in features if f not in item]
            if missing:
                raise BadRequest(f"instance {number} lacks {', '.join(missing)}")
            rows.append([_number(item[f], number, f) for f in features])
        else:
            raise BadRequest(f"instance {number} is not an object")
    return np.asarray(rows)


def answer(model: Segmenter, rows: np.ndarray, kind: str) -> bytes:
    if model.components is not None:  # a PCA model: as built-in PCA answers
        projected = model.project(model.scaled(rows))
        if kind == CSV:
            return "".join(",".join(f"{v:.6g}" for v in row) + "\n"
                           for row in projected).encode()
        return json.dumps({"projections": [{"projection": [round(float(v), 6) for v in row]}
                                           for row in projected]}).encode()
    closest, distance = model.assign(model.scaled(rows))
    if kind == CSV:
        return "".join(f"{c},{d:.6g}\n" for c, d in zip(closest, distance, strict=True)).encode()
    return json.dumps({"predictions": [
        {"closest_cluster": int(c), "distance_to_cluster": round(float(d), 6)}
        for c, d in zip(closest, distance, strict=True)]}).encode()


class App(PlainApp):
    def __init__(self, model_dir: Path, ids: list[str], *, features_only: bool = False) -> None:
        """`features_only`: the first container of a serial inference pipeline (the built-in
        algorithm's own container next): answer the standardised rows as header-less CSV."""
        self.model = Segmenter.read(model_dir / BUNDLE_FILE)
        self.features_only = features_only
        if not features_only and self.model.centroids is None and self.model.components is None:
            raise ValueError(f"{BUNDLE_FILE} holds neither centroids nor components")
        self.ids = ids

    def handle(self, method: str, path: str, content_type: str | None, accept: str | None,
               body: bytes) -> tuple[int, str, bytes]:
        if path == "/ping" and method == "GET":
            return 200, JSON, b'{"status": "ok"}'
        if path != "/invocations" or method != "POST":
            return 404, JSON, json.dumps({"error": f"no route {method} {path}"}).encode()
        kind = media_type(content_type) or CSV
        if kind not in (JSON, CSV):
            return 415, JSON, json.dumps({"error": f"Content-Type {kind} is not served: send "
                                                   f"{CSV} or {JSON}"}).encode()
        wanted = media_type(accept)
        answer_kind = kind if wanted in (None, "*/*") else wanted
        if self.features_only:  # for the next container, whatever the client asked the last
            answer_kind = CSV
        if answer_kind not in (JSON, CSV):
            return 406, JSON, json.dumps({"error": f"Accept {wanted} cannot be answered: ask "
                                                   f"for {CSV} or {JSON}"}).encode()
        try:
            rows = (parse_json(body, self.model.features) if kind == JSON
                    else parse_csv(body, self.model.features, self.ids))
        except BadRequest as exc:
            return 400, JSON, json.dumps({"error": str(exc)}).encode()
        if self.features_only:
            scaled = self.model.scaled(rows)
            return 200, CSV, "".join(",".join(f"{v:.9g}" for v in row) + "\n"
                                     for row in scaled).encode()
        return 200, answer_kind, answer(self.model, rows, answer_kind)


def main(argv: list[str] | None = None) -> int:
    from runtime_scripts.use_cases.personas.bundle import dataset_spec

    features_only = os.environ.get(contract.SERVE_OUTPUT_ENV) == contract.SERVE_FEATURES
    return serve(argv, lambda directory: App(directory, list(dataset_spec().get("id_columns",
                                                                                  [])),
                                             features_only=features_only),
                 lambda app: "the standardised features (a serial pipeline's first "
                 "container)" if app.features_only
                 else f"{len(app.model.centroids)} segments" if app.model.centroids is not None
                 else f"{len(app.model.components)} principal components")


if __name__ == "__main__":
    sys.exit(main())
