"""Health, settings, boot failures, worker restarts and graceful shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from runtime_scripts.common.serving.app import InferenceApp
from runtime_scripts.common.serving.config import ConfigError, ServerConfig
from runtime_scripts.common.serving.worker import Watchdog
from tests.serving.server_process import ServerProcess, says_close

ROW = b"KS,128,area_code_415,no,yes,25,265.1,110,45.07,197.4,99,16.78,244.7,91,11.01,10.0,3,2.7,1"


def test_ping_is_503_until_the_model_is_loaded():
    app = InferenceApp(ServerConfig.resolve([], {}))  # no scorer yet: the worker is loading
    assert app.handle("GET", b"/ping", None, None, b"").status == 503
    reply = app.handle("POST", b"/invocations", "text/csv", None, ROW)
    assert reply.status == 503 and b"still loading" in reply.body
    assert app.handle("GET", b"/execution-parameters", None, None, b"").status == 200


def test_execution_parameters(server):
    reply = server.request("GET", "/execution-parameters")
    assert reply.status == 200
    assert json.loads(reply.body) == {
        "MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6
    }


def test_settings_precedence():
    env = {
        "ML_ROOT": "/ml", "SAGEMAKER_BIND_TO_PORT": "9000", "SAGEMAKER_MODEL_SERVER_WORKERS": "3",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT": "5", "SAGEMAKER_MAX_PAYLOAD_IN_MB": "100",
        "SAGEMAKER_BATCH_STRATEGY": "single_record",
    }
    config = ServerConfig.resolve([], env)
    assert (config.port, config.workers, config.timeout_s) == (9000, 3, 5.0)
    assert (config.max_payload_mb, config.batch_strategy) == (100, "SINGLE_RECORD")
    assert config.max_concurrent_transforms == 3 and config.model_dir == Path("/ml/model")
    assert ServerConfig.resolve([], env | {"SM_MODEL_DIR": "/sm"}).model_dir == Path("/sm")
    flags = ["--model-dir", "/flag", "--port", "1", "--workers", "1"]
    config = ServerConfig.resolve(flags, env | {"SM_MODEL_DIR": "/sm"})
    assert (config.model_dir, config.port, config.workers) == (Path("/flag"), 1, 1)
    assert ServerConfig.resolve([], {}).port == 8080


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [("SAGEMAKER_MODEL_SERVER_WORKERS", "two", "must be an integer"),
     ("SAGEMAKER_MODEL_SERVER_WORKERS", "0", "must be >= 1"),
     ("SAGEMAKER_BATCH_STRATEGY", "ALL", "must be one of")],
)
def test_bad_settings_are_named(name, value, words):
    with pytest.raises(ConfigError, match=f"{name} {words}"):
        ServerConfig.resolve([], {name: value})


def test_bad_setting_stops_the_server(tmp_path):
    proc = ServerProcess(tmp_path / "log", {"SAGEMAKER_MODEL_SERVER_TIMEOUT": "soon"})
    assert proc.process.wait(30) == 2
    assert "SAGEMAKER_MODEL_SERVER_TIMEOUT must be an integer" in proc.log


def test_missing_model_stops_the_server(tmp_path):
    proc = ServerProcess(tmp_path / "log", {"ML_ROOT": str(tmp_path)}, ["--workers", "1"])
    assert proc.process.wait(30) == 1
    assert "lacks ['xgboost-model.json', 'transform.json', 'feature_schema.json']" in proc.log


def test_dead_worker_is_replaced(server):
    before = set(server.workers())
    os.kill(min(before), signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(set(server.workers()) - before) < 1:
        time.sleep(0.05)
    assert len(set(server.workers())) == 2 and min(before) not in set(server.workers())
    server.wait_ready()
    assert server.request("POST", "/invocations", ROW, {"Content-Type": "text/csv"}).status == 200


def test_sigterm_finishes_the_request_in_flight(sample_model, tmp_path):
    proc = ServerProcess(
        tmp_path / "log", {"SM_MODEL_DIR": str(sample_model.model_dir)}, ["--workers", "1"]
    )
    proc.wait_ready()
    with socket.create_connection(("127.0.0.1", proc.port), timeout=10) as sock:
        head = b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(ROW)
        sock.sendall(head + ROW[:10])  # half a request is in flight...
        time.sleep(0.2)
        proc.process.send_signal(signal.SIGTERM)  # ...when SageMaker stops the container
        time.sleep(0.2)
        sock.sendall(ROW[10:])
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200 OK") and says_close(answer)
    assert proc.process.wait(30) == 0


def test_watchdog_ends_a_worker_stuck_in_one_batch():
    now = [100.0]
    busy_since: list[float | None] = [None]
    stuck: list[float] = []
    watchdog = Watchdog(lambda: busy_since[0], 60.0, stuck.append, clock=lambda: now[0])
    assert not watchdog.check()  # idle
    busy_since[0] = 100.0
    now[0] = 159.0
    assert not watchdog.check() and not stuck  # a long batch, within the timeout
    now[0] = 161.0
    assert watchdog.check() and stuck == [61.0]
