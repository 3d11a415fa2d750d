"""One server worker process: an event loop serving the shared listening socket.

The worker starts answering at once (/ping 503) and loads the model in a thread; /ping turns 200
when this worker can score. A load failure exits with BOOT_FAILURE so the supervisor stops the
container with the reason in the log instead of restarting the worker forever.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
import sys
from collections.abc import Callable

from runtime_scripts.common.serving.accept import Acceptor, WorkerBoard
from runtime_scripts.common.serving.app import InferenceApp, Scorer
from runtime_scripts.common.serving.config import GRACEFUL_SHUTDOWN_S, KEEPALIVE_S, ServerConfig
from runtime_scripts.common.serving.errors import ModelLoadError
from runtime_scripts.common.serving.http import Connections, HttpProtocol
from runtime_scripts.common.serving.model import ModelArtifacts

log = logging.getLogger(__name__)

BOOT_FAILURE = 3
SWEEP_S = 1.0


def run_worker(config: ServerConfig, sock: socket.socket, board: WorkerBoard, slot: int,
               *, replacement: bool = False) -> int:
    """Serve until SIGTERM/SIGINT; returns the process exit code. A `replacement` worker (one
    started after a worker died) loads the model before it takes connections: the server already
    answers /ping 200, so a connection it accepted early would get a 503 for a scoring request."""
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:  # a dev machine without uvloop still serves, only slower
        runner = asyncio.Runner()
    with runner:
        return runner.run(_serve(config, sock, board, slot, accept_early=not replacement))


async def _serve(config: ServerConfig, sock: socket.socket, board: WorkerBoard, slot: int,
                 *, accept_early: bool) -> int:
    loop = asyncio.get_running_loop()
    app = InferenceApp(config)
    connections = Connections(app, request_timeout_s=config.timeout_s, keepalive_s=KEEPALIVE_S)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    connections.on_count = lambda count: board.set_connections(slot, count)
    acceptor = Acceptor(
        sock, lambda: HttpProtocol(connections), board, slot, lambda: len(connections.open)
    )
    if accept_early:
        acceptor.start()
    sweeper = asyncio.ensure_future(_sweep(connections, lambda: board.beat(slot)))
    loading = loop.run_in_executor(None, _load_scorer, config)
    stopping = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({loading, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if loading in done:
        try:
            app.scorer = loading.result()
        except ModelLoadError as exc:
            log.error("cannot serve: %s", exc)
            return BOOT_FAILURE
        except Exception:
            log.exception("cannot serve: loading the model from %s failed", config.model_dir)
            return BOOT_FAILURE
        # Everything loaded so far (numpy, xgboost and the sklearn/pandas it pulls in, the
        # model) lives as long as the worker: keep the cyclic GC from walking it again and again
        # while serving, which would otherwise show up as millisecond pauses in the p99.
        gc.collect()
        gc.freeze()
        log.info("worker ready: model loaded from %s", config.model_dir)
        if not accept_early:
            acceptor.start()
        await stopping

    # Graceful shutdown: stop accepting (after taking what is queued), answer every request
    # received, close the connections (`http.py` explains the order).
    acceptor.close()
    connections.drain()
    deadline = loop.time() + GRACEFUL_SHUTDOWN_S
    while (connections.open or acceptor.starting) and loop.time() < deadline:
        await asyncio.sleep(0.05)
        connections.sweep()
    sweeper.cancel()
    return 0


def _load_scorer(config: ServerConfig) -> Scorer:
    return Scorer(ModelArtifacts.load(config.model_dir))


async def _sweep(connections: Connections, heartbeat: Callable[[], None]) -> None:
    # The heartbeat tells the supervisor this loop is not stuck in a request (see serve.py).
    while True:
        heartbeat()
        connections.sweep()
        await asyncio.sleep(SWEEP_S)


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s",
    )
