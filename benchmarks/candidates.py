"""Stock uvicorn with our app on top (benchmark only): what our protocol and supervisor cost.

Our server is uvicorn with `ServingProtocol` (limits, keep-alive recycling, answers instead of
resets, graceful draining) and our supervisor (`runtime_scripts/common/serving/`). This row runs
the same `ServingApp` (routes, codecs, micro-batching) on uvicorn's own httptools protocol and
supervisor, nothing added:

    uvicorn --factory benchmarks.candidates:create_app --http httptools --loop uvloop --workers 2
"""

from __future__ import annotations

import os

from runtime_scripts.common.serving.asgi import ServingApp
from runtime_scripts.common.serving.config import ServerConfig

MODEL_DIR_ENV = "BENCH_MODEL_DIR"


def create_app() -> ServingApp:
    """Factory: each worker process loads the model in the app's lifespan, as ours does."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    return ServingApp(ServerConfig.resolve(["--model-dir", os.environ[MODEL_DIR_ENV]], {}))
