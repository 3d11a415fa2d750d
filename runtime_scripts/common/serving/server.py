"""SageMaker `serve` entry point: the churn model's inference server (hosting and batch transform).

    serve [--model-dir DIR] [--port N] [--workers N] [--host ADDR]

The supervisor (this process) binds the port (8080, or SAGEMAKER_BIND_TO_PORT), forks
SAGEMAKER_MODEL_SERVER_WORKERS workers (default: one per CPU) that share the listening socket,
restarts a worker that dies, kills one whose event loop is stuck for longer than
SAGEMAKER_MODEL_SERVER_TIMEOUT, and on SIGTERM stops accepting, lets the workers answer every
request received and exits within GRACEFUL_SHUTDOWN_S (SageMaker's SIGKILL follows 30 s later).
Routes and body formats: `serving/app.py` and `serving/codecs.py`.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import sys
import time

from runtime_scripts.common.serving.accept import WorkerBoard
from runtime_scripts.common.serving.config import GRACEFUL_SHUTDOWN_S, ConfigError, ServerConfig

log = logging.getLogger("runtime_scripts.common.serving.server")

EXIT_CONFIG = 2
EXIT_BOOT = 1
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
# A worker that dies this many times within RESTART_WINDOW_S is crash-looping: give up.
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0


class Supervisor:
    def __init__(self, config: ServerConfig, sock: socket.socket) -> None:
        self.config = config
        self.sock = sock
        # Shared across fork: each worker's last heartbeat and open connection count.
        self.board = WorkerBoard(config.workers)
        self.pids: dict[int, int] = {}  # pid -> slot
        self.pid = os.getpid()
        self.restarts: list[float] = []

    def run(self) -> int:
        from runtime_scripts.common.serving.worker import BOOT_FAILURE

        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS | {signal.SIGCHLD})
        for slot in range(self.config.workers):
            self.spawn(slot)
        while True:
            received = signal.sigtimedwait(STOP_SIGNALS | {signal.SIGCHLD}, 1.0)
            if received is not None and received.si_signo in STOP_SIGNALS:
                log.info("received %s: shutting down", signal.Signals(received.si_signo).name)
                self.stop()
                return 0
            for slot, code in self.reap():
                if code == BOOT_FAILURE:
                    log.error("a worker could not load the model: stopping the server")
                    self.stop()
                    return EXIT_BOOT
                if not self.may_restart():
                    log.error("workers keep dying (%d in %.0f s): stopping", MAX_RESTARTS,
                              RESTART_WINDOW_S)
                    self.stop()
                    return EXIT_BOOT
                log.warning("worker in slot %d exited with %s: starting a new one", slot, code)
                self.spawn(slot, replacement=True)
            self.watchdog()

    def spawn(self, slot: int, *, replacement: bool = False) -> None:
        self.board.reset(slot)
        pid = os.fork()
        if pid:
            self.pids[pid] = slot
            return
        # Child: never return into the supervisor's loop, whatever happens.
        code = 1
        try:
            _stop_with_parent(self.pid)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS | {signal.SIGCHLD})
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            from runtime_scripts.common.serving.worker import run_worker

            code = run_worker(self.config, self.sock, self.board, slot, replacement=replacement)
        except BaseException:
            log.exception("worker crashed")
        finally:
            logging.shutdown()
            os._exit(code)

    def reap(self) -> list[tuple[int, int | str]]:
        exited = []
        while self.pids:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            slot = self.pids.pop(pid, None)
            if slot is not None:
                code = os.waitstatus_to_exitcode(status)
                exited.append((slot, code if code >= 0 else signal.Signals(-code).name))
        return exited

    def may_restart(self) -> bool:
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < RESTART_WINDOW_S] + [now]
        return len(self.restarts) <= MAX_RESTARTS

    def watchdog(self) -> None:
        now = time.monotonic()
        for pid, slot in self.pids.items():
            if now - self.board.last_beat(slot) > self.config.timeout_s:
                log.error(
                    "worker %d has been busy for over %.0f s (SAGEMAKER_MODEL_SERVER_TIMEOUT): "
                    "killing it", pid, self.config.timeout_s,
                )
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        # The workers take what is queued on the socket and close their copies of it; ours goes
        # first, so that the socket closes as soon as the last worker has drained its queue.
        self.sock.close()
        for pid in self.pids:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACEFUL_SHUTDOWN_S + 2.0
        while self.pids and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.02)
        for pid in self.pids:
            log.warning("worker %d did not stop in time: killing it", pid)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        self.pids.clear()


PR_SET_PDEATHSIG = 1


def _stop_with_parent(supervisor: int) -> None:
    """Have Linux send this worker SIGTERM when the supervisor dies, even by SIGKILL, so that no
    orphaned worker keeps serving the port with nobody to restart or stop it."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the supervisor's own stop() still applies
        return
    if os.getppid() != supervisor:  # it died before the call above
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    # No thread pools in the workers: each serves one request at a time on one core. Set before
    # numpy and xgboost are imported (below, once, before forking, so workers share the pages).
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    from runtime_scripts.common.serving.worker import configure_logging

    configure_logging()
    try:
        config = ServerConfig.resolve(argv)
    except ConfigError as exc:
        log.error("invalid server setting: %s", exc)
        return EXIT_CONFIG
    import xgboost  # noqa: F401  - preloaded before fork, like gunicorn --preload

    try:
        sock = socket.create_server((config.host, config.port), backlog=2048)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", config.host, config.port, exc)
        return EXIT_CONFIG
    log.info(
        "serving %s on %s:%d with %d workers (timeout %.0f s, max payload %d MB)",
        config.model_dir, config.host, sock.getsockname()[1], config.workers, config.timeout_s,
        config.max_payload_mb,
    )
    return Supervisor(config, sock).run()


if __name__ == "__main__":
    sys.exit(main())
