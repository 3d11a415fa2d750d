"""Start the two servers under test as child processes, and check they answer alike."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
OURS, BASELINE = "ours", "baseline"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _command(name: str, model_dir: Path, workers: int, port: int) -> list[str]:
    if name == OURS:
        serve = REPO_ROOT / "runtime_scripts" / "bin" / "serve"
        return [str(serve), "--model-dir", str(model_dir), "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(workers)]
    return [sys.executable, "-m", "benchmarks.baseline_server", "--model-dir", str(model_dir),
            "--port", str(port), "--workers", str(workers)]


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/invocations"

    def post(self, body: bytes) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("POST", "/invocations", body, {"Content-Type": "text/csv"})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def wait_ready(self, log: Path, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} server exited:\n{log.read_text()}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/ping")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} server not ready in {timeout} s:\n{log.read_text()}")

    @classmethod
    @contextmanager
    def start(cls, name: str, model_dir: Path, workers: int, log_dir: Path) -> Iterator[Server]:
        port = _free_port()
        log = log_dir / f"{name}.log"
        env = os.environ | {"PYTHON": sys.executable, "PYTHONPATH": str(REPO_ROOT),
                            "SAGEMAKER_MODEL_SERVER_WORKERS": str(workers)}
        with open(log, "wb") as out:
            process = subprocess.Popen(_command(name, model_dir, workers, port), cwd=REPO_ROOT,
                                       env=env, stdout=out, stderr=subprocess.STDOUT)
        server = cls(name, port, process)
        try:
            server.wait_ready(log)
            yield server
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _parse(body: bytes) -> tuple[np.ndarray, list[str]]:
    rows = [line.split(",") for line in body.decode().splitlines()]
    return np.array([float(p) for p, _ in rows], dtype=np.float32), [label for _, label in rows]


def check_same_answers(servers: list[Server], bodies: Iterable[bytes]) -> None:
    """Both servers score every benchmark body identically (as float32), or the run stops."""
    for body in bodies:
        answers = []
        for server in servers:
            status, reply = server.post(body)
            if status != 200:
                raise RuntimeError(f"{server.name} answered {status}: {reply[:200]!r}")
            answers.append(_parse(reply))
        (p0, l0), (p1, l1) = answers
        if not (np.array_equal(p0, p1) and l0 == l1):
            raise RuntimeError("the servers disagree on the benchmark bodies: fix that first")
