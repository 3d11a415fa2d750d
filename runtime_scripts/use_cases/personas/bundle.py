"""What personas' jobs share: the dataset spec (no target: the model finds the groups), reading
rows, the standardisation fitted on the training split, and the model bundle
(`personas.json`: the features in order, their mean and scale, and in scaled space either the
centroids (K-Means) or the principal components with their mean and singular values (PCA,
`training.builtin_algorithm = "pca"`)).

Script-mode training and the repack of built-in K-Means or PCA write the same bundle, so
evaluation and serving read one format whichever trained.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.manifest import current_use_case

BUNDLE_FILE = "personas.json"
PROJECTION = ("components", "component_mean", "singular_values")


def dataset_spec(config_dir: Path | None = None) -> dict:
    """The execution's dataset spec (the `config` input) if one is staged, else the bundled."""
    given = config_dir / contract.DATASET_SPEC_FILE if config_dir else None
    path = given if given and given.is_file() else current_use_case().path("dataset.json")
    spec = json.loads(path.read_text())
    if "target" in spec or not isinstance(spec.get("features"), dict) or not spec["features"]:
        raise JobError(f"dataset spec {path.name}: personas clusters rows by their features: "
                       "give \"features\" ({\"<column>\": \"numeric\"}) and no \"target\"")
    other = [c for c, kind in spec["features"].items() if kind != "numeric"]
    if other:
        raise JobError(f"dataset spec {path.name}: features {', '.join(other)} are not numeric; "
                       "K-Means measures distances between numbers")
    return spec


def read_rows(folder: Path) -> pd.DataFrame:
    files = sorted(p for p in folder.rglob("*.csv") if p.is_file()) if folder.is_dir() else []
    if not files:
        raise JobError(f"no CSV files under {folder}")
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


def feature_matrix(rows: pd.DataFrame, features: list[str], where: str) -> np.ndarray:
    """The features as floats, in the spec's order; a missing or non-numeric column is named."""
    missing = [c for c in features if c not in rows.columns]
    if missing:
        raise JobError(f"{where} lacks the feature columns {', '.join(missing)}")
    values = rows[features].apply(pd.to_numeric, errors="coerce")
    bad = [c for c in features if values[c].isna().any()]
    if bad:
        raise JobError(f"{where}: columns {', '.join(bad)} hold empty or non-numeric values "
                       f"(first at row {int(values[bad[0]].isna().to_numpy().argmax()) + 1})")
    return values.to_numpy(dtype=np.float64)


@dataclass(frozen=True)
class Segmenter:
    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    centroids: np.ndarray | None = None  # k x features, in scaled space
    # PCA: components x features (the largest singular value first), their mean and singular
    # values, in scaled space.
    components: np.ndarray | None = None
    component_mean: np.ndarray | None = None
    singular_values: np.ndarray | None = None

    @classmethod
    def fit_scaling(cls, raw: np.ndarray, features: list[str]) -> Segmenter:
        scale = raw.std(axis=0)
        return cls(features, raw.mean(axis=0), np.where(scale > 0, scale, 1.0))

    def scaled(self, raw: np.ndarray) -> np.ndarray:
        return (raw - self.mean) / self.scale

    def with_centroids(self, centroids: np.ndarray) -> Segmenter:
        centroids = np.asarray(centroids, dtype=np.float64)
        if centroids.ndim != 2 or centroids.shape[1] != len(self.features):
            raise JobError(f"the model's centroids have shape {centroids.shape}, but the "
                           f"transform scales {len(self.features)} features: the model was "
                           "trained on another preprocessing run's splits")
        return Segmenter(self.features, self.mean, self.scale, centroids)

    def with_projection(self, mean: np.ndarray, v: np.ndarray, s: np.ndarray) -> Segmenter:
        """Built-in PCA's arrays (mean 1 x d, v d x n, s n), the components ordered by their
        singular values, largest first (the algorithm's own order is not relied on)."""
        v, s = np.asarray(v, dtype=np.float64), np.asarray(s, dtype=np.float64).ravel()
        mean = np.asarray(mean, dtype=np.float64).ravel()
        width = len(self.features)
        if v.ndim != 2 or v.shape[0] != width or mean.size != width or s.size != v.shape[1]:
            raise JobError(f"the PCA model's arrays (v {list(v.shape)}, mean {mean.size}, s "
                           f"{s.size}) do not project the transform's {width} features: it "
                           "was trained on another preprocessing run's splits")
        order = np.argsort(-s)
        return replace(self, components=v[:, order].T, component_mean=mean,
                       singular_values=s[order])

    def project(self, scaled: np.ndarray) -> np.ndarray:
        """Each scaled row's coordinates on the components (built-in PCA's `projection`)."""
        assert self.components is not None, "no components: not a PCA model"
        return (scaled - self.component_mean) @ self.components.T

    def reconstruct(self, projected: np.ndarray) -> np.ndarray:
        return projected @ self.components + self.component_mean

    def assign(self, scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(closest cluster, Euclidean distance to it) of each scaled row."""
        assert self.centroids is not None, "no centroids: a transform, not a model"
        squared = ((scaled[:, None, :] - self.centroids[None]) ** 2).sum(axis=-1)
        closest = squared.argmin(axis=1)
        return closest, np.sqrt(squared[np.arange(len(scaled)), closest])

    def to_json(self) -> str:
        document = {"features": self.features, "mean": self.mean.tolist(),
                    "scale": self.scale.tolist()}
        if self.centroids is not None:
            document["centroids"] = self.centroids.tolist()
        for name in PROJECTION:
            if getattr(self, name) is not None:
                document[name] = getattr(self, name).tolist()
        return json.dumps(document, indent=1)

    @classmethod
    def read(cls, path: Path) -> Segmenter:
        try:
            document = json.loads(path.read_text())
            centroids = document.get("centroids")
            projection = {name: np.asarray(document[name]) for name in PROJECTION
                          if name in document}
            return cls(list(document["features"]), np.asarray(document["mean"]),
                       np.asarray(document["scale"]),
                       None if centroids is None else np.asarray(centroids), **projection)
        except (OSError, ValueError, KeyError) as exc:
            raise JobError(f"cannot read {path}: {exc}") from None
