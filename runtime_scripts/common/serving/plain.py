"""A plain ASGI app and the container's `serve` entry for a use case with a server of its own
(answers other than the tabular scoring app's): the HTTP plumbing, so that a use case writes
only `handle` (method, path, content type, accept, body -> status, content type, body)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from runtime_scripts import contract

log = logging.getLogger(__name__)


def media_type(value: str | None) -> str | None:
    """A Content-Type or Accept header's media type, without its parameters."""
    return value.split(";")[0].strip().lower() if value else None


class PlainApp:
    """The ASGI side: the whole body read, then one `handle` call answers it."""

    def handle(self, method: str, path: str, content_type: str | None, accept: str | None,
               body: bytes) -> tuple[int, str, bytes]:
        raise NotImplementedError

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


def model_dir(given: str | None) -> Path:
    """`--model-dir`, else SageMaker's SM_MODEL_DIR, else the container's model directory."""
    if given:
        return Path(given)
    if os.environ.get("SM_MODEL_DIR"):
        return Path(os.environ["SM_MODEL_DIR"])
    return contract.MlPaths.from_env().model


def serve(argv: list[str] | None, load: Callable[[Path], PlainApp],
          describe: Callable[[PlainApp], str]) -> int:
    """`serve [--host] [--port] [--model-dir]`: the app `load` builds from the model directory,
    under uvicorn; 1 (and the reason) when the model cannot be loaded."""
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
        app = load(directory)
    except Exception as exc:  # noqa: BLE001 - any unloadable model: say which, exit non-zero
        log.error("cannot load the model in %s: %s", directory, exc)
        return 1
    log.info("serving %s from %s", describe(app), directory)
    # uvicorn finishes the requests in flight on SIGTERM (SageMaker's stop), then raises the
    # signal again to the handler it found: this one, so that a clean stop exits 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                workers=None, timeout_graceful_shutdown=25)
    return 0
