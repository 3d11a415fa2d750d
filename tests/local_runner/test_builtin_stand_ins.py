"""A training job in SageMaker's Linear Learner, K-Means or PCA image runs locally as the
labelled scikit-learn emulation: the algorithm's channels and content types in, its documented
metric names in FinalMetricDataList, `model_algo-1` (MXNet NDArray format) in model.tar.gz."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import boto3
import numpy as np
import pytest
from moto import mock_aws

from local_runner.executors import LocalProgram, training
from local_runner.executors.hosting import HostedModel
from local_runner.local_sagemaker import LocalSageMaker
from local_runner.stand_ins import EMULATED, builtin_training, emulated_jobs
from runtime_scripts import contract
from runtime_scripts.common import builtin_algorithms, mxnet_ndarray, recordio_protobuf
from runtime_scripts.common.tabular import linear_learner

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = LocalProgram(bin_dir=ROOT / "runtime_scripts" / "bin")
BUCKET = "builtin-stand-ins"
REGISTRY = "438346466558.dkr.ecr.eu-west-1.amazonaws.com"  # the SDK's for eu-west-1
CENTRES = np.array([[0.0, 0.0, 0.0], [10.0, 10.0, 0.0], [0.0, 10.0, 10.0]])


def _csv(rows: np.ndarray) -> bytes:
    return "\n".join(",".join(f"{v:.6g}" for v in row) for row in rows).encode() + b"\n"


@pytest.fixture(scope="module")
def s3():
    rng = np.random.default_rng(7)
    blobs = np.vstack([c + rng.normal(scale=0.5, size=(60, 3)) for c in CENTRES])
    rng.shuffle(blobs)
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET,
                             CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        for split, rows in (("train", blobs[:120]), ("validation", blobs[120:])):
            client.put_object(Bucket=BUCKET, Key=f"blobs/{split}/data.csv", Body=_csv(rows))
        yield client


def request(name: str, framework: str, data: str, **hyperparameters: str) -> dict:
    """What the training pipeline sends for a built-in (ml_constructs/sagemaker_jobs.py): the
    algorithm's channels and content type, no MetricDefinitions, no Environment."""
    spec = builtin_algorithms.algorithm(framework)
    return {
        "TrainingJobName": name, "HyperParameters": hyperparameters,
        "AlgorithmSpecification": {"TrainingImage": f"{REGISTRY}/{spec.repository}:1",
                                   "TrainingInputMode": "File"},
        "InputDataConfig": [
            {"ChannelName": channel, "ContentType": spec.content_type,
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                             "S3Uri": f"s3://{BUCKET}/{data}/{split}/"}}}
            for channel, split in spec.channels.items()],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models/"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                           "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 120},
    }


def _csv_to_jsonlines_batch(sagemaker, name: str, model: str, input_prefix: str) -> dict:
    """A transform job of `model` over the CSV lines under `input_prefix`, answered in JSON
    Lines under `<name>/`: the shape the built-ins' batches take."""
    return sagemaker.call("createTransformJob", {
        "TransformJobName": name, "ModelName": model, "BatchStrategy": "MultiRecord",
        "TransformInput": {"DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{input_prefix}"}},
            "ContentType": "text/csv", "SplitType": "Line"},
        "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/{name}/",
                            "Accept": "application/jsonlines", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1}})


def model_arrays(s3, described: dict, tmp_path: Path):
    uri = described["ModelArtifacts"]["S3ModelArtifacts"]
    body = s3.get_object(Bucket=BUCKET, Key=uri.split(f"{BUCKET}/", 1)[1])["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        assert tar.getnames() == ["model_algo-1"]
        tar.extractall(tmp_path, filter="data")
    return mxnet_ndarray.load(tmp_path / "model_algo-1")


def metrics(described: dict) -> dict[str, float]:
    return {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}


@pytest.fixture(scope="module")
def sagemaker(s3, tmp_path_factory):
    return LocalSageMaker(s3=s3, program=PROGRAM, workdir=tmp_path_factory.mktemp("builtins"))


@pytest.fixture(scope="module")
def kmeans_job(sagemaker) -> dict:
    """Built-in K-Means (its stand-in) trained once on the blobs, as DescribeTrainingJob says."""
    return sagemaker.call("createTrainingJob", request(
        "km", "kmeans", "blobs", k="3", feature_dim="3", eval_metrics='["msd", "ssd"]'))


def test_kmeans_finds_the_clusters_and_reports_test_msd(s3, sagemaker, kmeans_job, tmp_path):
    described = kmeans_job
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    (centroids,) = model_arrays(s3, described, tmp_path)
    assert centroids.shape == (3, 3) and centroids.dtype == np.float32
    nearest = np.min(np.linalg.norm(CENTRES[:, None] - centroids[None], axis=-1), axis=1)
    assert nearest.max() < 0.5  # each true centre has a centroid next to it
    found = metrics(described)
    assert set(found) == {"test:msd", "test:ssd"} and 0.3 < found["test:msd"] < 1.2
    assert found["test:ssd"] == pytest.approx(found["test:msd"] * 60, rel=1e-4)
    label = emulated_jobs({}, sagemaker.state.jobs["training-job"])["km"]
    assert label.startswith(EMULATED) and "kmeans" in label and "KMeans" in label


def container_root(tmp_path: Path, framework: str, channels: dict[str, np.ndarray],
                   input_format: str | None = None, **hyperparameters: str) -> Path:
    """What the training executor stages (executors/training.py), for an in-process run: the
    subprocess path is the K-Means job's above. Rows are label first when supervised; with
    RecordIO-protobuf each row is a Record (preprocessing's writer)."""
    spec = builtin_algorithms.algorithm(framework)
    config = tmp_path / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "inputdataconfig.json").write_text(json.dumps(
        {name: {"ContentType": spec.channel_content_type(input_format)} for name in channels}))
    for name, rows in channels.items():
        folder = tmp_path / "input" / "data" / name
        folder.mkdir(parents=True)
        if input_format == recordio_protobuf.CONTENT_TYPE:
            labelled = spec.supervised
            recordio_protobuf.write(folder / "data.rec", rows[:, 1:] if labelled else rows,
                                    rows[:, 0] if labelled else None)
        else:
            (folder / "data.csv").write_bytes(_csv(rows))
    return tmp_path


def test_pca_saves_mean_v_and_s(tmp_path):
    rows = np.random.default_rng(3).normal(size=(80, 3)) * [5.0, 1.0, 0.1]
    root = container_root(tmp_path, "pca", {"train": rows, "test": rows[:20]},
                          feature_dim="3", num_components="2", mini_batch_size="50")
    assert "scikit-learn's PCA" in builtin_training.run("pca", root)
    arrays = mxnet_ndarray.load(root / "model" / "model_algo-1")
    assert {k: v.shape for k, v in arrays.items()} == {"mean": (1, 3), "v": (3, 2), "s": (2,)}
    # In the algorithm's order, the largest singular value last: the widest feature's axis.
    assert arrays["s"][0] < arrays["s"][1] and abs(arrays["v"][0, -1]) > 0.99


@pytest.mark.parametrize(("predictor", "metric", "input_format"), [
    ("binary_classifier", "validation:binary_classification_accuracy", None),
    ("regressor", "validation:mse", None),
    ("binary_classifier", "validation:binary_classification_accuracy",
     recordio_protobuf.CONTENT_TYPE),
])
def test_linear_learner_scores_its_validation_channel(tmp_path, capsys, predictor, metric,
                                                      input_format):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(240, 3)) * [1.0, 4.0, 0.5] + [0.0, 2.0, -1.0]
    weights = np.array([1.5, -2.0, 0.5])
    y = x @ weights + 3.0 if predictor == "regressor" else (x @ weights + 3.0 > 0).astype(float)
    rows = np.column_stack([y, x])
    root = container_root(tmp_path, "linear-learner",
                          {"train": rows[:180], "validation": rows[180:]}, input_format,
                          predictor_type=predictor)
    builtin_training.run("linear-learner", root)
    logged = capsys.readouterr().out
    found = training.final_metrics(
        [{"Name": m, "Regex": contract.metric_regex(m)} for m in
         builtin_algorithms.algorithm("linear-learner").objective_metrics(
             "regression" if predictor == "regressor" else "binary_classification")], logged)
    assert "validation:objective_loss" in found
    assert found[metric] <= 1e-3 if predictor == "regressor" else found[metric] >= 0.9
    # As the algorithm saves it: a zipped MXNet checkpoint, FullyConnected's outputs x d.
    arrays = linear_learner.read_parameters(root / "model" / "model_algo-1")
    assert arrays["fc0_weight"].shape == (1, 3) and arrays["fc0_bias"].shape == (1,)
    if predictor == "regressor":  # in feature space: the standardisation is folded in
        assert arrays["fc0_weight"].ravel() == pytest.approx(weights, abs=0.01)
        assert arrays["fc0_bias"][0] == pytest.approx(3.0, abs=0.01)


def test_a_missing_required_hyperparameter_fails_as_the_algorithm_would(sagemaker):
    described = sagemaker.call("createTrainingJob",
                               request("km-no-k", "kmeans", "blobs", feature_dim="3"))
    assert described["TrainingJobStatus"] == "Failed"
    assert "missing required hyperparameters: k" in described["FailureReason"]


def test_a_feature_dim_that_is_not_the_datas_width_fails(sagemaker):
    described = sagemaker.call("createTrainingJob",
                               request("km-dim", "kmeans", "blobs", feature_dim="4", k="3"))
    assert described["TrainingJobStatus"] == "Failed"
    assert "feature_dim=4 but the data has 3 features" in described["FailureReason"]


def test_the_ndarray_format_round_trips_lists_and_named_arrays(tmp_path):
    named = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(4)}
    mxnet_ndarray.save(tmp_path / "named", named)
    loaded = mxnet_ndarray.load(tmp_path / "named")
    assert list(loaded) == ["a", "b"] and np.array_equal(loaded["a"], named["a"])
    (tmp_path / "bad").write_bytes(b"\x00" * 24)
    with pytest.raises(mxnet_ndarray.NDArrayFormatError, match="not an MXNet NDArray file"):
        mxnet_ndarray.load(tmp_path / "bad")


def test_xgboost_saves_the_booster_the_package_job_repacks(tmp_path, capsys):
    from runtime_scripts.common.tabular.package import load_builtin_booster

    rng = np.random.default_rng(9)
    x = rng.normal(size=(200, 3))
    rows = np.column_stack([(x[:, 0] - x[:, 1] > 0).astype(float), x])
    root = container_root(tmp_path, "xgboost", {"train": rows[:150], "validation": rows[150:]},
                          objective="binary:logistic", eval_metric="auc", num_round="30",
                          early_stopping_rounds="5", max_depth="3")
    assert "xgboost.train" in builtin_training.run("xgboost", root)
    found = training.final_metrics([{"Name": "validation:auc",
                                     "Regex": contract.metric_regex("validation:auc")}],
                                   capsys.readouterr().out)
    assert found["validation:auc"] > 0.9
    booster = load_builtin_booster(root / "model" / "xgboost-model")
    assert booster.num_features() == 3 and booster.attr("best_iteration") is not None


def test_kmeans_trains_on_unlabelled_records(tmp_path, capsys):
    rng = np.random.default_rng(11)
    blobs = np.vstack([c + rng.normal(scale=0.5, size=(40, 3)) for c in CENTRES])
    root = container_root(tmp_path, "kmeans", {"train": blobs, "test": blobs[::4]},
                          recordio_protobuf.CONTENT_TYPE, k="3", feature_dim="3")
    builtin_training.run("kmeans", root)
    (centroids,) = mxnet_ndarray.load(root / "model" / "model_algo-1")
    assert np.min(np.linalg.norm(CENTRES[:, None] - centroids[None], axis=-1), axis=1).max() < 0.5
    assert "test:msd" in capsys.readouterr().out
    (root / "input" / "data" / "train" / "data.rec").write_bytes(_csv(blobs))  # CSV mislabelled
    with pytest.raises(builtin_training.AlgorithmError, match="channel 'train': data.rec: no "
                       "RecordIO magic number"):
        builtin_training.run("kmeans", root)


def test_a_kmeans_model_batch_transforms_in_its_own_containers_formats(s3, sagemaker,
                                                                        kmeans_job):
    """CreateModel with the built-in's image and its model.tar.gz; a batch transform of
    header-less feature rows answers K-Means' documented JSON Lines, from the emulation."""
    image = kmeans_job["AlgorithmSpecification"]["TrainingImage"]
    sagemaker.call("createModel", {
        "ModelName": "km-model", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r",
        "PrimaryContainer": {"Image": image, "Mode": "SingleModel",
                             "ModelDataUrl": kmeans_job["ModelArtifacts"]["S3ModelArtifacts"]}})
    described = _csv_to_jsonlines_batch(sagemaker, "km-batch", "km-model", "blobs/validation/")
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    body = s3.get_object(Bucket=BUCKET, Key="km-batch/data.csv.out")["Body"].read().decode()
    answers = [json.loads(line) for line in body.splitlines() if line.strip()]
    rows = np.loadtxt(io.StringIO(s3.get_object(
        Bucket=BUCKET, Key="blobs/validation/data.csv")["Body"].read().decode()), delimiter=",")
    assert len(answers) == len(rows) == 60
    assert set(answers[0]) == {"closest_cluster", "distance_to_cluster"}
    # Rows of one true blob share one cluster; the distances are to that cluster's centroid.
    truth = np.argmin(np.linalg.norm(rows[:, None] - CENTRES[None], axis=-1), axis=1)
    clusters = np.array([a["closest_cluster"] for a in answers])
    assert all(len(set(clusters[truth == t])) == 1 for t in range(3))
    assert max(a["distance_to_cluster"] for a in answers) < 3.0
    assert "EMULATED" in described["LogTail"] and "built-in kmeans inference" in \
        described["LogTail"]


def test_pca_and_linear_learner_answer_their_documented_json(tmp_path):
    from local_runner.stand_ins import builtin_serving

    rng = np.random.default_rng(2)
    rows = rng.normal(size=(60, 3)) * [5.0, 1.0, 0.1]
    pca_root = container_root(tmp_path / "pca", "pca", {"train": rows}, feature_dim="3",
                              num_components="2", mini_batch_size="10")
    builtin_training.run("pca", pca_root)
    pca = builtin_serving.Model("pca", pca_root / "model")
    request = json.dumps({"instances": [{"features": r} for r in rows[:2].tolist()]}).encode()
    status, kind, body = builtin_serving.invoke(pca, "application/json", None, request)
    projections = json.loads(body)["projections"]
    assert (status, kind, len(projections)) == (200, "application/json", 2)
    assert len(projections[0]["projection"]) == 2
    x = rng.normal(size=(200, 3))
    labelled = np.column_stack([(x @ [1.0, -1.0, 0.5] > 0).astype(float), x])
    ll_root = container_root(tmp_path / "ll", "linear-learner", {"train": labelled},
                             predictor_type="binary_classifier")
    builtin_training.run("linear-learner", ll_root)
    ll = builtin_serving.Model("linear-learner", ll_root / "model")
    status, _, body = builtin_serving.invoke(
        ll, recordio_protobuf.CONTENT_TYPE, "application/json", recordio_protobuf.encode(x[:50]))
    predictions = json.loads(body)["predictions"]
    assert status == 200 and set(predictions[0]) == {"score", "predicted_label"}
    accuracy = np.mean([p["predicted_label"] for p in predictions] == labelled[:50, 0])
    assert accuracy > 0.9
    assert builtin_serving.invoke(ll, "text/csv", None, b"1,2\n")[0] == 400  # 2 of 3 features
    assert builtin_serving.invoke(ll, "text/csv", "text/csv", b"1,2,3\n")[0] == 406


def test_a_serial_pipeline_hands_the_images_features_to_the_builtin_container(
        s3, sagemaker, kmeans_job, tmp_path):
    """CreateModel with Containers [the use case's image answering features, the built-in's]
    and InferenceExecutionConfig Serial: a batch of raw rows goes through both, chained
    (executors/serial.py), and answers as the built-in answers the features themselves.
    personas' image here: its bundle standardises raw = 2 * blob + 1 back to the blobs."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "personas.json").write_text(json.dumps(
        {"features": ["a", "b", "c"], "mean": [1.0, 1.0, 1.0], "scale": [2.0, 2.0, 2.0]}))
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        tar.add(bundle / "personas.json", arcname="personas.json")
    s3.put_object(Bucket=BUCKET, Key="serial/bundle/model.tar.gz", Body=archive.getvalue())
    rows = np.loadtxt(io.StringIO(s3.get_object(
        Bucket=BUCKET, Key="blobs/validation/data.csv")["Body"].read().decode()), delimiter=",")
    s3.put_object(Bucket=BUCKET, Key="serial/raw/rows.csv", Body=_csv(rows * 2 + 1))
    sagemaker.call("createModel", {
        "ModelName": "serial-model", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r",
        "Containers": [
            {"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/personas:latest",
             "ModelDataUrl": f"s3://{BUCKET}/serial/bundle/model.tar.gz",
             "Environment": {"ML_USE_CASE": "personas",
                             contract.SERVE_OUTPUT_ENV: contract.SERVE_FEATURES}},
            {"Image": kmeans_job["AlgorithmSpecification"]["TrainingImage"],
             "ModelDataUrl": kmeans_job["ModelArtifacts"]["S3ModelArtifacts"]}],
        "InferenceExecutionConfig": {"Mode": "Serial"}})
    described = _csv_to_jsonlines_batch(sagemaker, "serial-batch", "serial-model",
                                        "serial/raw/")
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    body = s3.get_object(Bucket=BUCKET, Key="serial-batch/rows.csv.out")["Body"].read().decode()
    chained = [json.loads(line) for line in body.splitlines() if line.strip()]
    # What K-Means answers for the blobs themselves (its centroids, by numpy).
    (centroids,) = model_arrays(s3, kmeans_job, tmp_path / "kmeans")
    distances = np.linalg.norm(rows[:, None] - centroids[None].astype(np.float64), axis=-1)
    direct = [{"closest_cluster": float(c), "distance_to_cluster": float(d[c])}
              for c, d in zip(distances.argmin(axis=1), distances, strict=True)]
    assert [a["closest_cluster"] for a in chained] == [a["closest_cluster"] for a in direct]
    # The raw rows travel as CSV of 6 significant digits: the distances agree to that.
    assert [a["distance_to_cluster"] for a in chained] == pytest.approx(
        [a["distance_to_cluster"] for a in direct], abs=1e-4)
    assert len(chained) == 60
    # The same model behind an endpoint (its hosted container, executors/hosting.py): a
    # client's raw rows, the built-in's JSON back.
    hosted = HostedModel(sagemaker._model_data("serial-model"), s3, PROGRAM,
                         tmp_path / "endpoint").start()
    try:
        answered = hosted.invoke(_csv(rows[:3] * 2 + 1), {"Content-Type": "text/csv",
                                                          "Accept": "application/json"})
        assert (answered.status, answered.content_type) == (200, "application/json")
        assert [p["closest_cluster"] for p in json.loads(answered.body)["predictions"]] == [
            a["closest_cluster"] for a in direct[:3]]
    finally:
        hosted.stop()
