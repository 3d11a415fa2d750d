"""Connections spread over the workers that share the listening socket.

uvicorn's workers each serve the shared socket with `loop.create_server`, and libuv accepts every
connection queued when the socket becomes readable: of 8 keep-alive connections opened at once
(what a load balancer or `wrk` does) one worker took all 8 in half of the trials, 5/3 in most of
the rest, and the busy worker's queue set the tail latency while the other idled. Here a worker
accepts one connection, then stands back for ACCEPT_PAUSE_S so that another idle worker takes
the next; a worker busy scoring cannot accept at all, so the idle ones take more.

On graceful shutdown the connections already queued on the socket are accepted and answered
before this worker's copy of it is closed; once every process has closed its copy, a new
connection is refused at once (and goes to another instance) instead of queueing to be reset.

uvicorn takes the event loop from `Config.loop`: `new_event_loop` gives a uvloop loop whose
`create_server(sock=...)` serves the socket this way.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket

import uvloop

log = logging.getLogger(__name__)

ACCEPT_PAUSE_S = 0.002
BUSY_PAUSE_S = 1.0  # out of file descriptors or memory: retry later rather than spin


class BalancedLoop(uvloop.Loop):
    async def create_server(self, protocol_factory, host=None, port=None, *, sock=None, **kwargs):
        if sock is None or kwargs.get("ssl") is not None:
            return await super().create_server(protocol_factory, host, port, sock=sock, **kwargs)
        sock.listen(kwargs.get("backlog", 100))  # uvicorn binds the socket, create_server listens
        acceptor = Acceptor(self, sock, protocol_factory)
        acceptor.start()
        return acceptor


def new_event_loop() -> BalancedLoop:
    return BalancedLoop()


class Acceptor:
    """Accepts from a shared listening socket for one worker; quacks like asyncio's Server as
    far as uvicorn uses it (`close`, `wait_closed`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
                 protocol_factory) -> None:
        self.loop, self.sock, self.protocol_factory = loop, sock, protocol_factory
        self.listening = False
        self.closed = False
        self.starting: set[asyncio.Task] = set()  # accepted, not yet handed to a protocol

    def start(self) -> None:
        self.sock.setblocking(False)
        self.listening = True
        self.loop.add_reader(self.sock.fileno(), self._ready)

    def close(self) -> None:
        """Stop accepting for good: take every connection already queued, then close."""
        if self.closed:
            return
        self.closed = True
        self._stop()
        if self.sock.fileno() >= 0:
            while True:
                try:
                    conn, _ = self.sock.accept()
                except OSError:  # the queue is empty (or the socket already unusable)
                    break
                self._adopt(conn)
            self.sock.close()

    async def wait_closed(self) -> None:
        while self.starting:
            await asyncio.gather(*self.starting, return_exceptions=True)

    def is_serving(self) -> bool:
        return self.listening

    def _ready(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # another worker was faster
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                log.error("cannot accept connections (%s): pausing for a second", exc)
                self._pause(BUSY_PAUSE_S)
                return
            raise
        self._adopt(conn)
        self._pause(ACCEPT_PAUSE_S)

    def _adopt(self, conn: socket.socket) -> None:
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        task = self.loop.create_task(self._serve(conn))
        self.starting.add(task)
        task.add_done_callback(self.starting.discard)

    async def _serve(self, conn: socket.socket) -> None:
        try:
            _, protocol = await self.loop.connect_accepted_socket(self.protocol_factory, sock=conn)
        except OSError:
            conn.close()
            return
        if self.closed:  # accepted while shutting down: uvicorn has already told the others
            protocol.shutdown()

    def _stop(self) -> None:
        if self.listening:
            self.listening = False
            self.loop.remove_reader(self.sock.fileno())

    def _pause(self, seconds: float) -> None:
        self._stop()
        self.loop.call_later(seconds, self._resume)

    def _resume(self) -> None:
        if not self.closed and not self.listening:
            self.start()
