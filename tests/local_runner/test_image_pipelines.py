"""An image use case through the platform's own state machines, executed locally: defects
(its manifest: GPU training, images in, JSON out) deployed in the session's `every` stage, one
small training execution (a generated sample of 40 images, one epoch) and one batch
inference over a manifest of PNG files (S3DataType ManifestFile, ContentType image/png,
SplitType None), shared by every assertion of this module."""

from __future__ import annotations

import json

import pytest

from local_runner.local_run import LocalPlatform
from local_runner.local_seed import RAW_BUCKET_OUTPUT, Seed, Upload
from runtime_scripts.use_cases.defects import generate
from runtime_scripts.use_cases.defects.tests.conftest import HYPERPARAMETERS, PRODUCTS, SPEC

USE_CASE = "defects"
SAMPLE = "defects/sample.tar"  # below the use case's data prefix: what its training reads
IMAGES = "images/"  # the batch's PNG files, outside it
# The bundled gate wants 80 % accuracy, which one epoch on 40 images need not reach: this run
# shows the path, not the model's quality (the use case's own tests and notebook do).
GATE = [{"metric": "accuracy", "comparison": ">=", "threshold": 0.0},
        {"metric": "served_accuracy_drop", "comparison": "<=", "threshold": 1.0}]
BATCH_KEYS = ("metal/good/a.png", "fabric/scratch/b.png", "fabric/spot/c.png")


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
                       max_local_trials=1) as platform:
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
            "training": {"hyperparameters": {**HYPERPARAMETERS, "epochs": "1"}},
            "quality_gate": {"conditions": GATE}}, name="images-training")
        batch = platform.run(f"{USE_CASE}:batch-inference", {
            "data": {"input_s3_uri": bucket + "manifests/batch.manifest",
                     "s3_data_type": "ManifestFile", "content_type": "image/png",
                     "split_type": "None"},
            "transform": {"batch_strategy": "SingleRecord"}}, name="images-batch")
        yield platform, training, batch


def test_the_image_model_is_trained_on_a_gpu_type_evaluated_and_registered(image_runs):
    platform, training, _ = image_runs
    assert training.status == "SUCCEEDED", training.cause
    assert training.path[-3:] == ["Register model package", "Notify success", "Model registered"]
    job = platform.sagemaker.describe_job("training-job",
                                          training.output["run"]["job_names"]["training"])
    assert job["ResourceConfig"]["InstanceType"] == "ml.g5.xlarge"  # the stage's GPU type
    assert job["Environment"]["ML_USE_CASE"] == USE_CASE
    metrics = training.output["evaluation"]["document"]["metrics"]
    assert {"accuracy", "macro_f1", "served_accuracy_drop"} <= set(metrics)


def test_the_batch_scores_each_listed_image_as_one_record(image_runs):
    platform, training, batch = image_runs
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
