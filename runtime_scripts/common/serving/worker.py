"""One worker process: what it does at boot (from the ASGI lifespan) beyond uvicorn's own.

- It stops when the supervisor dies, even by SIGKILL, so that no orphaned worker keeps serving
  the port with nobody to restart or stop it (uvicorn's workers would).
- It loads the model before it takes a connection; a load failure stops the server with the
  reason in the log (uvicorn's supervisor stops when a worker fails its startup).
- A watchdog thread ends the worker when one batch has been scored for longer than
  SAGEMAKER_MODEL_SERVER_TIMEOUT; the supervisor starts a new one. uvicorn's health check is
  answered by a thread of its own, so it cannot see a stuck event loop.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from runtime_scripts.common.serving.app import Scorer
from runtime_scripts.common.serving.errors import ModelLoadError
from runtime_scripts.common.serving.model import ModelArtifacts

if TYPE_CHECKING:
    from runtime_scripts.common.serving.asgi import ServingApp

log = logging.getLogger(__name__)

EXIT_STUCK = 4
PR_SET_PDEATHSIG = 1


def boot(app: ServingApp) -> Scorer:
    """Set this worker up and return its scorer; raises with the reason it cannot serve."""
    config = app.app.config
    _stop_with_parent()
    try:
        scorer = Scorer(ModelArtifacts.load(config.model_dir))
    except ModelLoadError:
        raise
    except Exception as exc:
        log.exception("loading the model from %s failed", config.model_dir)
        raise ModelLoadError(f"loading the model from {config.model_dir} failed: {exc}") from exc
    # Everything loaded so far (numpy, xgboost and the sklearn/pandas it pulls in, the model)
    # lives as long as the worker: keep the cyclic GC from walking it again and again while
    # serving, which would otherwise show up as millisecond pauses in the p99.
    gc.collect()
    gc.freeze()
    Watchdog(lambda: app.busy_since, config.timeout_s, _exit_stuck).start()
    log.info("worker ready: model loaded from %s", config.model_dir)
    return scorer


class Watchdog(threading.Thread):
    """Calls `on_stuck` once `busy_since()` (None when idle) is more than `timeout_s` ago."""

    def __init__(self, busy_since: Callable[[], float | None], timeout_s: float,
                 on_stuck: Callable[[float], None], interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(name="watchdog", daemon=True)
        self.busy_since, self.timeout_s, self.on_stuck = busy_since, timeout_s, on_stuck
        self.interval_s, self.clock = interval_s, clock
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            self.check()

    def check(self) -> bool:
        since = self.busy_since()
        if since is not None and self.clock() - since > self.timeout_s:
            self.on_stuck(self.clock() - since)
            return True
        return False


def _exit_stuck(seconds: float) -> None:
    log.error("a batch has been scored for %.0f s, over SAGEMAKER_MODEL_SERVER_TIMEOUT: "
              "ending this worker (the supervisor starts a new one)", seconds)
    logging.shutdown()
    os._exit(EXIT_STUCK)


def _stop_with_parent() -> None:
    """Have Linux send this worker SIGTERM when the supervisor dies."""
    parent = multiprocessing.parent_process()
    if parent is None:  # not started by the supervisor (a test driving the app in-process)
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the supervisor's own stop still applies
        return
    if os.getppid() != parent.pid:  # it died before the call above
        os.kill(os.getpid(), signal.SIGTERM)


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s",
    )
