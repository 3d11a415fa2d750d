"""The HTTP side every serving stand-in shares: SageMaker's container port, `GET /ping`, and a
POST handler that answers (status, content type, body)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NOT_FOUND = b'{"error": "not found"}'
# (path, headers, body) -> (status, content type, body)
Answer = Callable[[str, Mapping[str, str], bytes], tuple[int, str, bytes]]


def serve(answer: Answer, banner: Callable[[int], str]) -> int:
    """Serve `answer` on SAGEMAKER_BIND_TO_PORT (8080) until stopped; `banner(port)` is printed
    to stderr first (the emulation's label)."""

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/ping":
                self._reply(200, "text/plain", b"")
            else:
                self._reply(404, "application/json", NOT_FOUND)

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._reply(*answer(self.path, self.headers, body))

        def log_message(self, *args) -> None:
            return None

    port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    print(banner(port), file=sys.stderr, flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
    return 0
