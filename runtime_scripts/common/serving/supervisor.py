"""uvicorn's worker supervisor, with what it lacks for a SageMaker container.

uvicorn's `Multiprocess` (0.54) starts the workers, restarts one that dies or stops answering
its health check, stops the server when a worker fails its startup, and rolls the workers on
SIGHUP. Added here:

- On SIGTERM/SIGINT the listening socket is closed at once, before the workers are told: uvicorn
  keeps the supervisor's copy open until the workers have exited (and reacts to signals every
  0.5 s), so new connections would queue and be reset instead of being refused and sent
  elsewhere by the load balancer.
- Workers that have not stopped GRACEFUL_SHUTDOWN_S (+2) after the SIGTERM are killed, so the
  server exits before SageMaker's SIGKILL (uvicorn's supervisor waits for ever).
- A crash loop (more than MAX_RESTARTS deaths within RESTART_WINDOW_S) stops the server, with
  the reason in the log, rather than restarting workers for ever.
"""

from __future__ import annotations

import logging
import os
import signal
import time

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

from runtime_scripts.common.serving.asgi import ServingApp
from runtime_scripts.common.serving.config import GRACEFUL_SHUTDOWN_S, KEEPALIVE_S, ServerConfig
from runtime_scripts.common.serving.protocol import ServingProtocol
from runtime_scripts.common.serving.worker import configure_logging

log = logging.getLogger(__name__)

MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
BACKLOG = 2048


class UvicornConfig(uvicorn.Config):
    """uvicorn's settings for this server, and ours (`serving`) for the protocol and the app.
    Pickled into every worker process, which loads the app and the model itself."""

    def __init__(self, serving: ServerConfig) -> None:
        self.serving = serving
        super().__init__(
            ServingApp(serving),
            host=serving.host,
            port=serving.port,
            http=ServingProtocol,
            loop="runtime_scripts.common.serving.accept:new_event_loop",  # uvloop, balanced
            ws="none",
            lifespan="on",
            interface="asgi3",
            workers=serving.workers,
            log_config=None,
            access_log=False,
            proxy_headers=False,  # nothing here reads the client address
            server_header=False,
            backlog=BACKLOG,
            timeout_keep_alive=int(KEEPALIVE_S),
            timeout_graceful_shutdown=int(GRACEFUL_SHUTDOWN_S),
        )

    def configure_logging(self) -> None:  # runs in the supervisor and in every worker
        configure_logging()
        super().configure_logging()


class Supervisor(Multiprocess):
    def __init__(self, config, sockets) -> None:
        super().__init__(config, sockets)
        self.deaths: list[float] = []
        self.crash_looping = False
        self.stopping = False
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._stop_accepting)

    @property
    def boot_failed(self) -> bool:
        return any(process.exitcode == STARTUP_FAILURE for process in self.processes)

    @property
    def failed(self) -> bool:
        return self.boot_failed or self.crash_looping

    def _stop_accepting(self, signum: int, frame: object) -> None:
        self.stopping = True  # no replacement for a worker that exits from now on
        for sock in self.sockets:
            sock.close()
        for process in self.processes:
            if process.pid is not None and process.exitcode is None:
                os.kill(process.pid, signal.SIGTERM)
        self.signal_queue.append(signum)  # uvicorn's loop then stops the workers as usual

    def keep_subprocess_alive(self) -> None:
        if self.stopping or self.should_exit.is_set():
            return
        now = time.monotonic()
        self.deaths = [t for t in self.deaths if now - t < RESTART_WINDOW_S]
        self.deaths += [now for p in self.processes
                        if p.exitcode is not None and p.exitcode != STARTUP_FAILURE]
        if len(self.deaths) > MAX_RESTARTS:
            log.error("workers keep dying (%d in %.0f s): stopping the server", len(self.deaths),
                      RESTART_WINDOW_S)
            self.crash_looping = True
            self.should_exit.set()
            return
        super().keep_subprocess_alive()

    def join_all(self) -> None:
        deadline = time.monotonic() + GRACEFUL_SHUTDOWN_S + 2.0
        for process in self.processes:
            process.process.join(max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                log.warning("worker %d did not stop in time: killing it", process.pid)
                process.kill()
                process.process.join()
