"""`process evaluate` for personas: how well the clusters separate the held-out customers.

Inputs: processing/input/model (the bundle's model.tar.gz), processing/input/test (preprocess's
test split: data.csv, standardised). Metrics (evaluation.json `metrics`):
    silhouette         scikit-learn's mean silhouette on up to 2,000 test rows (-1 .. 1)
    min_cluster_share  the smallest cluster's share of the test rows (a gate keeps a model
                       whose k - 1 clusters hold everyone from passing)
    msd                mean squared distance to the closest centroid (built-in K-Means' msd)
    inertia            the sum of those squared distances (scikit-learn's inertia)
or, of a PCA model (training.builtin_algorithm "pca"):
    explained_variance    1 - the squared reconstruction error over the test rows' variance
                          (an R^2 of the reconstruction from the components: at most 1)
    reconstruction_error  the rows' mean squared distance to their reconstruction from the
                          projection (standardised units; the variance it loses)
`--gate METRIC>=NUMBER` (repeatable): the quality gate; its verdict is in `quality_gate`.
Also report.html: the metrics and the clusters' sizes and centres.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from runtime_scripts import contract
from runtime_scripts.common import quality_gate
from runtime_scripts.common.jobio import JobError, atomic_outputs, run_job
from runtime_scripts.common.manifest import current_use_case
from runtime_scripts.common.model_bundle import resolve_model_dir
from runtime_scripts.use_cases.personas.bundle import BUNDLE_FILE, Segmenter

SILHOUETTE_SAMPLE = 2000


def load_model(model_input: Path) -> Segmenter:
    with tempfile.TemporaryDirectory(prefix="model-") as scratch:
        folder = resolve_model_dir(model_input, Path(scratch), (BUNDLE_FILE,))
        model = Segmenter.read(folder / BUNDLE_FILE)
    if model.centroids is None and model.components is None:
        raise JobError(f"{BUNDLE_FILE} holds neither centroids nor components")
    return model


def score_projection(model: Segmenter, scaled: np.ndarray) -> dict:
    """How much of the held-out rows the components keep."""
    projected = model.project(scaled)
    residual = scaled - model.reconstruct(projected)
    total = float(((scaled - scaled.mean(axis=0)) ** 2).sum())
    lost = float((residual ** 2).sum())
    kept = projected.var(axis=0) * len(scaled)
    return {"metrics": {"explained_variance": 1.0 - lost / total if total else 0.0,
                        "reconstruction_error": lost / len(scaled)},
            "components": [{"component": i, "explained_variance": float(v / total),
                            "loadings": dict(zip(model.features, model.components[i].round(3)
                                                 .tolist(), strict=True))}
                           for i, v in enumerate(kept)]}


def score(model: Segmenter, scaled: np.ndarray) -> dict:
    from sklearn.metrics import silhouette_score

    closest, distance = model.assign(scaled)
    counts = np.bincount(closest, minlength=len(model.centroids))
    used = int((counts > 0).sum())
    silhouette = (float(silhouette_score(scaled, closest, random_state=0,
                                         sample_size=min(SILHOUETTE_SAMPLE, len(scaled))))
                  if 1 < used < len(scaled) else -1.0)  # undefined for one cluster: the worst
    squared = distance ** 2
    return {"metrics": {"silhouette": silhouette, "min_cluster_share": float(counts.min()
                                                                             / len(scaled)),
                        "msd": float(squared.mean()), "inertia": float(squared.sum())},
            "clusters": [{"cluster": i, "rows": int(counts[i]),
                          "centre": dict(zip(model.features,
                                             (model.centroids[i] * model.scale
                                              + model.mean).round(3).tolist(), strict=True))}
                         for i in range(len(model.centroids))]}


def render(document: dict) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.4g}</td></tr>"
                   for k, v in document["metrics"].items())
    verdict = "passed" if document["quality_gate"]["passed"] else "FAILED"
    if "components" in document:
        parts = "".join(f"<tr><td>{c['component']}</td><td>{c['explained_variance']:.3f}</td>"
                        f"<td>{html.escape(json.dumps(c['loadings']))}</td></tr>"
                        for c in document["components"])
        return (f"<html><body><h1>Customer usage, projected</h1><p>Quality gate {verdict}</p>"
                f"<table>{rows}</table><h2>Components</h2><table><tr><th>component</th>"
                f"<th>explained variance</th><th>loadings (standardised features)</th></tr>"
                f"{parts}</table></body></html>")
    clusters = "".join(f"<tr><td>{c['cluster']}</td><td>{c['rows']}</td><td>"
                       f"{html.escape(json.dumps(c['centre']))}</td></tr>"
                       for c in document["clusters"])
    return (f"<html><body><h1>Customer segments</h1><p>Quality gate {verdict}</p>"
            f"<table>{rows}</table><h2>Clusters</h2><table><tr><th>cluster</th><th>rows</th>"
            f"<th>centre (raw units)</th></tr>{clusters}</table></body></html>")


def evaluate(ml: contract.MlPaths, gate: list) -> dict:
    model = load_model(ml.processing_input(contract.PROCESSING_INPUT_MODEL))
    path = ml.processing_input(contract.PROCESSING_INPUT_TEST) / contract.SPLIT_FILE
    if not path.is_file():
        raise JobError(f"no {contract.SPLIT_FILE} in the test input: map preprocess's test "
                       "output to it")
    scaled = np.loadtxt(path, delimiter=",", ndmin=2)
    if scaled.shape[1] != len(model.features):
        raise JobError(f"the test split has {scaled.shape[1]} features, the model "
                       f"{len(model.features)}: they come from different preprocessing runs")
    document = {"schema_version": contract.EVALUATION_SCHEMA_VERSION,
                "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "rows": {"total": len(scaled)},
                "data": {"source": "test", "files": [contract.SPLIT_FILE]}}
    if model.components is not None:
        document.update(score_projection(model, scaled),
                        model={"kind": "pca", "components": len(model.components)})
    else:
        document.update(score(model, scaled), model={"kind": "kmeans",
                                                      "k": len(model.centroids)})
    document["quality_gate"] = quality_gate.judge(gate, document["metrics"])
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="process evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--gate", action="append", default=[], metavar="METRIC>=NUMBER")
    args = parser.parse_args(argv)
    ml = contract.MlPaths.from_env()

    def job() -> None:
        manifest = current_use_case()
        gate = [quality_gate.Condition.parse(text, manifest) for text in args.gate]
        document = evaluate(ml, gate)
        target = ml.processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
        with atomic_outputs({"evaluation": target}) as out:
            (out["evaluation"] / contract.EVALUATION_FILE).write_text(
                json.dumps(document, indent=1))
            (out["evaluation"] / contract.REPORT_FILE).write_text(render(document))
        print(json.dumps({"metrics": document["metrics"],
                          "quality_gate": document["quality_gate"]}), flush=True)

    return run_job(job, ml.exit_message, "evaluation")


if __name__ == "__main__":
    sys.exit(main())
