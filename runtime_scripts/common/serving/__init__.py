"""The tabular inference server; `server.py` is its entry point.

Modules, outside in:
- supervisor: uvicorn's worker supervisor, closing the port first on SIGTERM, crash loops
- protocol: uvicorn's httptools protocol with limits (413/414/431/408), keep-alive recycling,
  answers instead of resets, ignored upgrades, graceful draining
- asgi, worker: the app as ASGI with micro-batching; a worker's boot (model, watchdog)
- app: routes (/ping, /invocations, /execution-parameters) and scoring
- codecs: request bodies to raw rows and predictions to response bodies (CSV, JSON, JSON lines)
- model, predict: the model directory and the fast path to XGBoost's prediction
- config, errors: settings from the SageMaker environment; errors as HTTP answers
"""
