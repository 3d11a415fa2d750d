"""Stand-in for an Autopilot candidate's inference containers (a labelled EMULATION): serves the
pipeline the AutoML stand-in (automl.py) fitted, with the containers' HTTP contract: GET /ping,
POST /invocations of header-less CSV rows in the training data's column order (the target left
out), one answer line per row. A regression answers its prediction; a classifier the keys named
by SAGEMAKER_INFERENCE_OUTPUT (default `predicted_label`), as AWS documents them for ENSEMBLING
mode: `predicted_label`, `probability` (the predicted label's), `probabilities` and `labels`
(every class, in the same order)."""

from __future__ import annotations

import csv
import io
import os
import pickle
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from local_runner.stand_ins import EMULATED
from local_runner.stand_ins.automl import MODEL_FILE
from runtime_scripts import contract

KEYS = ("predicted_label", "probability", "probabilities", "labels")


def load(model_dir) -> dict:
    with (model_dir / MODEL_FILE).open("rb") as handle:
        return pickle.load(handle)  # noqa: S301 - the emulation's own artefact


def answer(candidate: dict, body: bytes, keys: list[str]) -> bytes:
    import pandas as pd

    columns = candidate["columns"]
    frame = pd.read_csv(io.BytesIO(body), header=None, names=columns,
                        dtype={c: str for c in candidate["text_columns"]})
    pipeline = candidate["pipeline"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if not hasattr(pipeline, "predict_proba"):
        for value in pipeline.predict(frame):
            writer.writerow([repr(float(value))])
        return out.getvalue().encode()
    labels = [str(c) for c in pipeline.classes_]
    for row in pipeline.predict_proba(frame):
        best = int(row.argmax())
        values = {"predicted_label": labels[best], "probability": float(row[best]),
                  "probabilities": str([float(v) for v in row]), "labels": str(labels)}
        writer.writerow([values[k] for k in keys])
    return out.getvalue().encode()


def main() -> int:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # see automl.py: OpenMP threads on a busy machine
    candidate = load(contract.MlPaths.from_env().root / "model")
    keys = [k.strip() for k in os.environ.get(contract.AUTOML_INFERENCE_OUTPUT_ENV,
                                              "predicted_label").split(",") if k.strip()]
    unknown = [k for k in keys if k not in KEYS]
    if unknown:
        print(f"unknown {contract.AUTOML_INFERENCE_OUTPUT_ENV} keys {unknown}; "
              f"allowed: {', '.join(KEYS)}", file=sys.stderr)
        return 1

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: bytes, content_type: str = "text/csv") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/ping":
                self._reply(200, b"", "text/plain")
            else:
                self._reply(404, b'{"error": "not found"}', "application/json")

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                self._reply(200, answer(candidate, body, keys))
            except (ValueError, KeyError) as exc:
                self._reply(400, f'{{"error": "{type(exc).__name__}: {exc}"}}'.encode(),
                            "application/json")

        def log_message(self, *args) -> None:
            return None

    port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    print(f"{EMULATED} Autopilot candidate {candidate['name']} served by a scikit-learn "
          f"stand-in on port {port}", file=sys.stderr, flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
