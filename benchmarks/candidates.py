"""Well-kept HTTP servers with our routes, codecs and micro-batching on top (benchmark only).

The question the benchmark answers: does uvicorn (httptools + uvloop), granian (Rust) or gunicorn
supervising uvicorn workers, serving `InferenceApp` through a thin ASGI adapter, keep the
single-row target (>= 3x the best stock SageMaker stack)? If one does, our own HTTP layer
(`runtime_scripts/common/serving/http.py`) has no reason to exist.

The adapter keeps our design: requests that complete in the same event-loop pass are answered by
one `InferenceApp.handle_batch` call (one transform + predict for all of them), exactly as
`http.Connections.submit`/`flush` do in our server. Nothing else is added: no framework, no
middleware.

    uvicorn  --factory benchmarks.candidates:create_app --http httptools --loop uvloop --workers 2
    granian  --factory --interface asgi --workers 2 --loop uvloop benchmarks.candidates:create_app
    gunicorn -k uvicorn.workers.UvicornWorker -w 2 --max-requests N \
        'benchmarks.candidates:create_app()'
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

MODEL_DIR_ENV = "BENCH_MODEL_DIR"


class BatchingAsgi:
    """ASGI application: every complete request goes to one shared `handle_batch` per loop pass."""

    def __init__(self, app) -> None:
        self.app = app
        self.pending: list = []
        self.flush_scheduled = False

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        from runtime_scripts.common.serving.app import Request

        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        content_type = accept = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"accept":
                accept = value.decode("latin-1")
        path = scope.get("raw_path") or scope["path"].encode()
        request = Request(scope["method"], path.split(b"?", 1)[0], content_type, accept,
                          b"".join(chunks))
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        self.pending.append((request, answer))
        if not self.flush_scheduled:
            self.flush_scheduled = True
            loop.call_soon(self.flush)
        response = await answer
        headers = [(b"content-type", response.content_type),
                   (b"content-length", b"%d" % len(response.body))]
        if response.headers:
            for line in response.headers.split(b"\r\n"):
                if line:
                    name, _, value = line.partition(b": ")
                    headers.append((name.lower(), value))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    def flush(self) -> None:
        self.flush_scheduled = False
        pending, self.pending = self.pending, []
        responses = self.app.handle_batch([request for request, _ in pending])
        for (_, answer), response in zip(pending, responses, strict=True):
            if not answer.done():
                answer.set_result(response)


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app() -> BatchingAsgi:
    """Factory: each worker process loads the model once (our server does the same per worker)."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    from runtime_scripts.common.serving.app import InferenceApp, Scorer
    from runtime_scripts.common.serving.config import ServerConfig
    from runtime_scripts.common.serving.model import ModelArtifacts

    model_dir = Path(os.environ[MODEL_DIR_ENV])
    config = ServerConfig.resolve(["--model-dir", str(model_dir)], {})
    return BatchingAsgi(InferenceApp(config, Scorer(ModelArtifacts.load(model_dir))))
