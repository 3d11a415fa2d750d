"""SageMaker `serve` for the image classifier: hosting and batch transform on onnxruntime.

    serve [--model-dir DIR] [--port N] [--host ADDR]

The shared server (common/serving) scores tabular rows; images need other bodies, so this is
a small threaded HTTP server of the standard library around `scorer.Scorer`, with the same
settings (common/serving/config.py: SAGEMAKER_BIND_TO_PORT, SAGEMAKER_MAX_PAYLOAD_IN_MB, ...)
and the same routes: GET /ping, POST /invocations, GET /execution-parameters. SERVING_VARIANT
picks the ONNX variant (default: the model's serving.json). onnxruntime runs one thread per
request; requests run concurrently on the server's threads. SIGTERM stops it after the requests
in flight.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from runtime_scripts.common.serving.config import ConfigError, ServerConfig
from runtime_scripts.common.serving.errors import ClientError, PayloadTooLarge
from runtime_scripts.use_cases.defects.scorer import JSON_TYPE, Scorer, error_body

log = logging.getLogger("runtime_scripts.use_cases.defects.server")
# An over-limit body up to this size is read and dropped before the 413 (batch transform's
# MaxPayloadInMB is at most 100 MB); a larger one closes the connection.
DRAIN_MAX = 128 * 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    server_version = "defects-serve"
    protocol_version = "HTTP/1.1"
    scorer: Scorer
    config: ServerConfig

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base's name)
        log.debug(format, *args)

    def _send(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _discard(self, length: int) -> None:
        """Read an over-limit body away, so a client that sends all of it before reading
        gets the 413 rather than a reset connection; past DRAIN_MAX, close instead."""
        if length > DRAIN_MAX:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                break
            length -= len(chunk)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == "/ping":
            self._send(200, b'{"status":"ok"}')
        elif self.path == "/execution-parameters":
            self._send(200, json.dumps({
                "MaxConcurrentTransforms": self.config.max_concurrent_transforms,
                # One image file per record: batch transform sends each S3 object alone.
                "BatchStrategy": "SINGLE_RECORD",
                "MaxPayloadInMB": self.config.max_payload_mb}).encode())
        else:
            self._send(404, error_body(ClientError(
                f"no route {self.path[:100]}; routes: GET /ping, POST /invocations, "
                "GET /execution-parameters", 404)))

    def do_POST(self) -> None:  # noqa: N802
        if self.path != "/invocations":
            self._send(405 if self.path in ("/ping", "/execution-parameters") else 404,
                       error_body(ClientError(f"POST {self.path[:100]}: use POST /invocations")))
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._send(400, error_body(ClientError("Content-Length is not a number")))
            return
        limit = self.config.max_payload_bytes
        try:
            if limit and length > limit:
                self._discard(length)
                raise PayloadTooLarge(f"payload of {length} bytes is over the "
                                      f"{self.config.max_payload_mb} MB limit "
                                      "(SAGEMAKER_MAX_PAYLOAD_IN_MB): send smaller requests")
            body = self.rfile.read(length)
            answer = self.scorer.answer(self.headers.get("Content-Type"),
                                        self.headers.get("Accept"), body)
        except ClientError as exc:
            self._send(exc.status, error_body(exc))
            return
        self._send(200, answer)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    try:
        config = ServerConfig.resolve(argv)
    except ConfigError as exc:
        log.error("invalid server setting: %s", exc)
        return 2
    try:
        scorer = Scorer(config.model_dir)
    except (OSError, ValueError, KeyError) as exc:
        log.error("cannot load the model from %s: %s", config.model_dir, exc)
        return 1
    Handler.scorer, Handler.config = scorer, config
    server = ThreadingHTTPServer((config.host, config.port), Handler)
    server.daemon_threads = False  # finish the requests in flight on shutdown
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    log.info("serving %s (%s variant) on %s:%d", config.model_dir, scorer.variant, config.host,
             server.server_address[1])
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
