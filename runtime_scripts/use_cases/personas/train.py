"""`train` for personas in script mode: scikit-learn's K-Means on the standardised training
split, scored on the validation split under built-in K-Means' metric names (`test:msd`,
`test:ssd`: the built-in computes them on its `test` channel, which the platform fills with the
validation split), and the bundle (bundle.py) in the model directory.

Hyperparameters, as built-in K-Means names them: k (required), feature_dim (checked against the
data), init_method (`kmeans++` or `random`), epochs (x 100 Lloyd iterations); seed besides.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError, run_job
from runtime_scripts.use_cases.personas.bundle import BUNDLE_FILE, Segmenter


def _integer(hps: dict, name: str, default: str | None = None) -> int:
    text = hps.get(name, default)
    if text is None or not str(text).isdigit() or int(text) < 1:
        raise JobError(f"hyperparameter {name} must be a positive integer, got {text!r}")
    return int(text)


def read_split(ml: contract.MlPaths, channel: str) -> np.ndarray:
    path = ml.channel(channel) / contract.SPLIT_FILE
    if not path.is_file():
        raise JobError(f"channel {channel!r} has no {contract.SPLIT_FILE}: map the preprocess "
                       f"{channel} output to it")
    return np.loadtxt(path, delimiter=",", ndmin=2)


def squared_distances(data: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Each row's squared distance to its closest centroid."""
    return ((data[:, None, :] - centroids[None]) ** 2).sum(axis=-1).min(axis=1)


def train(ml: contract.MlPaths) -> dict:
    from sklearn.cluster import KMeans

    hps = json.loads(ml.hyperparameters.read_text()) if ml.hyperparameters.is_file() else {}
    k = _integer(hps, "k")
    data, held_out = read_split(ml, "train"), read_split(ml, "validation")
    if "feature_dim" in hps and _integer(hps, "feature_dim") != data.shape[1]:
        raise JobError(f"feature_dim={hps['feature_dim']} but the data has {data.shape[1]} "
                       "features per row")
    if k >= len(data):
        raise JobError(f"k={k} clusters need more than {len(data)} training rows")
    init = "random" if hps.get("init_method") == "random" else "k-means++"
    fitted = KMeans(n_clusters=k, init=init, n_init=4, random_state=_integer(hps, "seed", "1"),
                    max_iter=100 * _integer(hps, "epochs", "1")).fit(data)
    squared = squared_distances(held_out, fitted.cluster_centers_)
    metrics = {"test:msd": float(squared.mean()), "test:ssd": float(squared.sum())}
    print(contract.format_metric_line(metrics), flush=True)
    scaling = Segmenter.read(ml.channel(contract.CHANNEL_TRANSFORM) / contract.TRANSFORM_FILE)
    ml.model.mkdir(parents=True, exist_ok=True)
    (ml.model / BUNDLE_FILE).write_text(
        scaling.with_centroids(fitted.cluster_centers_).to_json())
    return {"k": k, "rows": len(data), **metrics}


def main() -> int:
    ml = contract.MlPaths.from_env()

    def job() -> None:
        print(json.dumps(train(ml)), flush=True)

    return run_job(job, ml.failure, "training")


if __name__ == "__main__":
    sys.exit(main())
