"""`serve` for demand: the forecaster behind SageMaker's inference contract, on uvicorn (pinned
by the runtime): GET /ping (200 once the model is loaded), POST /invocations (answer.py; JSON
or CSV by Content-Type, answered as Accept asks, else in the request's type), 400 with a
one-line message for a bad request, 415/406 for other types.

    serve [--host ADDR] [--port N] [--model-dir DIR]

Port: --port, SAGEMAKER_BIND_TO_PORT or 8080; the model: --model-dir, SM_MODEL_DIR or
ML_ROOT/model. One worker process: a forecast is a few milliseconds of trees for the global
model (Prophet or AutoETS fit per request, and are CPU-bound either way).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from runtime_scripts.common.serving.plain import PlainApp, media_type, serve
from runtime_scripts.use_cases.demand import answer, bundle

JSON, CSV = "application/json", "text/csv"


class App(PlainApp):
    """A plain ASGI app: the model is loaded when the worker starts."""

    def __init__(self, model_dir: Path) -> None:
        self.forecaster = bundle.load(model_dir)

    def handle(self, method: str, path: str, content_type: str | None, accept: str | None,
               body: bytes) -> tuple[int, str, bytes]:
        if path == "/ping" and method == "GET":
            return 200, JSON, b'{"status": "ok"}'
        if path != "/invocations" or method != "POST":
            return 404, JSON, json.dumps({"error": f"no route {method} {path}"}).encode()
        kind = media_type(content_type) or JSON
        if kind not in (JSON, CSV):
            return 415, JSON, json.dumps({"error": f"Content-Type {kind} is not served: send "
                                                   f"{JSON} or {CSV}"}).encode()
        wanted = media_type(accept)
        answer_kind = kind if wanted in (None, "*/*") else wanted
        if answer_kind not in (JSON, CSV):
            return 406, JSON, json.dumps({"error": f"Accept {wanted} cannot be answered: ask "
                                                   f"for {JSON} or {CSV}"}).encode()
        try:
            items = answer.parse_json(body) if kind == JSON else answer.parse_csv(body)
            predictions = answer.answer(items, self.forecaster)
        except answer.BadRequest as exc:
            return 400, JSON, json.dumps({"error": str(exc)}).encode()
        encode = answer.to_json if answer_kind == JSON else answer.to_csv
        return 200, answer_kind, encode(predictions)


def main(argv: list[str] | None = None) -> int:
    return serve(argv, App, lambda app: f"the {app.forecaster.model} forecaster")


if __name__ == "__main__":
    sys.exit(main())
