"""Graceful shutdown (stop accepting, answer every request received, exit in time) and keep-alive
recycling (connections end after N requests or T seconds, so load spreads over the workers)."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

from runtime_scripts.common.serving.config import (
    DRAIN_IDLE_GRACE_S,
    GRACEFUL_SHUTDOWN_S,
    ConfigError,
    ServerConfig,
)
from runtime_scripts.common.serving.supervisor import MAX_RESTARTS
from tests.serving.server_process import ServerProcess, says_close

ROW = b"KS,128,area_code_415,no,yes,25,265.1,110,45.07,197.4,99,16.78,244.7,91,11.01,10.0,3,2.7,1"
REQUEST = (b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
           b"Content-Length: %d\r\n\r\n%s" % (len(ROW), ROW))


def read_answer(sock: socket.socket) -> bytes:
    """One answer (head and Content-Length body) from a keep-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.fixture
def one_worker(sample_model, tmp_path):
    def start(env: dict[str, str] | None = None) -> ServerProcess:
        proc = ServerProcess(tmp_path / "log", {"SM_MODEL_DIR": str(sample_model.model_dir),
                                                **(env or {})}, ["--workers", "1"])
        proc.wait_ready()
        started.append(proc)
        return proc

    started: list[ServerProcess] = []
    yield start
    for proc in started:
        if proc.process.poll() is None:
            proc.stop()


def test_sigterm_stops_accepting_and_answers_what_was_sent(one_worker):
    proc = one_worker()
    idle = socket.create_connection(("127.0.0.1", proc.port), timeout=10)
    busy = socket.create_connection(("127.0.0.1", proc.port), timeout=10)
    busy.sendall(REQUEST)
    assert read_answer(busy).startswith(b"HTTP/1.1 200 OK")  # a keep-alive connection, idle now
    (worker,) = proc.workers()
    os.kill(worker, signal.SIGSTOP)  # the worker cannot read what arrives now...
    busy.sendall(REQUEST)  # ...a request received by the kernel, not yet read...
    proc.process.send_signal(signal.SIGTERM)  # ...when SageMaker stops the container
    time.sleep(0.3)
    os.kill(worker, signal.SIGCONT)
    # Answered (with Connection: close if the worker saw the SIGTERM first; the order in which
    # it reads the two is the event loop's).
    assert read_answer(busy).startswith(b"HTTP/1.1 200 OK")
    time.sleep(0.2)
    with pytest.raises(ConnectionRefusedError):  # new connections: refused, not reset later
        socket.create_connection(("127.0.0.1", proc.port), timeout=2)
    idle.sendall(REQUEST)  # sent on an idle keep-alive connection just after the SIGTERM
    answer = read_answer(idle)
    assert answer.startswith(b"HTTP/1.1 200 OK") and says_close(answer)
    started = time.monotonic()
    assert proc.process.wait(GRACEFUL_SHUTDOWN_S + 5) == 0
    assert time.monotonic() - started < DRAIN_IDLE_GRACE_S + 3  # no waiting on idle clients
    idle.close()
    busy.close()


def test_connection_closes_after_max_requests(one_worker):
    proc = one_worker({"SERVE_MAX_REQUESTS_PER_CONNECTION": "3"})
    with socket.create_connection(("127.0.0.1", proc.port), timeout=10) as sock:
        answers = []
        for _ in range(3):
            sock.sendall(REQUEST)
            answers.append(read_answer(sock))
        assert [says_close(a) for a in answers] == [False, False, True]
        assert all(a.startswith(b"HTTP/1.1 200 OK") for a in answers)
        assert sock.recv(10) == b""  # and the server closed it


def test_connection_closes_after_max_age(one_worker):
    proc = one_worker({"SERVE_MAX_CONNECTION_AGE_S": "1"})
    with socket.create_connection(("127.0.0.1", proc.port), timeout=10) as sock:
        sock.sendall(REQUEST)
        assert not says_close(read_answer(sock))
        time.sleep(1.2)
        sock.sendall(REQUEST)
        assert says_close(read_answer(sock))


def test_replacement_worker_gets_connections_again(sample_model, tmp_path):
    """After a worker dies, recycled connections come back to the replacement worker."""
    proc = ServerProcess(tmp_path / "log", {"SM_MODEL_DIR": str(sample_model.model_dir),
                                            "SERVE_MAX_REQUESTS_PER_CONNECTION": "20"},
                         ["--workers", "2"])
    try:
        proc.wait_ready()
        victim = min(proc.workers())
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
            len(proc.workers()) < 2 or victim in proc.workers()
        ):
            time.sleep(0.05)
        replacement = max(set(proc.workers()) - {victim})
        ready = re.compile(rf"\[{replacement}\] INFO \S+: worker ready")
        while time.monotonic() < deadline and not ready.search(proc.log):
            time.sleep(0.05)  # the replacement loads the model before it accepts
        assert ready.search(proc.log), proc.log

        def cpu(pid: int) -> float:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])

        before = cpu(replacement)
        socks = [socket.create_connection(("127.0.0.1", proc.port), timeout=10) for _ in range(4)]
        for _ in range(200):  # keep-alive clients that reconnect when told to
            for i, sock in enumerate(socks):
                sock.sendall(REQUEST)
                if says_close(read_answer(sock)):
                    sock.close()
                    socks[i] = socket.create_connection(("127.0.0.1", proc.port), timeout=10)
        for sock in socks:
            sock.close()
        assert cpu(replacement) > before, "the replacement worker served nothing"
    finally:
        proc.stop()


@pytest.mark.parametrize("name", ["SERVE_MAX_REQUESTS_PER_CONNECTION",
                                  "SERVE_MAX_CONNECTION_AGE_S"])
def test_recycling_settings_are_validated(name):
    assert getattr(ServerConfig.resolve([], {name: "0"}), {
        "SERVE_MAX_REQUESTS_PER_CONNECTION": "max_requests_per_connection",
        "SERVE_MAX_CONNECTION_AGE_S": "max_connection_age_s"}[name]) == 0
    with pytest.raises(ConfigError, match=f"{name} must be an integer"):
        ServerConfig.resolve([], {name: "lots"})
    with pytest.raises(ConfigError, match=f"{name} must be >= 0"):
        ServerConfig.resolve([], {name: "-1"})


def test_workers_stop_when_the_supervisor_is_killed(one_worker):
    proc = one_worker()
    (worker,) = proc.workers()
    proc.process.kill()  # SIGKILL: no chance to stop its workers itself
    proc.process.wait()
    deadline = time.monotonic() + GRACEFUL_SHUTDOWN_S + 5
    while time.monotonic() < deadline and Path(f"/proc/{worker}").exists():
        try:
            if Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break  # exited, waiting to be reaped by init
        except OSError:
            break
        time.sleep(0.05)
    stat = Path(f"/proc/{worker}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", \
        "an orphaned worker kept serving"


def test_request_that_stops_arriving_gets_408(one_worker):
    """uvicorn has no read timeout: a client that stops mid-request would hold its connection
    (and the request's buffers) for ever."""
    proc = one_worker({"SAGEMAKER_MODEL_SERVER_TIMEOUT": "1"})
    with socket.create_connection(("127.0.0.1", proc.port), timeout=10) as sock:
        sock.sendall(REQUEST[:40])  # half a request line and nothing more
        started = time.monotonic()
        answer = read_answer(sock)
        assert time.monotonic() - started < 5
    assert answer.startswith(b"HTTP/1.1 408 ") and says_close(answer)
    assert b"the request was not received in time" in answer
    assert proc.request("GET", "/ping").status == 200


def test_a_crash_loop_stops_the_server(one_worker):
    proc = one_worker()
    killed: set[int] = set()
    deadline = time.monotonic() + 60
    while proc.process.poll() is None and time.monotonic() < deadline:
        for pid in set(proc.workers()) - killed:  # every worker dies as soon as it starts
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        time.sleep(0.05)
    assert proc.process.wait(5) == 1
    assert "workers keep dying" in proc.log
    # MAX_RESTARTS + 1 deaths stop it; this loop kills on its own clock, so it can also see
    # (and kill) the replacement started while the supervisor had not yet counted the last one.
    assert MAX_RESTARTS + 1 <= len(killed) <= MAX_RESTARTS + 2
