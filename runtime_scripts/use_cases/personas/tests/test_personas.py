"""personas end to end on its sample: preprocessing writes unlabelled, standardised splits;
script-mode K-Means logs built-in K-Means' metric names; evaluation scores silhouette and
cluster shares and passes the manifest's gate; the built-in path's model_algo-1 repacks into
the same bundle; serving answers cluster assignments in built-in K-Means' formats."""

from __future__ import annotations

import json
import tarfile

import numpy as np
import pandas as pd
import pytest

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError
from runtime_scripts.use_cases.personas import bundle, serve
from runtime_scripts.use_cases.personas.manifest import FEATURES, MANIFEST


def test_preprocessing_writes_unlabelled_standardised_splits(personas) -> None:
    assert personas.summary == {"rows": {"train": 840, "validation": 180, "test": 180},
                                "features": FEATURES, "dropped_empty": 0}
    train = np.loadtxt(personas.ml.processing_output("train") / contract.SPLIT_FILE,
                       delimiter=",")
    # No label column: every column is a feature, centred and scaled on the training split.
    assert train.shape == (840, FEATURES)
    assert np.abs(train.mean(axis=0)).max() < 1e-6 and np.allclose(train.std(axis=0), 1.0)
    raw = pd.read_csv(personas.ml.processing_output("test") / contract.RAW_TEST_FILE)
    assert list(raw.columns) == ["customer_id", *json.loads(
        MANIFEST.path(MANIFEST.dataset_spec).read_text())["features"]]


def test_training_and_evaluation_score_the_clusters_and_pass_the_gate(personas) -> None:
    assert set(MANIFEST.training_metrics) <= set(personas.trained)
    metrics = personas.evaluation["metrics"]
    assert list(metrics) == list(MANIFEST.metric_names)[:4]  # a PCA model's are the others
    assert metrics["inertia"] == pytest.approx(metrics["msd"] * 180)
    assert sum(c["rows"] for c in personas.evaluation["clusters"]) == 180
    assert personas.evaluation["quality_gate"]["passed"], personas.evaluation["quality_gate"]


def test_the_builtin_models_centroids_repack_into_the_same_bundle(personas) -> None:
    assert personas.packaged == {"k": 4, "features": FEATURES}
    # Built-in K-Means trained on preprocessing's RecordIO-protobuf Records, nothing else.
    channels = personas.root / "kmeans" / "input" / "data"
    assert {p.relative_to(channels).as_posix() for p in channels.rglob("*.*")} == {
        f"{channel}/{contract.RECORDIO_SPLIT_FILE}" for channel in ("train", "test")}
    # Scikit-learn's emulation of built-in K-Means on the same splits: the same kind of model.
    repacked = personas.builtin_evaluation["metrics"]
    assert repacked["silhouette"] > 0 and repacked["min_cluster_share"] > 0.05
    assert repacked["msd"] == pytest.approx(personas.evaluation["metrics"]["msd"], rel=0.2)


def test_builtin_pca_projects_the_customers_and_keeps_half_their_variance(personas) -> None:
    """training.builtin_algorithm "pca": its model_algo-1 (mean, v, s; the largest singular
    value last, as the algorithm saves it) repacks into the bundle, components largest first;
    evaluation scores the projection of the held-out customers and passes PCA's own gate."""
    assert personas.pca_packaged == {"components": 6, "features": FEATURES}
    evaluation = personas.pca_evaluation
    assert evaluation["model"] == {"kind": "pca", "components": 6}
    metrics = evaluation["metrics"]
    assert set(metrics) == {"explained_variance", "reconstruction_error"}
    packaged = contract.MlPaths(personas.root / "pca-builtin" / "package").processing_output(
        contract.PROCESSING_OUTPUT_PACKAGED) / contract.PACKAGED_MODEL_ARCHIVE
    with tarfile.open(packaged) as tar:
        document = json.load(tar.extractfile(bundle.BUNDLE_FILE))
    singular = document["singular_values"]
    assert singular == sorted(singular, reverse=True)  # reordered: the largest first
    shares = [c["explained_variance"] for c in evaluation["components"]]
    # What the reconstruction keeps is what the components' projections hold (orthonormal).
    assert metrics["explained_variance"] == pytest.approx(sum(shares), abs=0.02)
    assert 0.5 <= metrics["explained_variance"] < 0.7  # nearly uncorrelated usage features
    assert evaluation["quality_gate"]["passed"], evaluation["quality_gate"]
    assert [c["metric"] for c in evaluation["quality_gate"]["conditions"]] == [
        "explained_variance"]


def test_a_pca_model_of_other_features_is_refused_when_repacked(personas) -> None:
    scaling = bundle.Segmenter.read(personas.ml.processing_output("transform")
                                    / contract.TRANSFORM_FILE)
    with pytest.raises(JobError, match=r"PCA model's arrays \(v \[3, 2\].*another prepro"):
        scaling.with_projection(np.zeros((1, 3)), np.zeros((3, 2)), np.ones(2))


def test_a_model_of_other_features_is_refused_when_repacked(personas) -> None:
    scaling = bundle.Segmenter.read(personas.ml.processing_output("transform")
                                    / contract.TRANSFORM_FILE)
    with pytest.raises(JobError, match=r"centroids have shape \(4, 3\).*another preprocessing"):
        scaling.with_centroids(np.zeros((4, 3)))


@pytest.fixture(scope="module")
def app(personas) -> serve.App:
    return serve.App(personas.ml.model, ["customer_id"])


def test_serving_answers_each_rows_segment_as_builtin_kmeans_does(app) -> None:
    holdout = MANIFEST.path(MANIFEST.local_batch).read_bytes()  # a header, ids and features
    status, kind, body = app.handle("POST", "/invocations", "text/csv", None, holdout)
    assert (status, kind) == (200, "text/csv")
    answers = [line.split(",") for line in body.decode().splitlines()]
    assert len(answers) == 100 and {a[0] for a in answers} <= {"0", "1", "2", "3"}
    first = pd.read_csv(MANIFEST.path(MANIFEST.local_batch)).iloc[0]
    features = app.model.features
    status, kind, body = app.handle(
        "POST", "/invocations", "application/json", "application/json",
        json.dumps({"instances": [{"features": first[features].tolist()}]}).encode())
    (prediction,) = json.loads(body)["predictions"]
    assert str(prediction["closest_cluster"]) == answers[0][0]
    assert prediction["distance_to_cluster"] == pytest.approx(float(answers[0][1]), rel=1e-5)


def test_a_bad_request_is_a_400_naming_the_row_and_column(app) -> None:
    row = ",".join(["1"] * (FEATURES - 1) + ["lots"])
    status, _, body = app.handle("POST", "/invocations", "text/csv", None, row.encode())
    assert status == 400
    assert json.loads(body)["error"] == "row 1: number_customer_service_calls is 'lots', " \
                                        "not a number"
    assert app.handle("POST", "/invocations", "text/plain", None, b"x")[0] == 415


def test_a_pca_bundle_serves_raw_rows_projections_as_builtin_pca_serves_scaled_ones(
        personas, tmp_path) -> None:
    """The image serving a repacked PCA model answers built-in PCA's JSON for raw customer
    rows; PCA's own container (its emulation, on the model_algo-1 it trained) answers the same
    projections for the standardised rows, its components in its own order."""
    from local_runner.stand_ins import builtin_serving

    packaged = contract.MlPaths(personas.root / "pca-builtin" / "package").processing_output(
        contract.PROCESSING_OUTPUT_PACKAGED) / contract.PACKAGED_MODEL_ARCHIVE
    with tarfile.open(packaged) as tar:
        tar.extractall(tmp_path, filter="data")
    app = serve.App(tmp_path, ["customer_id"])
    rows = pd.read_csv(MANIFEST.path(MANIFEST.local_batch)).head(3)[app.model.features]
    status, kind, body = app.handle(
        "POST", "/invocations", "application/json", None,
        json.dumps({"instances": [{"features": r} for r in rows.to_numpy().tolist()]}).encode())
    assert (status, kind) == (200, "application/json")
    ours = np.array([p["projection"] for p in json.loads(body)["projections"]])
    own = builtin_serving.Model("pca", personas.root / "pca" / "model")
    key, answers = own.answers(app.model.scaled(rows.to_numpy(dtype=float)))
    assert key == "projections"
    theirs = np.array([a["projection"] for a in answers])[:, ::-1]  # its smallest first
    assert ours == pytest.approx(theirs, abs=1e-4)


def test_as_a_serial_pipelines_first_container_it_hands_kmeans_the_standardised_rows(
        personas, tmp_path) -> None:
    """ML_SERVE_OUTPUT=features: raw rows in, the standardised features out (header-less CSV,
    whatever the client's Accept), which built-in K-Means' container (its emulation, on the
    model_algo-1 it trained) assigns to the clusters the repacked bundle assigns the raw rows."""
    from local_runner.stand_ins import builtin_serving

    packaged = contract.MlPaths(personas.root / "builtin" / "package").processing_output(
        contract.PROCESSING_OUTPUT_PACKAGED) / contract.PACKAGED_MODEL_ARCHIVE
    with tarfile.open(packaged) as tar:
        tar.extractall(tmp_path, filter="data")
    holdout = MANIFEST.path(MANIFEST.local_batch).read_bytes()
    first = serve.App(tmp_path, ["customer_id"], features_only=True)
    status, kind, body = first.handle("POST", "/invocations", "text/csv", "application/json",
                                      holdout)
    assert (status, kind) == (200, "text/csv")
    kmeans = builtin_serving.Model("kmeans", personas.root / "kmeans" / "model")
    status, _, answered = builtin_serving.invoke(kmeans, kind, "application/json", body)
    assert status == 200
    theirs = [int(p["closest_cluster"]) for p in json.loads(answered)["predictions"]]
    _, _, ours = serve.App(tmp_path, ["customer_id"]).handle(
        "POST", "/invocations", "text/csv", "application/json", holdout)
    assert theirs == [p["closest_cluster"] for p in json.loads(ours)["predictions"]]
    assert len(theirs) == 100
