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

from local_runner.stand_ins import EMULATED, http_stand_in
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

    def reply(_path: str, _headers, body: bytes) -> tuple[int, str, bytes]:
        try:
            return 200, "text/csv", answer(candidate, body, keys)
        except (ValueError, KeyError) as exc:
            return (400, "application/json",
                    f'{{"error": "{type(exc).__name__}: {exc}"}}'.encode())

    return http_stand_in.serve(reply, lambda port: (
        f"{EMULATED} Autopilot candidate {candidate['name']} served by a scikit-learn "
        f"stand-in on port {port}"))


if __name__ == "__main__":
    sys.exit(main())
