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

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path

from runtime_scripts import contract
from runtime_scripts.use_cases.demand import answer, bundle

JSON, CSV = "application/json", "text/csv"
log = logging.getLogger("demand.serve")


def _media(value: str | None) -> str | None:
    return value.split(";")[0].strip().lower() if value else None


class App:
    """A plain ASGI app: the model is loaded when the worker starts."""

    def __init__(self, model_dir: Path) -> None:
        self.forecaster = bundle.load(model_dir)

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

    def handle(self, method: str, path: str, content_type: str | None, accept: str | None,
               body: bytes) -> tuple[int, str, bytes]:
        if path == "/ping" and method == "GET":
            return 200, JSON, b'{"status": "ok"}'
        if path != "/invocations" or method != "POST":
            return 404, JSON, json.dumps({"error": f"no route {method} {path}"}).encode()
        kind = _media(content_type) or JSON
        if kind not in (JSON, CSV):
            return 415, JSON, json.dumps({"error": f"Content-Type {kind} is not served: send "
                                                   f"{JSON} or {CSV}"}).encode()
        wanted = _media(accept)
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


def model_dir(given: str | None) -> Path:
    if given:
        return Path(given)
    if os.environ.get("SM_MODEL_DIR"):
        return Path(os.environ["SM_MODEL_DIR"])
    return contract.MlPaths.from_env().model


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(prog="serve")
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 - the container's interface
    parser.add_argument("--port", type=int,
                        default=int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080")))
    parser.add_argument("--model-dir")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    directory = model_dir(args.model_dir)
    try:
        app = App(directory)
    except Exception as exc:  # noqa: BLE001 - any unloadable model: say which, exit non-zero
        log.error("cannot load the model in %s: %s", directory, exc)
        return 1
    log.info("serving the %s forecaster from %s", app.forecaster.model, directory)
    # uvicorn finishes the requests in flight on SIGTERM (SageMaker's stop), then raises the
    # signal again to the handler it found: this one, so that a clean stop exits 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                workers=None, timeout_graceful_shutdown=25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
