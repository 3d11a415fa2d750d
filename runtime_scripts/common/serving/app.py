"""Routing and scoring: complete requests in, responses out, no I/O.

The ASGI layer (`asgi.py`) hands the requests that arrived together to
`InferenceApp.handle_batch`; keeping this free of sockets lets tests drive it in-process and keeps
the protocol code about bytes only.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np
import orjson

from runtime_scripts.common.serving import codecs
from runtime_scripts.common.serving.answers import answer_for
from runtime_scripts.common.serving.config import ServerConfig
from runtime_scripts.common.serving.errors import (
    BadRequest,
    ClientError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
)
from runtime_scripts.common.serving.layout import RecordLayout, Rows
from runtime_scripts.common.serving.model import ModelArtifacts
from runtime_scripts.common.serving.predict import make_predictor
from runtime_scripts.common.tabular.cells import shown
from runtime_scripts.common.tabular.transform import TransformInputError

JSON_TYPE = b"application/json"


class Response(NamedTuple):
    status: int
    content_type: bytes
    body: bytes
    headers: bytes = b""  # extra header lines, each ending in CRLF


class Request(NamedTuple):
    method: str
    path: bytes  # without the query string
    content_type: str | None
    accept: str | None
    body: bytes


class Scorer:
    """Raw rows -> the model's outputs (a classifier's probabilities, a regression's values),
    with the packaged transform and booster; `answer` writes them with their labels, if any."""

    def __init__(self, artifacts: ModelArtifacts) -> None:
        self.schema = artifacts.schema
        self.transform = artifacts.transform
        self.answer = answer_for(artifacts)
        self.ignored_keys = frozenset([self.schema.target, *self.schema.id_columns,
                                       *self.schema.record_columns])
        self.layout = RecordLayout(self.schema.input_columns, self.schema.record_columns,
                                   self.schema.id_columns)
        probe = np.random.default_rng(0).standard_normal((64, self.transform.width))
        probe[::7, ::3] = np.nan  # exercise the missing-value branches too
        self.predict = make_predictor(artifacts.booster, probe.astype(np.float32))

    def features(self, rows: list[codecs.Row], *, header: bool = False) -> np.ndarray:
        """The rows as the model's features (the packaged transform)."""
        try:
            return self.transform.transform_rows(rows)
        except TransformInputError as exc:
            message = str(exc)
            if header:  # the transform counts data rows; the client counts the header too
                message = _ROW_NUMBER.sub(lambda m: f"row {int(m.group(1)) + 1}", message, 1)
            raise BadRequest(message) from None

    def score(self, rows: list[codecs.Row], *, header: bool = False) -> np.ndarray:
        if not rows:
            return np.empty(0, dtype=np.float32)
        return self.predict(self.features(rows, header=header))


_ROW_NUMBER = re.compile(r"^row (\d+)")


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
        return self.handle_batch([Request(method, path, content_type, accept, body)])[0]

    def handle_batch(self, requests: list[Request]) -> list[Response]:
        """Answer requests that arrived together, in order, scoring all their rows at once.

        Under concurrency several single-row requests are often ready in the same event-loop
        pass; one transform + predict call for all of them costs little more than for one
        (XGBoost's per-call overhead is most of a single row's cost). Rows are scored
        independently, so batching never changes an answer.
        """
        responses: list[Response | None] = [None] * len(requests)
        batch: list[tuple[int, Rows, str]] = []
        for i, request in enumerate(requests):
            try:
                if request.path == b"/invocations" and request.method == "POST":
                    rows, response_type = self._decode(request)
                    batch.append((i, rows, response_type))
                else:
                    responses[i] = self._route(request)
            except ClientError as exc:
                responses[i] = error_response(exc)
        if batch:
            for i, response in self._score(batch):
                responses[i] = response
        return responses  # type: ignore[return-value]  # every slot is filled above

    def _route(self, request: Request) -> Response:
        method, path = request.method, request.path
        if path == b"/invocations":
            raise MethodNotAllowed(f"{method} /invocations: use POST", allow="POST")
        if path == b"/ping":
            self._only_get(method, "/ping")
            if self.scorer is None:
                raise ServiceUnavailable("the model is still loading")
            return Response(200, JSON_TYPE, b'{"status":"ok"}')
        if path == b"/execution-parameters":
            self._only_get(method, "/execution-parameters")
            return Response(200, JSON_TYPE, self._execution_parameters)
        raise NotFound(
            f"no route {shown(path.decode('latin-1'))}; "
            "routes: GET /ping, POST /invocations, GET /execution-parameters"
        )

    def _decode(self, request: Request) -> tuple[Rows, str]:
        # Negotiate before parsing so a wrong header costs nothing and names itself.
        request_type = codecs.content_type(request.content_type)
        # Features go to the next container as CSV, whatever the client asked the last for.
        response_type = codecs.CSV if self.config.features_only else \
            codecs.accept_type(request.accept, request_type)
        limit = self.config.max_payload_bytes
        if limit and len(request.body) > limit:  # also checked on Content-Length before reading
            raise PayloadTooLarge(payload_message(len(request.body), limit))
        scorer = self.scorer
        if scorer is None:
            raise ServiceUnavailable("the model is still loading; retry when /ping answers 200")
        columns, ignored = scorer.schema.input_columns, scorer.ignored_keys
        rows = codecs.decode(request_type, request.body, columns, ignored)
        rows_in = scorer.layout.split(rows, csv=request_type == codecs.CSV,
                                      batch=self.config.batch_transform)
        return rows_in, response_type

    def _score(self, batch: list[tuple[int, Rows, str]]) -> list[tuple[int, Response]]:
        scorer = self.scorer
        assert scorer is not None  # _decode refuses requests before the model is loaded
        if self.config.features_only:
            return [(i, self._features(rows)) for i, rows, _ in batch]
        if len(batch) > 1:
            try:
                values = scorer.score([row for _, rows, _ in batch for row in rows.features])
            except BadRequest:
                pass  # some request has a bad row: score each alone so its message is its own
            else:
                out, start = [], 0
                for i, rows, response_type in batch:
                    part = values[start : start + len(rows.features)]
                    start += len(rows.features)
                    out.append((i, self._encode(part, response_type, rows)))
                return out
        out = []
        for i, rows, response_type in batch:
            try:
                values = scorer.score(rows.features, header=rows.header)
                out.append((i, self._encode(values, response_type, rows)))
            except ClientError as exc:
                out.append((i, error_response(exc)))
        return out

    def _features(self, rows: Rows) -> Response:
        """The first container of a serial inference pipeline: each row's features as a
        header-less CSV line (no ids: the built-in container answers rows in order)."""
        assert self.scorer is not None
        try:
            matrix = self.scorer.features(rows.features, header=rows.header)
        except ClientError as exc:
            return error_response(exc)
        lines = [",".join(f"{v:.9g}" for v in row) for row in matrix.tolist()]
        return Response(200, codecs.CSV.encode(), ("\n".join(lines) + "\n").encode())

    def _encode(self, values: np.ndarray, response_type: str, rows: Rows) -> Response:
        scorer = self.scorer
        assert scorer is not None
        ids = codecs.IdColumns(scorer.layout.id_names, rows.ids) if rows.ids is not None \
            else None
        payload = codecs.encode(response_type, values, scorer.answer, ids, header=rows.header)
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
