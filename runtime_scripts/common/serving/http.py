"""A minimal HTTP/1.1 server protocol: httptools parsing on an asyncio (uvloop) transport.

Why not a framework: a single-row request costs ~100 us of parsing and scoring, so per-request
framework overhead (ASGI scopes, middleware, awaits) would be a large part of the bill. Scoring
is CPU work with nothing to await: complete requests are queued and answered together right
after the event-loop pass that read them (`Connections.flush`), so the requests of several
connections share one transform + predict call, and answers leave in request order per
connection (pipelining works).

Keep-alive follows the client (HTTP/1.1 default on) until a connection has served
`max_requests_per_connection` requests or is `max_connection_age_s` old: its last answer then
says `Connection: close`, the client reconnects, and the acceptor hands the new connection to the
least loaded worker (a replacement worker gets its share within that time).

Requests that are refused before they are read to the end (413 over the payload limit, 414 and
431 past the request line and header limits, 400 for a malformed request) are answered, then the
rest of what the client sends is read and dropped until it closes, so it sees the answer and not
a reset. `Upgrade` (h2c, websocket) is ignored, as HTTP/1.1 allows: the request gets its one
answer, with `Connection: close`.

Graceful shutdown (`drain`): the listening socket is closed after the connections already queued
on it are accepted; requests received are answered, with `Connection: close`; idle keep-alive
connections are closed once DRAIN_IDLE_GRACE_S has passed and nothing unread is waiting on them.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import termios
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING

import httptools

from runtime_scripts.common.serving.app import Request, Response, error_response, payload_message
from runtime_scripts.common.serving.config import (
    DRAIN_IDLE_GRACE_S,
    MAX_HEADER_BYTES,
    MAX_URL_BYTES,
    ServerConfig,
)
from runtime_scripts.common.serving.errors import BadRequest, ClientError, PayloadTooLarge

if TYPE_CHECKING:
    from runtime_scripts.common.serving.app import InferenceApp

log = logging.getLogger(__name__)

_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
LINGER_S = 2.0


class _StopParsing(Exception):
    """Raised from a parser callback to stop reading a request that was already answered."""


class Connections:
    """The connections of one worker, for idle/slow-request timeouts and graceful shutdown."""

    def __init__(self, app: InferenceApp, request_timeout_s: float, keepalive_s: float) -> None:
        self.app = app
        config: ServerConfig = app.config
        self.request_timeout_s = request_timeout_s
        self.keepalive_s = keepalive_s
        self.max_requests = config.max_requests_per_connection
        self.max_age_s = config.max_connection_age_s
        self.open: set[HttpProtocol] = set()
        self.draining = False
        self.drain_started = 0.0
        self.pending: list[tuple[HttpProtocol, Request, bool]] = []
        self.flush_scheduled = False
        self.on_count: Callable[[int], None] = lambda count: None

    def add(self, conn: HttpProtocol) -> None:
        self.open.add(conn)
        self.on_count(len(self.open))

    def discard(self, conn: HttpProtocol) -> None:
        self.open.discard(conn)
        self.on_count(len(self.open))

    def submit(self, conn: HttpProtocol, request: Request, keep_alive: bool) -> None:
        """Queue a complete request; the queue is answered once this event-loop pass is done."""
        self.pending.append((conn, request, keep_alive))
        if not self.flush_scheduled:
            self.flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Answer every queued request, in arrival order (so pipelined answers stay in order)."""
        self.flush_scheduled = False
        pending, self.pending = self.pending, []
        if not pending:
            return
        requests = [request for _, request, _ in pending]
        try:
            responses = self.app.handle_batch(requests)
        except Exception:  # a bug: find the request that triggers it, answer the rest
            responses = [self._handle_alone(request) for request in requests]
        now = time.monotonic()
        for (conn, request, keep_alive), response in zip(pending, responses, strict=True):
            conn.served += 1
            closing = self.draining or conn.closing or self._spent(conn, now)
            keep_alive = keep_alive and not closing
            conn.send(response, keep_alive, head=request.method == "HEAD")
            if not keep_alive:
                conn.close()

    def _spent(self, conn: HttpProtocol, now: float) -> bool:
        """Whether a keep-alive connection has served its share (recycling, see the module doc)."""
        return bool(
            (self.max_requests and conn.served >= self.max_requests)
            or (self.max_age_s and now - conn.opened_at >= self.max_age_s)
        )

    def drain(self) -> None:
        """Graceful shutdown: answer what is in flight, then close every connection."""
        self.draining = True
        self.drain_started = time.monotonic()
        self.sweep()

    def _handle_alone(self, request: Request) -> Response:
        try:
            return self.app.handle_batch([request])[0]
        except Exception:  # not the client's fault: answer 500 and keep serving
            log.exception("unhandled error for %s %s", request.method, request.path)
            return Response(500, b"application/json", b'{"error":"internal server error"}')

    def sweep(self) -> None:
        """Close connections idle past keep-alive, or stuck mid-request past the timeout."""
        now = time.monotonic()
        for conn in list(self.open):
            if conn.discarding:
                if now - conn.last_activity > LINGER_S:
                    conn.close()
            elif conn.request_started is not None:
                if now - conn.request_started > self.request_timeout_s:
                    conn.fail(ClientError("the request was not received in time", status=408))
            elif self.draining:
                if now - self.drain_started >= DRAIN_IDLE_GRACE_S and not conn.unread():
                    conn.close()
            elif now - conn.last_activity > self.keepalive_s:
                conn.close()


class HttpProtocol(asyncio.Protocol):
    def __init__(self, connections: Connections) -> None:
        self.connections = connections
        self.app = connections.app
        self.limit = connections.app.config.max_payload_bytes
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.last_activity = self.opened_at = time.monotonic()
        self.request_started: float | None = None
        self.discarding = False
        self.closing = False  # answer what was received, then close (an ignored Upgrade)
        self.served = 0
        self.in_head = False  # between a request's first byte and the end of its headers
        self.head_bytes = 0
        self.complete = False  # the last request read was complete
        self.awaiting_body: Request | None = None  # an Upgrade request whose body is to come
        self._reset()

    def _reset(self) -> None:
        self.url = b""
        self.content_type: str | None = None
        self.accept: str | None = None
        self.expect_continue = False
        self.content_length: int | None = None
        self.body: list[bytes] = []
        self.size = 0

    # --- asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        if self.discarding or self.closing:
            return
        if self.awaiting_body is not None:
            self._upgrade_body(data)
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            if self.awaiting_body is not None:
                self._upgrade_body(data[upgrade.args[0]:])
            elif self.complete:  # answer the request as plain HTTP/1.1, then close
                self.closing = True
            else:
                self.fail(BadRequest("protocol upgrades are not supported"), linger=True)
        except httptools.HttpParserError as exc:
            if self.transport is not None and not self.discarding:  # not already answered
                self.fail(BadRequest(f"malformed HTTP request: {exc}"), linger=True)
        else:
            if self.in_head:
                self.head_bytes += len(data)
                if self.head_bytes > MAX_HEADER_BYTES:
                    self.fail(ClientError(
                        f"request headers over {MAX_HEADER_BYTES // 1024} KB", status=431
                    ), linger=True)

    def _upgrade_body(self, data: bytes) -> None:
        """llhttp hands the body of an Upgrade request over as the new protocol's data; we
        ignore the upgrade, so read the body here, then answer and close."""
        request = self.awaiting_body
        assert request is not None and self.content_length is not None
        chunk = data[: self.content_length - self.size]
        self.body.append(chunk)
        self.size += len(chunk)
        if self.size >= self.content_length:
            self.awaiting_body = None
            self.closing = True
            self.connections.submit(self, request._replace(body=b"".join(self.body)), False)

    def unread(self) -> int:
        """Bytes the client sent that this worker has not read yet (FIONREAD on the socket)."""
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        if sock is None:
            return 0
        try:
            return int.from_bytes(fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0" * 4),
                                  "little")
        except OSError:
            return 0

    def pause_writing(self) -> None:
        # The client is not reading its responses: stop reading its requests until it does.
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    # --- httptools callbacks ---------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.request_started = self.last_activity
        self.in_head, self.head_bytes, self.complete = True, 0, False
        self._reset()

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > MAX_URL_BYTES:
            self.fail(ClientError(f"request line over {MAX_URL_BYTES // 1024} KB", status=414),
                      linger=True)
            raise _StopParsing

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-type":
            self.content_type = value.decode("latin-1")
        elif name == b"accept":
            self.accept = value.decode("latin-1")
        elif name == b"content-length" and value.isdigit():  # the parser rejects other values
            self.content_length = int(value)
        elif name == b"expect" and value.lower() == b"100-continue":
            self.expect_continue = True

    def on_headers_complete(self) -> None:
        self.in_head = False
        length = self.content_length
        if self.limit and length is not None and length > self.limit:
            # Answer now rather than read megabytes we would throw away.
            self.fail(PayloadTooLarge(payload_message(length, self.limit)), linger=True)
            raise _StopParsing
        if self.expect_continue and self.transport is not None:
            self.transport.write(_CONTINUE)

    def on_body(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.limit and self.size > self.limit:  # chunked bodies announce no length
            self.fail(PayloadTooLarge(payload_message(self.size, self.limit)), linger=True)
            raise _StopParsing
        self.body.append(chunk)

    def on_message_complete(self) -> None:
        self.request_started = None
        self.complete = True
        method = self.parser.get_method().decode("ascii", "replace")
        path = self.url.split(b"?", 1)[0]
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        request = Request(method, path, self.content_type, self.accept, body)
        if self.parser.should_upgrade() and (self.content_length or 0) > self.size:
            self.awaiting_body = request  # its body follows the Upgrade (`_upgrade_body`)
            return
        self.connections.submit(self, request, self.parser.should_keep_alive())

    # --- responses -------------------------------------------------------------------------------
    def send(self, response: Response, keep_alive: bool, head: bool = False) -> None:
        if self.transport is None:
            return
        status, content_type, body, extra = response
        connection = b"" if keep_alive else b"Connection: close\r\n"
        if keep_alive and self.parser.get_http_version() == "1.0":
            connection = b"Connection: keep-alive\r\n"
        head_bytes = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s%s\r\n" % (
            status, _REASONS.get(status, b""), content_type, len(body), extra, connection,
        )
        self.transport.write(head_bytes if head else head_bytes + body)

    def fail(self, exc: ClientError, linger: bool = False) -> None:
        """Answer a request that will not be read to its end, then close the connection.

        With `linger`, the rest of what the client sends is read and dropped until it closes (or
        the sweep does, LINGER_S later): closing with unread data would reset the connection and
        the client, still sending its body, might never see the answer.
        """
        self.request_started = None
        self.connections.flush()  # answers to earlier pipelined requests go out first
        self.send(error_response(exc), keep_alive=False)
        if linger and self.transport is not None and self.transport.can_write_eof():
            self.transport.write_eof()
            self.discarding = True
        else:
            self.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
