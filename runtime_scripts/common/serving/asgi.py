"""The inference app as an ASGI application, with micro-batching.

Scoring is CPU work with nothing to await. A single-row request costs ~100 us, most of it
XGBoost's per-call overhead, so requests that complete in the same event-loop pass are answered
by one `InferenceApp.handle_batch` call (one transform + predict for all of them): each request
queues itself and awaits its answer, and the first one schedules the flush for right after the
pass. Rows are scored independently, so batching never changes an answer.

The lifespan loads the model (`worker.boot`) before the worker takes a connection: a worker that
cannot score never answers, and one that cannot load the model stops the server.
"""

from __future__ import annotations

import asyncio
import logging
import time

from runtime_scripts.common.serving.app import InferenceApp, Request, Response
from runtime_scripts.common.serving.config import ServerConfig

log = logging.getLogger(__name__)

_INTERNAL_ERROR = Response(500, b"application/json", b'{"error":"internal server error"}')


class ServingApp:
    def __init__(self, config: ServerConfig) -> None:
        self.app = InferenceApp(config)
        self.pending: list[tuple[Request, asyncio.Future]] = []
        self.flush_scheduled = False
        self.busy_since: float | None = None  # a batch is being scored since (the watchdog)

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: dict, receive, send) -> None:
        message = await receive()
        body = message.get("body", b"")
        if message.get("more_body"):
            chunks = [body]
            while message.get("more_body"):
                message = await receive()
                chunks.append(message.get("body", b""))
            body = b"".join(chunks)
        if message["type"] == "http.disconnect":
            return  # the client left, or the server refused the request while it arrived
        content_type = accept = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"accept":
                accept = value.decode("latin-1")
        request = Request(scope["method"], scope["raw_path"], content_type, accept, body)
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        self.pending.append((request, answer))
        if not self.flush_scheduled:
            self.flush_scheduled = True
            loop.call_soon(self.flush)
        response = await answer
        headers = [(b"content-type", response.content_type),
                   (b"content-length", b"%d" % len(response.body))]
        for line in response.headers.split(b"\r\n") if response.headers else ():
            if line:
                name, _, value = line.partition(b": ")
                headers.append((name.lower(), value))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    def flush(self) -> None:
        """Answer every queued request, scoring all their rows in one call."""
        self.flush_scheduled = False
        pending, self.pending = self.pending, []
        requests = [request for request, _ in pending]
        self.busy_since = time.monotonic()
        try:
            responses = self.app.handle_batch(requests)
        except Exception:  # a bug: find the request that triggers it, answer the rest
            responses = [self._alone(request) for request in requests]
        finally:
            self.busy_since = None
        for (_, answer), response in zip(pending, responses, strict=True):
            if not answer.done():
                answer.set_result(response)

    def _alone(self, request: Request) -> Response:
        try:
            return self.app.handle_batch([request])[0]
        except Exception:  # not the client's fault: answer 500 and keep serving
            log.exception("unhandled error for %s %s", request.method, request.path)
            return _INTERNAL_ERROR

    async def _lifespan(self, receive, send) -> None:
        from runtime_scripts.common.serving.worker import boot

        await receive()  # lifespan.startup
        try:
            self.app.scorer = boot(self)
        except Exception as exc:  # every reason stops the server, with the reason logged
            await send({"type": "lifespan.startup.failed", "message": f"cannot serve: {exc}"})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})
