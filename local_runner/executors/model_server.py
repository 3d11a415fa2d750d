"""The model's inference server, started from the image's `serve` entry point on a free loopback
port, and the HTTP calls batch transform makes to it (/ping, /execution-parameters,
/invocations)."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from local_runner.executors.container import Container
from local_runner.executors.staging import StagingError

# How long a container may take to answer /ping 200 after it starts.
STARTUP_TIMEOUT_S = 60.0
PING_INTERVAL_S = 0.1
MESSAGE_LIMIT = 500


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str | None = None

    def message(self) -> str:
        """The server's error text: a JSON body's "error"/"message", else the body itself."""
        text = self.body.decode("utf-8", errors="replace").strip()
        with contextlib.suppress(ValueError, AttributeError):
            data = json.loads(text)
            text = str(data.get("error") or data.get("message") or data.get("Message") or text)
        return text[:MESSAGE_LIMIT] or f"HTTP {self.status}"


def free_port() -> int:
    # The OS picks an unused port; the server binds it a moment later (a race, rarely lost).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ModelServer:
    """`serve` running in a Container, and a keep-alive HTTP connection to it."""

    def __init__(self, server: Container, port: int, timeout_s: float) -> None:
        self.container, self.port, self.timeout_s = server, port, timeout_s
        self._connection: http.client.HTTPConnection | None = None

    def wait_until_ready(self, startup_timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            code = self.container.poll()
            if code is not None:
                raise StagingError(f"the model server exited with code {code} before answering "
                                   f"/ping: {self.container.last_stderr or 'see the log'}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if self._ping() == 200:
                    return
            if time.monotonic() > deadline:
                raise StagingError(f"the model server did not answer GET /ping with 200 within "
                                   f"{startup_timeout_s:g} s of starting")
            time.sleep(PING_INTERVAL_S)

    def _ping(self) -> int:
        # Its own short-lived connection: a server still starting must not stall the wait.
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2.0)
        try:
            connection.request("GET", "/ping")
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def execution_parameters(self) -> dict:
        """The container's preferred batch settings; {} when it has none (404) or says nonsense."""
        try:
            reply = self.call("GET", "/execution-parameters")
            data = json.loads(reply.body) if reply.status == 200 else {}
        except (OSError, http.client.HTTPException, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def invoke(self, body: bytes, headers: Mapping[str, str], retries: int) -> Reply:
        """POST /invocations; connection failures and 5xx are retried `retries` times."""
        reply: Reply | None = None
        for _ in range(retries + 1):
            try:
                reply = self.call("POST", "/invocations", body, headers)
            except (OSError, http.client.HTTPException) as exc:
                reply = Reply(0, f"no response ({type(exc).__name__}: {exc})".encode())
            if 0 < reply.status < 500:
                return reply
        assert reply is not None
        return reply

    def call(self, method: str, path: str, body: bytes | None = None,
             headers: Mapping[str, str] | None = None) -> Reply:
        if self._connection is None:
            self._connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                          timeout=self.timeout_s)
        try:
            self._connection.request(method, path, body=body, headers=dict(headers or {}))
            response = self._connection.getresponse()
            return Reply(response.status, response.read(), response.getheader("Content-Type"))
        except BaseException:
            self.close()  # a broken keep-alive connection is reopened on the next call
            raise

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@contextlib.contextmanager
def serving(argv: list[str], env: Mapping[str, str], cwd: Path, log_path: Path,
            invocation_timeout_s: float):
    """Start `serve` with SAGEMAKER_BIND_TO_PORT set to a free port; always stop it."""
    port = free_port()
    with Container(argv, {**env, "SAGEMAKER_BIND_TO_PORT": str(port)}, cwd, log_path) as proc:
        server = ModelServer(proc, port, invocation_timeout_s)
        try:
            yield server
        finally:
            server.close()
