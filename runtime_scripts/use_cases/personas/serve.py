"""`serve` for personas: each customer's segment behind SageMaker's inference contract, on
uvicorn: GET /ping, POST /invocations. It answers as built-in K-Means does (its documented
response formats), so a client reads one answer whichever way the model was trained:
    CSV request   rows of the features in the dataset spec's order, or of its id columns and
                  features; a header line naming the columns may lead (then any order)
    JSON request  {"instances": [{"features": [...]}, ...]} (the built-in algorithms' JSON) or
                  {"instances": [{"<feature>": value, ...}, ...]}
    CSV answer    `closest_cluster,distance_to_cluster` per row
    JSON answer   {"predictions": [{"closest_cluster": 1, "distance_to_cluster": 0.7}, ...]}
A malformed request is a 400 naming the row and column; other types are 415/406.
    serve [--host ADDR] [--port N] [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import signal
import sys
from pathlib import Path

import numpy as np

from runtime_scripts import contract
from runtime_scripts.use_cases.personas.bundle import BUNDLE_FILE, Segmenter

JSON, CSV = "application/json", "text/csv"
log = logging.getLogger("personas.serve")


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
    closest, distance = model.assign(model.scaled(rows))
    if kind == CSV:
        return "".join(f"{c},{d:.6g}\n" for c, d in zip(closest, distance, strict=True)).encode()
    return json.dumps({"predictions": [
        {"closest_cluster": int(c), "distance_to_cluster": round(float(d), 6)}
        for c, d in zip(closest, distance, strict=True)]}).encode()


def _media(value: str | None) -> str | None:
    return value.split(";")[0].strip().lower() if value else None


class App:
    def __init__(self, model_dir: Path, ids: list[str]) -> None:
        self.model = Segmenter.read(model_dir / BUNDLE_FILE)
        if self.model.centroids is None:
            raise ValueError(f"{BUNDLE_FILE} holds no centroids")
        self.ids = ids

    def handle(self, method: str, path: str, content_type: str | None, accept: str | None,
               body: bytes) -> tuple[int, str, bytes]:
        if path == "/ping" and method == "GET":
            return 200, JSON, b'{"status": "ok"}'
        if path != "/invocations" or method != "POST":
            return 404, JSON, json.dumps({"error": f"no route {method} {path}"}).encode()
        kind = _media(content_type) or CSV
        if kind not in (JSON, CSV):
            return 415, JSON, json.dumps({"error": f"Content-Type {kind} is not served: send "
                                                   f"{CSV} or {JSON}"}).encode()
        wanted = _media(accept)
        answer_kind = kind if wanted in (None, "*/*") else wanted
        if answer_kind not in (JSON, CSV):
            return 406, JSON, json.dumps({"error": f"Accept {wanted} cannot be answered: ask "
                                                   f"for {CSV} or {JSON}"}).encode()
        try:
            rows = (parse_json(body, self.model.features) if kind == JSON
                    else parse_csv(body, self.model.features, self.ids))
        except BadRequest as exc:
            return 400, JSON, json.dumps({"error": str(exc)}).encode()
        return 200, answer_kind, answer(self.model, rows, answer_kind)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status, kind, payload = self.handle(scope["method"], scope["path"],
                                            headers.get("content-type"), headers.get("accept"),
                                            body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", kind.encode())]})
        await send({"type": "http.response.body", "body": payload})


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from runtime_scripts.use_cases.personas.bundle import dataset_spec

    parser = argparse.ArgumentParser(prog="serve")
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 - the container's interface
    parser.add_argument("--port", type=int,
                        default=int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080")))
    parser.add_argument("--model-dir")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    directory = Path(args.model_dir or os.environ.get("SM_MODEL_DIR")
                     or contract.MlPaths.from_env().model)
    try:
        app = App(directory, list(dataset_spec().get("id_columns", [])))
    except Exception as exc:  # noqa: BLE001 - any unloadable model: say which, exit non-zero
        log.error("cannot load the model in %s: %s", directory, exc)
        return 1
    log.info("serving %d segments from %s", len(app.model.centroids), directory)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", workers=None,
                timeout_graceful_shutdown=25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
