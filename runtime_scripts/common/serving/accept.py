"""Sharing one listening socket between worker processes, with connections spread evenly.

With a plain shared socket every worker wakes on a new connection and whichever runs first
accepts as many as are queued: 8 keep-alive connections opened at once often land 6/2 or 8/0,
and the busy worker's queue sets the tail latency while the other idles. So each worker accepts
one connection at a time and only while it holds no more connections than the least loaded
worker (counts live in shared memory, the `WorkerBoard`). A worker that stands back retries
shortly; if the queue is still not drained after `MAX_DEFER_S` it accepts anyway, so a stuck or
dying worker cannot hold up new connections.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import mmap
import socket
import struct
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

RETRY_S = 0.0005
MAX_DEFER_S = 0.005
_SLOT = struct.Struct("dq")  # last heartbeat (monotonic seconds), open connections


class WorkerBoard:
    """Per-worker heartbeat and connection count in anonymous shared memory (made before fork)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._mem = mmap.mmap(-1, _SLOT.size * workers)

    def reset(self, slot: int) -> None:
        _SLOT.pack_into(self._mem, _SLOT.size * slot, time.monotonic(), 0)

    def beat(self, slot: int) -> None:
        struct.pack_into("d", self._mem, _SLOT.size * slot, time.monotonic())

    def last_beat(self, slot: int) -> float:
        return _SLOT.unpack_from(self._mem, _SLOT.size * slot)[0]

    def set_connections(self, slot: int, count: int) -> None:
        struct.pack_into("q", self._mem, _SLOT.size * slot + 8, count)

    def fewest_connections(self) -> int:
        return min(
            _SLOT.unpack_from(self._mem, _SLOT.size * s)[1] for s in range(self.workers)
        )


class Acceptor:
    """Accepts from the shared socket for one worker and hands connections to `protocol`."""

    def __init__(
        self,
        sock: socket.socket,
        protocol: Callable[[], asyncio.Protocol],
        board: WorkerBoard,
        slot: int,
        open_connections: Callable[[], int],
    ) -> None:
        self.sock = sock
        self.protocol = protocol
        self.board = board
        self.slot = slot
        self.open_connections = open_connections
        self.loop = asyncio.get_running_loop()
        self.deferred_since: float | None = None
        self.listening = False
        self.starting = 0  # accepted connections not yet handed to their protocol

    def start(self) -> None:
        self.sock.setblocking(False)
        self.listening = True
        self.loop.add_reader(self.sock.fileno(), self._ready)

    def stop(self) -> None:
        if self.listening:
            self.listening = False
            self.loop.remove_reader(self.sock.fileno())

    def close(self) -> None:
        """Stop accepting for good: take every connection already queued, then close this
        process's copy of the listening socket. Once every process has closed its copy, a new
        connection is refused at once (and goes to another instance) instead of waiting in the
        queue to be reset when the server exits."""
        self.stop()
        if self.sock.fileno() < 0:
            return
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # the queue is empty (or the socket already unusable)
                break
            self._adopt(conn, self.open_connections())
        self.sock.close()

    def _ready(self) -> None:
        mine = self.open_connections()
        if mine > self.board.fewest_connections() and self.board.workers > 1:
            now = time.monotonic()
            if self.deferred_since is None:
                self.deferred_since = now
            if now - self.deferred_since < MAX_DEFER_S:
                self._pause(RETRY_S)  # a less loaded worker should take this one
                return
        self.deferred_since = None
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # another worker was faster
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                log.error("cannot accept connections (%s): pausing for a second", exc)
                self._pause(1.0)
                return
            raise
        self._adopt(conn, mine)

    def _adopt(self, conn: socket.socket, mine: int) -> None:
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.board.set_connections(self.slot, mine + 1)  # before the next _ready, not later
        self.starting += 1
        self.loop.create_task(self._serve(conn))

    async def _serve(self, conn: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(self.protocol, sock=conn)
        except OSError:
            conn.close()
            self.board.set_connections(self.slot, self.open_connections())
        finally:
            self.starting -= 1

    def _pause(self, seconds: float) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.loop.call_later(seconds, self._resume)

    def _resume(self) -> None:
        if self.listening:
            self.loop.add_reader(self.sock.fileno(), self._ready)
