"""Server settings from the command line and the SageMaker environment, resolved in one place.

Precedence is always: command-line flag, then environment variable, then default. SageMaker sets
the SAGEMAKER_* variables from the model's Environment and, for batch transform, from the
transform job (SAGEMAKER_BATCH, SAGEMAKER_MAX_PAYLOAD_IN_MB, SAGEMAKER_BATCH_STRATEGY,
SAGEMAKER_MAX_CONCURRENT_TRANSFORMS). Two settings are ours, set through the model's Environment
like the others: SERVE_MAX_REQUESTS_PER_CONNECTION and SERVE_MAX_CONNECTION_AGE_S (keep-alive
recycling, see `protocol.py`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runtime_scripts.contract import (
    MODEL_SERVER_TIMEOUT_ENV,
    SERVE_FEATURES,
    SERVE_OUTPUT_ENV,
    MlPaths,
)

PORT_ENV = "SAGEMAKER_BIND_TO_PORT"
WORKERS_ENV = "SAGEMAKER_MODEL_SERVER_WORKERS"
TIMEOUT_ENV = MODEL_SERVER_TIMEOUT_ENV
MAX_PAYLOAD_ENV = "SAGEMAKER_MAX_PAYLOAD_IN_MB"
BATCH_STRATEGY_ENV = "SAGEMAKER_BATCH_STRATEGY"
MAX_CONCURRENT_TRANSFORMS_ENV = "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"
MODEL_DIR_ENV = "SM_MODEL_DIR"
# SageMaker sets SAGEMAKER_BATCH=true in every container a batch transform job runs.
BATCH_ENV = "SAGEMAKER_BATCH"
MAX_REQUESTS_PER_CONNECTION_ENV = "SERVE_MAX_REQUESTS_PER_CONNECTION"
MAX_CONNECTION_AGE_ENV = "SERVE_MAX_CONNECTION_AGE_S"

DEFAULT_PORT = 8080
DEFAULT_TIMEOUT_S = 60
DEFAULT_MAX_PAYLOAD_MB = 6  # the realtime invocation limit; transform jobs may raise it
BATCH_STRATEGIES = ("MULTI_RECORD", "SINGLE_RECORD")
# Idle keep-alive connections stay open longer than the 60 s idle timeout of the load balancer
# in front, so that side always closes first and never reuses a connection we just closed.
KEEPALIVE_S = 75.0
# SageMaker sends SIGTERM to a container it stops and SIGKILL thirty seconds later: finish
# in-flight work well before that.
GRACEFUL_SHUTDOWN_S = 20.0
# While draining, an idle keep-alive connection stays open this long, so that a request its
# client sent just before the SIGTERM still gets an answer (with Connection: close).
DRAIN_IDLE_GRACE_S = 1.0
# A keep-alive connection is closed (Connection: close on its last answer) after this many
# requests or seconds, so connections spread again over the workers, a replacement worker too.
DEFAULT_MAX_REQUESTS_PER_CONNECTION = 10_000
DEFAULT_MAX_CONNECTION_AGE_S = 60
# Request line and header block limits, past which the answer is 414 and 431. The only routes are
# /ping, /invocations and /execution-parameters; an Application Load Balancer allows a 16 KB
# request line and 64 KB of headers, nginx 8 KB per header buffer.
MAX_URL_BYTES = 8 * 1024
MAX_HEADER_BYTES = 64 * 1024


class ConfigError(ValueError):
    """A setting with a malformed value; the message names the variable or flag."""


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int
    workers: int
    timeout_s: float
    max_payload_bytes: int  # 0: no limit (MaxPayloadInMB=0 streams chunked payloads)
    batch_strategy: str
    max_concurrent_transforms: int
    model_dir: Path
    batch_transform: bool = False  # serving a batch transform job (SAGEMAKER_BATCH)
    max_requests_per_connection: int = DEFAULT_MAX_REQUESTS_PER_CONNECTION  # 0: no limit
    max_connection_age_s: float = DEFAULT_MAX_CONNECTION_AGE_S  # 0: no limit
    # The first container of a serial inference pipeline: answer features (SERVE_OUTPUT_ENV).
    features_only: bool = False

    @property
    def max_payload_mb(self) -> int:
        return self.max_payload_bytes // (1024 * 1024)

    @classmethod
    def resolve(
        cls, argv: list[str] | None = None, environ: Mapping[str, str] | None = None
    ) -> ServerConfig:
        env = os.environ if environ is None else environ
        args = _parser().parse_args(argv)

        def integer(flag_value: int | None, name: str, default: int, minimum: int) -> int:
            if flag_value is not None:
                value: int | str = flag_value
            else:
                value = env.get(name, "").strip() or default
            try:
                number = int(value)
            except ValueError:
                raise ConfigError(f"{name} must be an integer, got {value!r}") from None
            if number < minimum:
                raise ConfigError(f"{name} must be >= {minimum}, got {number}")
            return number

        workers = integer(args.workers, WORKERS_ENV, _cpu_count(), 1)
        strategy = env.get(BATCH_STRATEGY_ENV, "").strip().upper() or BATCH_STRATEGIES[0]
        if strategy not in BATCH_STRATEGIES:
            raise ConfigError(f"{BATCH_STRATEGY_ENV} must be one of {BATCH_STRATEGIES}")
        model_dir = args.model_dir or env.get(MODEL_DIR_ENV) or MlPaths.from_env(dict(env)).model
        return cls(
            host=args.host,
            port=integer(args.port, PORT_ENV, DEFAULT_PORT, 0),
            workers=workers,
            timeout_s=float(integer(None, TIMEOUT_ENV, DEFAULT_TIMEOUT_S, 1)),
            max_payload_bytes=integer(None, MAX_PAYLOAD_ENV, DEFAULT_MAX_PAYLOAD_MB, 0) * 1024**2,
            batch_strategy=strategy,
            # One request per worker at a time keeps every core busy without queueing.
            max_concurrent_transforms=integer(None, MAX_CONCURRENT_TRANSFORMS_ENV, workers, 1),
            model_dir=Path(model_dir),
            batch_transform=env.get(BATCH_ENV, "").strip().lower() == "true",
            max_requests_per_connection=integer(
                None, MAX_REQUESTS_PER_CONNECTION_ENV, DEFAULT_MAX_REQUESTS_PER_CONNECTION, 0
            ),
            max_connection_age_s=float(
                integer(None, MAX_CONNECTION_AGE_ENV, DEFAULT_MAX_CONNECTION_AGE_S, 0)
            ),
            features_only=env.get(SERVE_OUTPUT_ENV, "").strip() == SERVE_FEATURES,
        )


def _cpu_count() -> int:
    # The CPUs this container may run on, not the host's: SageMaker and Docker pin them.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="serve",
        description="SageMaker inference server of a tabular use case (its ML_USE_CASE).",
    )
    parser.add_argument("--model-dir", help=f"default: ${MODEL_DIR_ENV}, else $ML_ROOT/model")
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    parser.add_argument("--port", type=int, help=f"default: ${PORT_ENV}, else {DEFAULT_PORT}")
    parser.add_argument("--workers", type=int, help=f"default: ${WORKERS_ENV}, else CPU count")
    return parser
