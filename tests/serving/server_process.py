"""Run the real `serve` entry point as a subprocess and talk HTTP to it."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVE = REPO_ROOT / "runtime_scripts" / "bin" / "serve"


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]  # names case-insensitive, as HTTP has them
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


def says_close(answer: bytes) -> bool:
    """Whether a raw answer's head has `Connection: close` (header names are case-insensitive)."""
    head = answer.partition(b"\r\n\r\n")[0].lower()
    return b"\r\nconnection: close\r\n" in head + b"\r\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`runtime_scripts/bin/serve` on a free loopback port, its log in `log_path`."""

    def __init__(self, log_path: Path, env: dict[str, str], args: list[str] | None = None) -> None:
        self.port = free_port()
        self.log_path = log_path
        # A cold interpreter (not testing.job_python()): these tests read the server's own
        # process tree (its supervisor is the process started here, its workers its children).
        full_env = {**os.environ, "PYTHON": sys.executable, "ML_USE_CASE": "churn", **env}
        command = [str(SERVE), "--host", "127.0.0.1", "--port", str(self.port), *(args or [])]
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, env=full_env, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log}")
            try:
                if self.request("GET", "/ping").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"server not ready after {timeout} s:\n{self.log}")

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            if isinstance(body, str):
                body = body.encode()
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return Reply(response.status, response.msg, response.read())
        finally:
            conn.close()

    def raw(self, data: bytes, read_timeout: float = 5.0) -> bytes:
        """Send raw bytes; return everything the server sends until it closes or goes quiet.

        A reset (the server closed with data unread) ends the answer where it was: the caller
        sees what arrived before it, often nothing."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=read_timeout) as sock:
            chunks = []
            try:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
            except (TimeoutError, ConnectionResetError, BrokenPipeError):
                pass
            return b"".join(chunks)

    def workers(self) -> list[int]:
        """Process ids of the worker processes (the supervisor's multiprocessing children; its
        resource tracker is not a worker)."""
        pid = self.process.pid
        found = []
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            try:
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
            except OSError:  # exited meanwhile
                continue
        return sorted(found)

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)
