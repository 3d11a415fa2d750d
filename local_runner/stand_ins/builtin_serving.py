"""Stand-in for the inference containers of SageMaker's built-in K-Means, PCA and Linear Learner (a
labelled EMULATION): serves the `model_algo-1` a built-in (or its training stand-in) saved, with
the containers' HTTP contract and the documented formats ("Common data formats for inference"
and each algorithm's "response formats"):
    requests   text/csv (rows of features, no label), application/json
               ({"instances": [{"features": [...]}, ...]}, or each instance's
               {"data": {"features": {"values": [...]}}}), application/jsonlines (one
               {"features": [...]} per line), application/x-recordio-protobuf (Records)
    answers    application/json, or application/jsonlines (one object per row):
               kmeans          {"predictions": [{"closest_cluster": c, "distance_to_cluster": d}]}
               pca             {"projections": [{"projection": [...]}]}
               linear-learner  {"predictions": [{"score": s, "predicted_label": l}]}
                               (a regressor's without predicted_label; a multiclass score is
                               the list of class probabilities)
GET /ping, POST /invocations; `python -m local_runner.stand_ins.builtin_serving <framework>`.
The numbers are those of the model file, computed with numpy; the AWS containers are not run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from local_runner.stand_ins import EMULATED, http_stand_in
from runtime_scripts import contract
from runtime_scripts.common import mxnet_ndarray, recordio_protobuf
from runtime_scripts.common.serving.plain import media_type
from runtime_scripts.common.tabular import linear_learner

CSV, JSON, JSONLINES = "text/csv", "application/json", "application/jsonlines"
REQUEST_TYPES = (CSV, JSON, JSONLINES, recordio_protobuf.CONTENT_TYPE)
ANSWER_TYPES = (JSON, JSONLINES)
# What the Linear Learner training stand-in writes beside model_algo-1: its predictor type,
# which the emulation's arrays do not carry (AWS's model holds it in its own metadata).
LINEAR_LEARNER_SIDECAR = "model_algo-1.emulation.json"


class BadRequest(ValueError):
    """The request's fault: a 400 naming it."""


def features(kind: str, body: bytes) -> np.ndarray:
    """The rows of a request as a float matrix."""
    try:
        if kind == recordio_protobuf.CONTENT_TYPE:
            return recordio_protobuf.decode(body)[0]
        text = body.decode()
        if kind == CSV:
            rows = [[float(v) for v in line.split(",")] for line in text.splitlines()
                    if line.strip()]
        elif kind == JSONLINES:
            rows = [_instance(json.loads(line)) for line in text.splitlines() if line.strip()]
        else:
            instances = json.loads(text).get("instances")
            if not isinstance(instances, list):
                raise BadRequest('a JSON request is {"instances": [{"features": [...]}, ...]}')
            rows = [_instance(item) for item in instances]
    except (ValueError, AttributeError, recordio_protobuf.RecordIOError) as exc:
        raise BadRequest(f"cannot read the {kind} body: {exc}") from None
    if not rows or len({len(r) for r in rows}) != 1:
        raise BadRequest("the body must hold rows of the same number of features")
    return np.asarray(rows, dtype=np.float64)


def _instance(item: dict) -> list[float]:
    if isinstance(item.get("features"), list):
        return [float(v) for v in item["features"]]
    return [float(v) for v in item["data"]["features"]["values"]]


class Model:
    def __init__(self, framework: str, model_dir: Path) -> None:
        self.framework = framework
        self.predictor_type = None
        if framework == "linear-learner":  # its zipped checkpoint (linear_learner.py)
            parameters = linear_learner.read_parameters(model_dir / "model_algo-1")
            self.arrays = {"fc0_weight": parameters["fc0_weight"].T,
                           "fc0_bias": parameters["fc0_bias"]}
            sidecar = json.loads((model_dir / LINEAR_LEARNER_SIDECAR).read_text())
            self.predictor_type = sidecar["predictor_type"]
        else:
            self.arrays = mxnet_ndarray.load(model_dir / "model_algo-1")

    @property
    def width(self) -> int:
        """The features per row: k x d centroids, 1 x d mean, d x outputs weights."""
        if self.framework == "kmeans":
            return self.arrays[0].shape[1]
        if self.framework == "pca":
            return self.arrays["mean"].shape[1]
        return self.arrays["fc0_weight"].shape[0]

    def answers(self, rows: np.ndarray) -> tuple[str, list[dict]]:
        """(the JSON answer's list key, one object per row)."""
        if rows.shape[1] != self.width:
            raise BadRequest(f"rows of {rows.shape[1]} features; the model takes {self.width}")
        if self.framework == "kmeans":
            centroids = self.arrays[0].astype(np.float64)
            squared = ((rows[:, None, :] - centroids[None]) ** 2).sum(axis=-1)
            closest = squared.argmin(axis=1)
            return "predictions", [
                {"closest_cluster": float(c), "distance_to_cluster": float(np.sqrt(squared[i, c]))}
                for i, c in enumerate(closest)]
        if self.framework == "pca":
            projected = (rows - self.arrays["mean"]) @ self.arrays["v"]
            return "projections", [{"projection": p.tolist()} for p in projected]
        scores = rows @ self.arrays["fc0_weight"] + self.arrays["fc0_bias"]
        if self.predictor_type == "regressor":
            return "predictions", [{"score": float(s)} for s in scores.ravel()]
        if self.predictor_type == "binary_classifier":
            probability = 1 / (1 + np.exp(-scores.ravel()))
            return "predictions", [{"score": float(p), "predicted_label": float(p >= 0.5)}
                                   for p in probability]
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        probability = shifted / shifted.sum(axis=1, keepdims=True)
        return "predictions", [{"score": p.tolist(), "predicted_label": float(p.argmax())}
                               for p in probability]


def invoke(model: Model, content_type: str | None, accept: str | None,
           body: bytes) -> tuple[int, str, bytes]:
    kind = media_type(content_type) or CSV
    if kind not in REQUEST_TYPES:
        return 415, JSON, _error(f"Content-Type {kind}: send {', '.join(REQUEST_TYPES)}")
    wanted = media_type(accept)
    answer = JSON if wanted in (None, "*/*") else wanted
    if answer not in ANSWER_TYPES:
        return 406, JSON, _error(f"Accept {wanted}: the emulation answers "
                                 f"{', '.join(ANSWER_TYPES)}")
    try:
        key, objects = model.answers(features(kind, body))
    except BadRequest as exc:
        return 400, JSON, _error(str(exc))
    if answer == JSONLINES:
        return 200, answer, "".join(json.dumps(o) + "\n" for o in objects).encode()
    return 200, answer, json.dumps({key: objects}).encode()


def _error(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


def main(arguments: list[str]) -> int:
    framework = arguments[0]
    model = Model(framework, contract.MlPaths.from_env().root / "model")

    def answer(path: str, headers, body: bytes) -> tuple[int, str, bytes]:
        if path != "/invocations":
            return 404, JSON, _error("not found")
        return invoke(model, headers.get("Content-Type"), headers.get("Accept"), body)

    return http_stand_in.serve(answer, lambda port: (
        f"{EMULATED} SageMaker's built-in {framework} inference container cannot run on this "
        f"machine; its model_algo-1 served by a numpy stand-in on port {port}"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
