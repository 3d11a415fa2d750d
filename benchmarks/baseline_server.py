"""The pandas server: the churn contract on gunicorn sync workers + Flask, decoding with pandas.

The benchmark's first baseline, kept as a row of its own: `pd.read_csv` and the transform's
DataFrame path (`transform_frame`) per request, on the same model directory. The stock SageMaker
stacks themselves are `stock_stacks.py`. Not used in production.

Run: python -m benchmarks.baseline_server --model-dir DIR --port 8081 [--workers 2]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from pathlib import Path

import pandas as pd
from flask import Flask, Response, request

from runtime_scripts.common.serving.model import ModelArtifacts
from runtime_scripts.common.tabular.transform import TransformInputError

MODEL_DIR_ENV = "BASELINE_MODEL_DIR"
MEDIA_TYPES = ("text/csv", "application/json", "application/jsonlines")


def create_app(model_dir: str | None = None) -> Flask:
    """Flask app factory; gunicorn calls it once per worker (no preload), like the stock images."""
    artifacts = ModelArtifacts.load(Path(model_dir or os.environ[MODEL_DIR_ENV]))
    schema, transform, booster = artifacts.schema, artifacts.transform, artifacts.booster
    app = Flask("baseline")
    limit_mb = int(os.environ.get("SAGEMAKER_MAX_PAYLOAD_IN_MB", "6"))
    app.config["MAX_CONTENT_LENGTH"] = limit_mb * 1024 * 1024 or None

    @app.get("/ping")
    def ping() -> Response:
        return Response("", 200)

    @app.get("/execution-parameters")
    def execution_parameters() -> Response:
        workers = int(os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS", "2"))
        body = {"MaxConcurrentTransforms": workers, "BatchStrategy": "MULTI_RECORD",
                "MaxPayloadInMB": limit_mb}
        return Response(json.dumps(body), 200, mimetype="application/json")

    @app.post("/invocations")
    def invocations() -> Response:
        content_type = (request.content_type or "text/csv").split(";")[0].strip().lower()
        if content_type not in MEDIA_TYPES:
            return _error(415, f"unsupported content type {content_type!r}")
        accept = request.headers.get("Accept", "*/*").split(";")[0].strip().lower()
        accept = content_type if accept in ("*/*", "") else accept
        if accept not in MEDIA_TYPES:
            return _error(406, f"unsupported Accept {accept!r}")
        body = request.get_data()
        if not body.strip():
            return _error(400, "empty request body")
        try:
            frame = _decode(content_type, body, schema.input_columns)
            features = transform.transform_frame(frame)
        except (TransformInputError, ValueError, KeyError, TypeError) as exc:
            return _error(400, str(exc))
        probabilities = booster.inplace_predict(features).tolist()
        labels = [
            schema.positive_label if p >= schema.decision_threshold else schema.negative_label
            for p in probabilities
        ]
        return Response(_encode(accept, probabilities, labels), 200, mimetype=accept)

    return app


def _error(status: int, message: str) -> Response:
    return Response(json.dumps({"error": message}), status, mimetype="application/json")


def _decode(content_type: str, body: bytes, columns: list[str]) -> pd.DataFrame:
    if content_type == "text/csv":
        return pd.read_csv(io.BytesIO(body), header=None, names=columns)
    if content_type == "application/json":
        data = json.loads(body)
        records = data["instances"] if isinstance(data, dict) else data
    else:
        records = [json.loads(line) for line in body.splitlines() if line.strip()]
    if records and isinstance(records[0], dict):
        return pd.DataFrame.from_records(records, columns=columns)
    return pd.DataFrame(records, columns=columns)


def _encode(accept: str, probabilities: list[float], labels: list[str]) -> str:
    pairs = zip(probabilities, labels, strict=True)
    if accept == "text/csv":
        return "".join(f"{p},{label}\n" for p, label in pairs)
    predictions = [{"probability": p, "label": label} for p, label in pairs]
    if accept == "application/json":
        return json.dumps({"predictions": predictions})
    return "".join(json.dumps(p) + "\n" for p in predictions)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    os.environ[MODEL_DIR_ENV] = str(Path(args.model_dir).resolve())
    timeout = os.environ.get("SAGEMAKER_MODEL_SERVER_TIMEOUT", "60")
    gunicorn_args = [
        sys.executable, "-m", "gunicorn", "--worker-class", "sync",
        "--workers", str(args.workers), "--bind", f"127.0.0.1:{args.port}",
        "--timeout", timeout, "--log-level", "warning",
        "benchmarks.baseline_server:create_app()",
    ]
    os.execv(sys.executable, gunicorn_args)


if __name__ == "__main__":
    main()
