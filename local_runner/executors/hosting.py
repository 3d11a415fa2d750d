"""A real-time endpoint's model container, run locally: the model staged to /opt/ml/model and the
image's `serve` started on a free loopback port, as batch transform starts it (model_server), but
kept running until stopped, the way a SageMaker hosting instance stays up between requests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from pathlib import Path

from local_runner.executors import model_server, serial
from local_runner.executors.model_server import Reply
from local_runner.executors.results import LocalProgram
from local_runner.executors.staging import StagingError

# SageMaker hosting's limit on one InvokeEndpoint call.
INVOCATION_TIMEOUT_S = 60.0


class HostedModel:
    """One running `serve` for one production variant. Thread-safe: requests from several
    threads (the test, the state machine's executions) share its keep-alive connection in turn."""

    def __init__(self, model: Mapping, s3, program: LocalProgram, workdir: Path) -> None:
        self.model = dict(model)  # {"ModelDataUrl": ..., "Environment": {...} (optional)}
        self.s3, self.program, self.workdir = s3, program, workdir
        self.log_path = workdir / "logs" / "serve.log"
        self._stack = contextlib.ExitStack()
        self._server: model_server.ModelServer | serial.SerialServer | None = None
        self._lock = threading.Lock()

    def start(self) -> HostedModel:
        """Stage the model and start the server; StagingError when it cannot serve (nothing is
        left running then)."""
        try:
            # One worker: a local endpoint answers tests and demos, not production load. Each
            # of the model's containers (a serial pipeline's, chained: serial.py).
            server = serial.start(self._stack, self.model, self.s3, self.program, self.workdir,
                                  self.log_path, INVOCATION_TIMEOUT_S,
                                  before=[{"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}])
            server.wait_until_ready()
        except OSError as exc:
            self.stop()
            raise StagingError(f"cannot run the model server: {exc}") from None
        except BaseException:
            self.stop()
            raise
        self._server = server
        return self

    @property
    def pid(self) -> int | None:
        return self._server.container.pid if self._server is not None else None

    def invoke(self, body: bytes, headers: Mapping[str, str]) -> Reply:
        """POST /invocations once: SageMaker does not retry a real-time request for the caller."""
        with self._lock:
            if self._server is None:
                return Reply(0, b"the model server is not running")
            return self._server.invoke(body, headers, retries=0)

    def stop(self) -> None:
        """Stop the server's whole process group; idempotent."""
        with self._lock:
            self._server = None
            self._stack.close()
