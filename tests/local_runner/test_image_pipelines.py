"""An image use case through the platform's own state machines, executed locally: defects
(its manifest: GPU training, images in, JSON out) deployed in the session's `every` stage, one
small training execution with tuning on (a generated sample of 40 images, two trials of one
epoch), one batch inference over a manifest of PNG files (S3DataType ManifestFile,
ContentType image/png, SplitType None) and one deployment of the registered package to a
real-time endpoint served by the use case's own `serve`, shared by every assertion of this
module. The deployment computes no data quality baseline: that job runs in AWS's Model Monitor
analyzer image, which has no local entry point (docs/serving.md)."""

from __future__ import annotations

import base64
import json

import pytest

from local_runner.api_common import SageMakerError
from local_runner.local_run import LocalPlatform
from local_runner.local_seed import RAW_BUCKET_OUTPUT, Seed, Upload
from runtime_scripts.use_cases.defects import capture, generate
from runtime_scripts.use_cases.defects.features import IMAGE_FEATURES
from runtime_scripts.use_cases.defects.tests.conftest import HYPERPARAMETERS, PRODUCTS, SPEC

USE_CASE = "defects"
SAMPLE = "defects/sample.tar"  # below the use case's data prefix: what its training reads
IMAGES = "images/"  # the batch's PNG files, outside it
# The bundled gate wants 80 % accuracy, which one epoch on 40 images need not reach: this run
# shows the path, not the model's quality (the use case's own tests and notebook do).
GATE = [{"metric": "accuracy", "comparison": ">=", "threshold": 0.0},
        {"metric": "served_accuracy_drop", "comparison": "<=", "threshold": 1.0}]
BATCH_KEYS = ("metal/good/a.png", "fabric/scratch/b.png", "fabric/spot/c.png")
# Two trials, one after the other, each of one epoch: tuning, then the best trial's model
# through evaluation, export and registration, in one execution.
TUNING = {"enabled": True, "max_jobs": 2, "max_parallel_jobs": 1,
          "static_hyperparameters": {"epochs": "1"}}
ENDPOINT = "mlplatform-dev-defects"


def _files(folder):
    sample = folder / "sample.tar"
    generate.write(folder / "unused", size=32, per_class=5, products=PRODUCTS, seed=1,
                   tar=sample)
    spec = folder / "dataset.json"
    spec.write_text(json.dumps(SPEC))
    images = dict(generate.sample_images(32, 1, PRODUCTS, 9))
    pngs = []
    for key, data in zip(BATCH_KEYS, images.values(), strict=False):
        path = folder / key.replace("/", "_")
        path.write_bytes(data)
        pngs.append(Upload(path, RAW_BUCKET_OUTPUT, IMAGES + key))
    return sample, spec, pngs


@pytest.fixture(scope="module")
def image_runs(synthesized, tmp_path_factory):
    stage = synthesized["every"]
    sample, spec, pngs = _files(tmp_path_factory.mktemp("image-seed"))
    with LocalPlatform(stage.outdir, workdir=tmp_path_factory.mktemp("image-run"),
                       max_local_trials=TUNING["max_jobs"]) as platform:
        platform.seed(Seed((Upload(sample, RAW_BUCKET_OUTPUT, SAMPLE),
                            Upload(spec, RAW_BUCKET_OUTPUT, "specs/defects.json"), *pngs)))
        raw = platform.account.output(RAW_BUCKET_OUTPUT)
        bucket = f"s3://{raw}/"
        # SageMaker's manifest format: the prefix, then the keys below it.
        platform.clients.s3.put_object(Bucket=raw, Key="manifests/batch.manifest", Body=json.dumps(
            [{"prefix": bucket + IMAGES}, *BATCH_KEYS]).encode())
        training = platform.run(f"{USE_CASE}:training", {
            "data": {"raw_s3_uri": bucket + "defects/",
                     "dataset_spec_s3_uri": bucket + "specs/defects.json"},
            "training": {"hyperparameters": HYPERPARAMETERS}, "tuning": TUNING,
            "quality_gate": {"conditions": GATE}}, name="images-training")
        batch = platform.run(f"{USE_CASE}:batch-inference", {
            "data": {"input_s3_uri": bucket + "manifests/batch.manifest",
                     "s3_data_type": "ManifestFile", "content_type": "image/png",
                     "split_type": "None"},
            "transform": {"batch_strategy": "SingleRecord"}}, name="images-batch")
        deployment = platform.run(f"{USE_CASE}:deployment", {
            "model_package_arn": training.output["registered"]["arn"],
            "baseline": {"enabled": False}}, name="images-deployment")
        yield platform, training, batch, deployment


def test_the_image_model_is_tuned_on_a_gpu_type_evaluated_and_registered(image_runs):
    platform, training, _, _ = image_runs
    assert training.status == "SUCCEEDED", training.cause
    assert "Tune hyperparameters" in training.path
    assert training.path[-3:] == ["Register model package", "Notify success", "Model registered"]
    tuning = platform.sagemaker.describe_job("tuning-job", training.output["tuning_result"]["name"])
    assert tuning["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"] == \
        {"Type": "Maximize", "MetricName": "validation:accuracy"}  # the manifest's objective
    assert tuning["TrainingJobStatusCounters"]["Completed"] == TUNING["max_jobs"]
    best = training.output["tuning_result"]["best_training_job"]
    assert training.output["model"]["training_job_name"] == best  # the best trial's model
    job = platform.sagemaker.describe_job("training-job", best)
    assert job["ResourceConfig"]["InstanceType"] == "ml.g5.xlarge"  # the stage's GPU type
    # ml.g5 has NVMe instance storage: SageMaker refuses a volume key for it.
    assert "VolumeKmsKeyId" not in job["ResourceConfig"]
    assert job["Environment"]["ML_USE_CASE"] == USE_CASE
    metrics = training.output["evaluation"]["document"]["metrics"]
    assert {"accuracy", "macro_f1", "served_accuracy_drop"} <= set(metrics)


def test_the_batch_scores_each_listed_image_as_one_record(image_runs):
    platform, training, batch, _ = image_runs
    assert batch.status == "SUCCEEDED", batch.cause
    assert batch.output["package"]["arn"] == training.output["registered"]["arn"]
    transform = platform.sagemaker.describe_job("transform-job",
                                                batch.output["run"]["job_names"]["transform"])
    source = transform["TransformInput"]
    assert source["DataSource"]["S3DataSource"]["S3DataType"] == "ManifestFile"
    assert (source["ContentType"], source["SplitType"]) == ("image/png", "None")
    assert transform["TransformOutput"]["Accept"] == "application/json"
    output = batch.output["run"]["s3"]["output"]
    for key in BATCH_KEYS:  # named after each image's key relative to the manifest's prefix
        answer = platform.read_json(f"{output}{key}.out")
        (prediction,) = answer["predictions"]
        assert prediction["label"] in ("good", "scratch", "spot", "crack")
        assert abs(sum(prediction["probabilities"].values()) - 1) < 1e-5



@pytest.fixture(scope="module")
def served(image_runs):
    """One PNG the batch did not see, sent to the deployed endpoint: (the image, the answer)."""
    platform = image_runs[0]
    _, png = next(generate.sample_images(32, 1, PRODUCTS, 11))
    return png, platform.sagemaker.invoke_endpoint(ENDPOINT, png, "image/png",
                                                   "application/json")


def test_the_registered_model_answers_images_on_a_real_time_endpoint(image_runs, served):
    platform, training, _, deployment = image_runs
    assert deployment.status == "SUCCEEDED", deployment.cause
    assert deployment.path[-2:] == ["Notify success", "Endpoint serving the new model"]
    _, answer = served
    (prediction,) = json.loads(answer.body)["predictions"]
    assert prediction["label"] in generate.CLASSES
    assert set(prediction["probabilities"]) == set(generate.CLASSES)
    assert abs(sum(prediction["probabilities"].values()) - 1) < 1e-5
    config = platform.sagemaker.call("describeEndpointConfig",
                                     {"EndpointConfigName": answer.endpoint_config})
    model = platform.sagemaker.state.models[config["ProductionVariants"][0]["ModelName"]]
    package = model["PrimaryContainer"]["ModelPackageName"]
    assert package == training.output["registered"]["arn"]
    inference = platform.sagemaker.call("describeModelPackage", {"ModelPackageName": package})[
        "InferenceSpecification"]  # what the package says its model takes and answers
    assert "image/png" in inference["SupportedContentTypes"]
    assert inference["SupportedResponseMIMETypes"] == ["application/json"]


def test_the_captured_request_gives_the_monitored_image_features(image_runs, served):
    """The endpoint's data capture, read by the use case's record preprocessor as Model Monitor
    would: one record of image features (the columns its baseline holds) per image."""
    platform = image_runs[0]
    bucket = platform.account.output("MonitoringBucketName")
    (key,) = [o["Key"] for o in platform.clients.s3.list_objects_v2(
        Bucket=bucket, Prefix=f"datacapture/{ENDPOINT}/AllTraffic/")["Contents"]]
    (line,) = platform.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read() \
        .decode().splitlines()
    captured = json.loads(line)["captureData"]
    png, _ = served
    assert base64.b64decode(captured["endpointInput"]["data"]) == png
    assert captured["endpointOutput"]["encoding"] == "JSON"  # a JSON answer, captured as text
    (record,) = capture.preprocess_handler(captured)
    assert set(record) == set(IMAGE_FEATURES)
    assert (record["width"], record["height"]) == (32, 32)


def test_a_corrupt_image_gets_a_client_error_naming_the_problem(image_runs, served):
    platform = image_runs[0]
    with pytest.raises(SageMakerError, match=r"client error \(400\).*corrupt image"):
        platform.sagemaker.invoke_endpoint(ENDPOINT, b"\x89PNG\r\n\x1a\n not an image",
                                           "image/png", "application/json")
