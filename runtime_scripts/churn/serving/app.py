"""Routing and scoring: one HTTP request in, one response out, no I/O.

The HTTP layer (`http.py`) hands each complete request to `InferenceApp.handle`; keeping this
free of sockets lets tests drive it in-process and keeps the protocol code about bytes only.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np
import orjson

from runtime_scripts.churn.serving import codecs
from runtime_scripts.churn.serving.config import ServerConfig
from runtime_scripts.churn.serving.errors import (
    BadRequest,
    ClientError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
)
from runtime_scripts.churn.serving.model import ModelArtifacts
from runtime_scripts.churn.serving.predict import make_predictor
from runtime_scripts.churn.transform import TransformInputError

log = logging.getLogger(__name__)

JSON_TYPE = b"application/json"


class Response(NamedTuple):
    status: int
    content_type: bytes
    body: bytes
    headers: bytes = b""  # extra header lines, each ending in CRLF


class Scorer:
    """Raw rows -> churn probabilities and labels, with the packaged transform and booster."""

    def __init__(self, artifacts: ModelArtifacts) -> None:
        self.schema = artifacts.schema
        self.transform = artifacts.transform
        self.threshold = artifacts.schema.decision_threshold
        self.labels = codecs.LabelText.of(self.schema.negative_label, self.schema.positive_label)
        self.ignored_keys = frozenset([self.schema.target, *self.schema.id_columns])
        probe = np.random.default_rng(0).standard_normal((64, self.transform.width))
        probe[::7, ::3] = np.nan  # exercise the missing-value branches too
        self.predict = make_predictor(artifacts.booster, probe.astype(np.float32))

    def score(self, rows: list[codecs.Row]) -> np.ndarray:
        try:
            features = self.transform.transform_rows(rows)
        except TransformInputError as exc:
            raise BadRequest(str(exc)) from None
        return self.predict(features)


class InferenceApp:
    def __init__(self, config: ServerConfig, scorer: Scorer | None = None) -> None:
        self.config = config
        self.scorer = scorer  # None until this worker has loaded the model
        self._execution_parameters = orjson.dumps(
            {
                "MaxConcurrentTransforms": config.max_concurrent_transforms,
                "BatchStrategy": config.batch_strategy,
                "MaxPayloadInMB": config.max_payload_mb,
            }
        )

    def handle(
        self, method: str, path: bytes, content_type: str | None, accept: str | None, body: bytes
    ) -> Response:
        try:
            if path == b"/invocations":
                if method != "POST":
                    raise MethodNotAllowed(f"{method} /invocations: use POST", allow="POST")
                return self.invocations(content_type, accept, body)
            if path == b"/ping":
                self._only_get(method, "/ping")
                if self.scorer is None:
                    raise ServiceUnavailable("the model is still loading")
                return Response(200, JSON_TYPE, b'{"status":"ok"}')
            if path == b"/execution-parameters":
                self._only_get(method, "/execution-parameters")
                return Response(200, JSON_TYPE, self._execution_parameters)
            raise NotFound(
                f"no route {path.decode('latin-1')!r}; "
                "routes: GET /ping, POST /invocations, GET /execution-parameters"
            )
        except ClientError as exc:
            return error_response(exc)

    def invocations(self, content_type: str | None, accept: str | None, body: bytes) -> Response:
        # Negotiate before parsing so a wrong header costs nothing and names itself.
        request_type = codecs.content_type(content_type)
        response_type = codecs.accept_type(accept, request_type)
        limit = self.config.max_payload_bytes
        if limit and len(body) > limit:  # also checked on Content-Length before reading
            raise PayloadTooLarge(payload_message(len(body), limit))
        scorer = self.scorer
        if scorer is None:
            raise ServiceUnavailable("the model is still loading; retry when /ping answers 200")
        rows = codecs.decode(request_type, body, scorer.schema.input_columns, scorer.ignored_keys)
        probabilities = scorer.score(rows)
        positive = (probabilities >= scorer.threshold).tolist()
        payload = codecs.encode(response_type, probabilities, positive, scorer.labels)
        return Response(200, response_type.encode(), payload)

    @staticmethod
    def _only_get(method: str, route: str) -> None:
        if method not in ("GET", "HEAD"):
            raise MethodNotAllowed(f"{method} {route}: use GET", allow="GET, HEAD")


def payload_message(size: int, limit: int) -> str:
    return (
        f"payload of {size} bytes is over the {limit // (1024 * 1024)} MB limit "
        "(SAGEMAKER_MAX_PAYLOAD_IN_MB / MaxPayloadInMB): split it into smaller requests"
    )


def error_response(exc: ClientError) -> Response:
    headers = b""
    if isinstance(exc, MethodNotAllowed):
        headers = b"Allow: %s\r\n" % exc.allow.encode()
    return Response(exc.status, JSON_TYPE, orjson.dumps({"error": exc.message}), headers)
