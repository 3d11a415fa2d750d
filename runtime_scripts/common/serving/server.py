"""SageMaker `serve` entry point: the tabular model's inference server (hosting and batch
transform), on uvicorn.

    serve [--model-dir DIR] [--port N] [--workers N] [--host ADDR]

This process binds the port (8080, or SAGEMAKER_BIND_TO_PORT) and supervises
SAGEMAKER_MODEL_SERVER_WORKERS uvicorn workers (default: one per CPU; a supervisor even for one,
so that a worker that dies is replaced). Each worker is uvicorn with httptools and uvloop,
serving `asgi.ServingApp` through `protocol.ServingProtocol`. On SIGTERM the server stops
accepting, answers every request received and exits within GRACEFUL_SHUTDOWN_S (SageMaker's
SIGKILL follows 30 s after its SIGTERM). Routes and body formats: `app.py` and `codecs.py`.
"""

from __future__ import annotations

import logging
import os
import sys

from runtime_scripts.common.serving.config import ConfigError, ServerConfig
from runtime_scripts.common.serving.supervisor import Supervisor, UvicornConfig
from runtime_scripts.common.serving.worker import configure_logging

log = logging.getLogger("runtime_scripts.common.serving.server")

EXIT_CONFIG = 2
EXIT_BOOT = 1


def main(argv: list[str] | None = None) -> int:
    # No thread pools in the workers: each serves one request at a time on one core. Set here,
    # inherited by the workers before they import numpy and xgboost.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    configure_logging()
    try:
        serving = ServerConfig.resolve(argv)
    except ConfigError as exc:
        log.error("invalid server setting: %s", exc)
        return EXIT_CONFIG
    config = UvicornConfig(serving)
    try:
        sock = config.bind_socket()
    except SystemExit:  # uvicorn logged why (the port is taken, say)
        return EXIT_CONFIG
    log.info(
        "serving %s on %s:%d with %d workers (timeout %.0f s, max payload %d MB)",
        serving.model_dir, serving.host, sock.getsockname()[1], serving.workers,
        serving.timeout_s, serving.max_payload_mb,
    )
    supervisor = Supervisor(config, sockets=[sock])
    supervisor.run()
    sock.close()
    return EXIT_BOOT if supervisor.failed else 0


if __name__ == "__main__":
    sys.exit(main())
