"""uvicorn's httptools protocol, with the limits and connection policy it lacks.

uvicorn (0.54) parses with httptools, answers a parse error with 400 and keeps an idle
keep-alive connection for `timeout_keep_alive`. What it does not do, added here:

- Limits on the request line (414), the header block (431) and the body (413, from
  `Content-Length` before the body is read, or while a chunked body arrives). uvicorn buffers a
  URL or a header of any size (a 32 MB URL was accepted); here the memory a request may hold
  before it is refused is bounded by the limit plus one read.
- A refusal is answered after the answers to earlier pipelined requests; then the rest of what
  the client sends is read and dropped until it closes or pauses for LINGER_S, so it sees the
  answer and not a reset (uvicorn closes at once, with data unread: a reset).
- A request still arriving after SAGEMAKER_MODEL_SERVER_TIMEOUT is answered 408 (uvicorn has
  no read timeout: a client that stops mid-request holds its connection for ever).
- `Upgrade` (h2c, websocket) is ignored, as HTTP/1.1 allows: the request gets its one answer,
  then the connection closes. llhttp hands the body of an Upgrade request over as the new
  protocol's bytes, which uvicorn drops (the request would be scored as empty); it is read here.
- Keep-alive recycling: after `max_requests_per_connection` requests or `max_connection_age_s`
  seconds the answer says `Connection: close` (uvicorn's own keep-alive flag), the client
  reconnects, and a worker started after another died gets its share of the connections.
- A client that half-closes after its request still gets the answer (uvicorn closes on EOF).
- An answer leaves in one write: uvloop sends each `transport.write` at once, and uvicorn writes
  the head and the body of an answer separately (two syscalls and, with TCP_NODELAY, two
  packets, which cost more than parsing and scoring a single-row request together).
- Graceful shutdown: uvicorn closes idle keep-alive connections at once, so a request a client
  sent just before the SIGTERM is lost; here they stay open DRAIN_IDLE_GRACE_S, a request that
  arrives is answered with `Connection: close`, and they close once nothing unread waits.
"""

from __future__ import annotations

import asyncio
import fcntl
import termios
import time
import weakref
from collections import deque

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from runtime_scripts.common.serving.app import Response, error_response, payload_message
from runtime_scripts.common.serving.config import (
    DRAIN_IDLE_GRACE_S,
    MAX_HEADER_BYTES,
    MAX_URL_BYTES,
    ServerConfig,
)
from runtime_scripts.common.serving.errors import BadRequest, ClientError, PayloadTooLarge

LINGER_S = 2.0
SWEEP_S = 1.0
DRAIN_POLL_S = 0.05
_SWEEPERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # server state -> task


class _StopParsing(Exception):
    """Raised from a parser callback to stop reading a request that is refused."""


class ServingProtocol(HttpToolsProtocol):
    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        serving: ServerConfig = config.serving
        self.max_body = serving.max_payload_bytes
        self.max_requests = serving.max_requests_per_connection
        self.max_age_s = serving.max_connection_age_s
        self.request_timeout_s = serving.timeout_s
        self.opened_at = self.last_activity = time.monotonic()
        self.served = 0
        self.unanswered = 0  # requests whose answer has not been sent in full
        self.request_started: float | None = None  # a request is being read since then
        self.in_head = False
        self.head_size = 0  # request line and header lines seen by the callbacks
        self.head_reads = 0  # bytes of reads that fell wholly inside the head
        self.content_length: int | None = None
        self.body_size = 0
        self.upgrade_body = 0  # bytes of an Upgrade request's body still to come
        self.ignoring = False  # an Upgrade was ignored: no further request on this connection
        self.refusal: bytes | None = None  # waiting for the answers to earlier requests
        self.discarding = False  # refused: what the client still sends is dropped
        self.peer_closed = False
        self.draining = False

    # --- connection -----------------------------------------------------------------------------
    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.answers = _OneWritePerAnswer(transport)
        # uvicorn arms its keep-alive timer only after an answer: a connection that never sends
        # a byte would stay open for ever.
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )
        if self.server_state not in _SWEEPERS:
            _SWEEPERS[self.server_state] = self.loop.create_task(_sweep(self.connections))

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self.discarding:
            self.last_activity = time.monotonic()
            return
        if self.upgrade_body:
            self._read_upgrade_body(data)
            return
        if self.ignoring:
            return
        head_before = self.in_head
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._ignore_upgrade(data[upgrade.args[0]:])
        except httptools.HttpParserError as exc:
            self._refuse(BadRequest(f"malformed HTTP request: {exc}"))  # no-op if refused
        else:
            if head_before and self.in_head:  # the whole read is header bytes
                self.head_reads += len(data)
                if self.head_reads > MAX_HEADER_BYTES:
                    self._refuse(_headers_too_large())

    def eof_received(self) -> bool | None:
        # Answer what was received in full, then close (uvicorn would close now, unanswered).
        if self.refusal is None and self._complete_unanswered() == 0:
            return None  # the transport closes itself
        self.peer_closed = True
        return True

    def shutdown(self) -> None:
        """Graceful shutdown (uvicorn calls it once the listening socket is closed)."""
        self.draining = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
        if not self.discarding:
            self.loop.call_later(DRAIN_IDLE_GRACE_S, self._close_when_idle)

    def _close_when_idle(self) -> None:
        if self.transport.is_closing():
            return
        if self.request_started is None and self.unanswered == 0 and not self._unread():
            self.transport.close()
        else:  # a request is arriving or being answered (with Connection: close)
            self.loop.call_later(DRAIN_POLL_S, self._close_when_idle)

    def sweep(self, now: float) -> None:
        """Once a second: end a linger, answer 408 to a request that is not arriving."""
        if self.discarding:
            if self.refusal is None and now - self.last_activity > LINGER_S:
                self.transport.close()
        elif self.request_started is not None and now - self.request_started > \
                self.request_timeout_s:
            self._refuse(ClientError("the request was not received in time", status=408))

    # --- httptools callbacks --------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.request_started = time.monotonic()
        self.in_head = True
        self.head_size = self.head_reads = self.body_size = 0
        self.content_length = None

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > MAX_URL_BYTES:
            self._refuse(ClientError(f"request line over {MAX_URL_BYTES // 1024} KB", status=414))
            raise _StopParsing
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_size += len(name) + len(value) + 4
        if self.head_size > MAX_HEADER_BYTES:
            self._refuse(_headers_too_large())
            raise _StopParsing
        if len(name) == 14 and name.lower() == b"content-length" and value.isdigit():
            self.content_length = int(value)  # llhttp rejects any other value
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_head = False
        length, limit = self.content_length, self.max_body
        if limit and length is not None and length > limit:
            # Answer now rather than read megabytes that would be thrown away.
            self._refuse(PayloadTooLarge(payload_message(length, limit)))
            raise _StopParsing
        super().on_headers_complete()
        self.cycle.transport = self.answers
        self.unanswered += 1
        self.served += 1
        if self.draining or self._spent():
            self.cycle.keep_alive = False

    def on_body(self, body: bytes) -> None:
        self.body_size += len(body)
        if self.max_body and self.body_size > self.max_body:  # a chunked body names no length
            self._refuse(PayloadTooLarge(payload_message(self.body_size, self.max_body)))
            raise _StopParsing
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self.parser.should_upgrade() and (self.content_length or 0) > self.body_size:
            self.upgrade_body = self.content_length - self.body_size  # `_read_upgrade_body`
            return
        self.request_started = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self.answers.flush()  # a HEAD answer has no body to carry its head
        self.unanswered -= 1
        super().on_response_complete()
        if self.refusal is not None and self.unanswered == 0:
            self._send_refusal()
        elif self.peer_closed and self._complete_unanswered() == 0:
            self.transport.close()

    # --- helpers --------------------------------------------------------------------------------
    def _spent(self) -> bool:
        """Whether this keep-alive connection has served its share (recycling)."""
        return bool(
            (self.max_requests and self.served >= self.max_requests)
            or (self.max_age_s and time.monotonic() - self.opened_at >= self.max_age_s)
        )

    def _reading_body(self) -> bool:
        cycle = self.cycle
        return cycle is not None and cycle.more_body and not cycle.response_complete \
            and not self.in_head and self.request_started is not None

    def _complete_unanswered(self) -> int:
        return self.unanswered - (1 if self._reading_body() else 0)

    def _ignore_upgrade(self, rest: bytes) -> None:
        self.ignoring = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
        if self.upgrade_body:
            self._read_upgrade_body(rest)

    def _read_upgrade_body(self, data: bytes) -> None:
        chunk = data[: self.upgrade_body]
        self.upgrade_body -= len(chunk)
        if chunk:
            HttpToolsProtocol.on_body(self, chunk)
        if not self.upgrade_body:
            self.request_started = None
            HttpToolsProtocol.on_message_complete(self)

    def _refuse(self, exc: ClientError) -> None:
        """Answer a request that will not be read to its end (after earlier answers), then
        drop what the client still sends."""
        if self.discarding:
            return
        if self._reading_body():  # the refused request has reached the app: tell it
            cycle = self.cycle
            cycle.disconnected = True
            cycle.message_event.set()
            self.pipeline = deque(entry for entry in self.pipeline if entry[0] is not cycle)
            self.unanswered -= 1
        self.discarding = True
        self.request_started = None
        self.upgrade_body = 0
        self.refusal = self._answer(error_response(exc))
        self.flow.resume_reading()  # uvicorn pauses reading while a body waits for the app
        if self.unanswered == 0:
            self._send_refusal()

    def _send_refusal(self) -> None:
        answer, self.refusal = self.refusal, None
        if answer is None or self.transport.is_closing():
            return
        self.transport.write(answer)
        self.last_activity = time.monotonic()
        if self.peer_closed or not self.transport.can_write_eof():
            self.transport.close()
        else:
            self.transport.write_eof()  # FIN after the answer; keep reading until theirs

    def _answer(self, response: Response) -> bytes:
        status, content_type, body, extra = response
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head.append(b"content-type: %s\r\ncontent-length: %d\r\n%sconnection: close\r\n\r\n"
                    % (content_type, len(body), extra))
        return b"".join(head) + body

    def _unread(self) -> int:
        """Bytes the client sent that have not been read yet (FIONREAD on the socket)."""
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return 0
        try:
            return int.from_bytes(fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0" * 4),
                                  "little")
        except OSError:
            return 0


class _OneWritePerAnswer:
    """The transport as uvicorn's request/response cycle sees it: the head of an answer waits
    for the body, so that both leave in one write."""

    __slots__ = ("transport", "head")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.head: bytes | None = None

    def write(self, data: bytes) -> None:
        if self.head is None and data.startswith(b"HTTP/1.1 ") and not data.startswith(
                b"HTTP/1.1 100 "):  # 100 Continue goes at once: the client waits for it
            self.head = data
            return
        if self.head is not None:
            data, self.head = self.head + data, None
        self.transport.write(data)

    def flush(self) -> None:
        if self.head is not None:
            head, self.head = self.head, None
            self.transport.write(head)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()


def _headers_too_large() -> ClientError:
    return ClientError(f"request headers over {MAX_HEADER_BYTES // 1024} KB", status=431)


async def _sweep(connections: set) -> None:
    while True:
        await asyncio.sleep(SWEEP_S)
        now = time.monotonic()
        for connection in list(connections):
            connection.sweep(now)
