"""The tabular inference server; `server.py` is its entry point.

Modules, outside in:
- accept: the listening socket shared by the worker processes, connections spread evenly
- worker: one worker process's event loop, model loading, graceful shutdown
- http: HTTP/1.1 on httptools, keep-alive, payload limits, timeouts
- app: routes (/ping, /invocations, /execution-parameters) and scoring
- codecs: request bodies to raw rows and predictions to response bodies (CSV, JSON, JSON lines)
- model, predict: the model directory and the fast path to XGBoost's prediction
- config, errors: settings from the SageMaker environment; errors as HTTP answers
"""
