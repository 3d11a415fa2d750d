"""The monitored features of an image: what data capture records and Model Monitor checks for
drift. Computed on the received image (its size) and on the prepared one (size x size), so the
baseline (preprocessing) and the endpoint (serving) measure the same thing."""

from __future__ import annotations

import numpy as np

IMAGE_FEATURES = ("width", "height", "brightness", "contrast", "sharpness")
EMBEDDING_FEATURES = ("embedding_norm", "embedding_mean", "embedding_std", "embedding_max")
FEATURES = IMAGE_FEATURES + EMBEDDING_FEATURES


def image_features(array: np.ndarray, width: int, height: int) -> dict[str, float]:
    """`array`: one prepared uint8 image (H x W x C). Brightness and contrast in [0, 1] (mean
    and standard deviation of the grey level), sharpness the mean absolute Laplacian."""
    grey = array.astype(np.float32).mean(axis=2) / 255.0
    laplacian = (4 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1]
                 - grey[1:-1, :-2] - grey[1:-1, 2:])
    return {"width": float(width), "height": float(height),
            "brightness": float(grey.mean()), "contrast": float(grey.std()),
            "sharpness": float(np.abs(laplacian).mean())}


def embedding_features(embeddings: np.ndarray) -> list[dict[str, float]]:
    """A small summary of each row of the model's penultimate activations."""
    rows = np.asarray(embeddings, dtype=np.float64)
    return [{"embedding_norm": float(np.linalg.norm(row)), "embedding_mean": float(row.mean()),
             "embedding_std": float(row.std()), "embedding_max": float(row.max())}
            for row in rows]
