"""Requests in, answers out, no sockets: the inference server's and the batch job's core.

Bodies by Content-Type:
    image/png, image/jpeg, application/x-image   one image (any format Pillow reads)
    application/x-npy     a NumPy array (np.save): H x W, H x W x C or N x H x W x C, uint8
                          (or floats 0..255), resized like any image
    application/json      {"instances": [{"b64": "..."} | "...", ...]} or {"b64": "..."}:
                          base64-encoded image files, at most MAX_BATCH of them; or JSON
                          lines of such documents (what a batch transform with SplitType Line
                          and MultiRecord sends), answered with one JSON line each
The answer (application/json) has one prediction per image, in order:
    {"predictions": [{"label": "scratch", "probability": 0.93,
                      "probabilities": {"crack": 0.01, ...},
                      "features": {"width": 64, ..., "embedding_norm": 3.2, ...}}]}
`features` are the monitored ones (features.py): data capture records them with the answer.
A body that is not what its type says, an unreadable or too small image, or too many of them is
the client's mistake: a ClientError (4xx) naming the problem, never a 5xx.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
from pathlib import Path

import numpy as np

from runtime_scripts.common.serving.errors import (
    BadRequest,
    ClientError,
    NotAcceptable,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from runtime_scripts.use_cases.defects import export, images
from runtime_scripts.use_cases.defects.features import embedding_features, image_features
from runtime_scripts.use_cases.defects.preprocess_job import PREPROCESSING_FILE
from runtime_scripts.use_cases.defects.scoring import softmax
from runtime_scripts.use_cases.defects.train_job import SERVING_FILE

IMAGE_TYPES = ("image/png", "image/jpeg", "application/x-image")
NPY_TYPE = "application/x-npy"
JSON_TYPE = "application/json"
CONTENT_TYPES = (*IMAGE_TYPES, NPY_TYPE, JSON_TYPE)
MAX_BATCH = 256  # images per JSON or .npy request
# The model's Environment picks the ONNX variant (fp32, fp16, int8); default: serving.json's.
VARIANT_ENV = "SERVING_VARIANT"


def media_type(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


class Scorer:
    def __init__(self, model_dir: Path, variant: str | None = None, threads: int = 1) -> None:
        serving = json.loads((model_dir / SERVING_FILE).read_text())
        self.prep = json.loads((model_dir / PREPROCESSING_FILE).read_text())
        self.variant = variant or os.environ.get(VARIANT_ENV) or serving["variant"]
        if self.variant not in serving["variants"]:
            raise ValueError(f"{VARIANT_ENV}={self.variant!r} is not one of the model's "
                             f"variants {', '.join(serving['variants'])}")
        self.classes: list[str] = serving["classes"]
        self.session = export.session(model_dir / serving["variants"][self.variant]["file"],
                                      threads)
        self.size, self.channels = self.prep["size"], self.prep["channels"]
        self.mode = "L" if self.channels == 1 else "RGB"
        self.min_side = self.prep["spec"]["min_side"]
        self.mean = np.asarray(self.prep["mean"], dtype=np.float32)[None, :, None, None]
        self.std = np.asarray(self.prep["std"], dtype=np.float32)[None, :, None, None]

    # --- decoding ------------------------------------------------------------------------------
    def _image(self, data: bytes, where: str) -> images.Decoded:
        try:
            return images.decode(data, size=self.size, mode=self.mode, min_side=self.min_side)
        except images.ImageProblem as problem:
            if problem.kind == "too_large":
                raise PayloadTooLarge(f"{where}: {problem}") from None
            if problem.kind == "unsupported":
                raise UnsupportedMediaType(f"{where}: {problem}") from None
            raise BadRequest(f"{where}: {problem}") from None

    def decode(self, content_type: str | None, body: bytes) -> list[images.Decoded]:
        kind = media_type(content_type)
        if not body:
            raise BadRequest("empty body: send an image, a .npy array or a JSON batch")
        if kind in IMAGE_TYPES:
            return [self._image(body, "the image")]
        if kind == NPY_TYPE:
            return self._npy(body)
        if kind == JSON_TYPE:
            return self._json(body)
        raise UnsupportedMediaType(f"Content-Type {content_type or '(none)'} is not supported: "
                                   f"send one of {', '.join(CONTENT_TYPES)}")

    def _npy(self, body: bytes) -> list[images.Decoded]:
        from PIL import Image

        try:
            array = np.load(io.BytesIO(body), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise BadRequest(f"not a .npy array (np.save): {exc}") from None
        if array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (1, 3, 4)):
            array = array[None]
        if array.ndim == 3:
            array = array[..., None]
        if array.ndim != 4 or array.shape[-1] not in (1, 3, 4):
            raise BadRequest(f"array of shape {array.shape}: send H x W, H x W x C or "
                             "N x H x W x C with C 1, 3 or 4")
        if len(array) > MAX_BATCH:
            raise PayloadTooLarge(f"{len(array)} images in one request, at most {MAX_BATCH}: "
                                  "split it")
        if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all() or \
                array.min() < 0 or array.max() > 255:
            raise BadRequest("array values must be finite numbers in 0..255")
        out = []
        for i, item in enumerate(array.astype(np.uint8)):
            picture = Image.fromarray(item[:, :, 0] if item.shape[2] == 1 else item)
            buffer = io.BytesIO()
            picture.save(buffer, format="PNG")
            out.append(self._image(buffer.getvalue(), f"image {i}"))
        return out

    def _json(self, body: bytes) -> list[images.Decoded]:
        try:
            document = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadRequest(f"not JSON: {exc}") from None
        items = document.get("instances") if isinstance(document, dict) and \
            "instances" in document else [document]
        if not isinstance(items, list) or not items:
            raise BadRequest('send {"instances": [{"b64": "<base64 image>"}, ...]}')
        if len(items) > MAX_BATCH:
            raise PayloadTooLarge(f"{len(items)} images in one request, at most {MAX_BATCH}: "
                                  "split it")
        out = []
        for i, item in enumerate(items):
            text = item.get("b64") if isinstance(item, dict) else item
            if not isinstance(text, str):
                raise BadRequest(f'instance {i}: give a base64 string or {{"b64": "..."}}')
            try:
                data = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise BadRequest(f"instance {i}: not valid base64") from None
            out.append(self._image(data, f"instance {i}"))
        return out

    # --- scoring -------------------------------------------------------------------------------
    def predict(self, decoded: list[images.Decoded]) -> list[dict]:
        x = np.stack([d.array for d in decoded]).astype(np.float32).transpose(0, 3, 1, 2) / 255
        logits, embeddings = export.run(self.session, (x - self.mean) / self.std)
        p = softmax(logits.astype(np.float64))
        answers = []
        for d, row, summary in zip(decoded, p, embedding_features(embeddings), strict=True):
            best = int(row.argmax())
            answers.append({
                "label": self.classes[best], "probability": round(float(row[best]), 6),
                "probabilities": {c: round(float(v), 6) for c, v in zip(self.classes, row,
                                                                         strict=True)},
                "features": {k: round(v, 6) for k, v in
                             {**image_features(d.array, d.width, d.height), **summary}.items()}})
        return answers

    def answer(self, content_type: str | None, accept: str | None, body: bytes) -> bytes:
        wanted = media_type(accept)
        if wanted not in ("", "*/*", "application/*", JSON_TYPE):
            raise NotAcceptable(f"Accept {accept} cannot be answered: this model answers "
                                f"{JSON_TYPE}")
        if media_type(content_type) == JSON_TYPE and _json_lines(body):
            return b"\n".join(self.answer(content_type, accept, line)
                               for line in body.splitlines() if line.strip())
        return json.dumps({"predictions": self.predict(self.decode(content_type, body))}).encode()


def _json_lines(body: bytes) -> bool:
    """Several JSON documents, one a line (not one document spread over lines)."""
    lines = [line for line in body.splitlines() if line.strip()]
    if len(lines) < 2:
        return False
    try:
        json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return True
    return False


def error_body(exc: ClientError) -> bytes:
    return json.dumps({"error": exc.message}).encode()
