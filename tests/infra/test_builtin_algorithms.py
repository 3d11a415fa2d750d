"""Linear Learner, K-Means and PCA as the training algorithm: their image URIs from the SageMaker
SDK per region, their channels and CSV flavour in the training request, the manifest's and the
stage's hyperparameters checked against what each requires, their own metrics as tuning
objectives (with the documented direction)."""

from __future__ import annotations

import dataclasses

import pytest

from config import (
    ConfigError,
    MonitoringConfig,
    ServingConfig,
    TrainingConfig,
    TuningConfig,
    UseCaseConfig,
)
from ml_constructs import sagemaker_jobs as jobs
from ml_constructs.resource_names import BATCH_INFERENCE
from ml_constructs.runtime_image import builtin_image_uri
from runtime_scripts import contract
from runtime_scripts.common import builtin_algorithms
from runtime_scripts.common.manifest import (
    BuiltinAlgorithm,
    Image,
    ManifestError,
    Resampling,
    load_manifest,
)
from tests.conftest import EVERY_USE_CASE
from tests.contract import shapes

CHURN = load_manifest("churn")


def with_builtin(framework: str, problem_type: str, objective: str = "",
                 **hyperparameters: str):
    """Churn's manifest, its problem type and built-in algorithm replaced."""
    return dataclasses.replace(
        CHURN, problem_type=problem_type, hyperparameters={},
        cross_validation=Resampling(allowed=False, refusal="folds are tabular"),
        image=Image(dockerfile=CHURN.image.dockerfile, builtin_training=BuiltinAlgorithm(
            framework=framework, version="1", hyperparameters=hyperparameters,
            objective_metric=objective)))


@pytest.mark.parametrize("framework", ["linear-learner", "kmeans", "pca"])
def test_the_image_uri_is_the_sdks_for_the_region(framework):
    spec = builtin_algorithms.algorithm(framework)
    ireland, virginia = (builtin_image_uri(framework, region, "1")
                         for region in ("eu-west-1", "us-east-1"))
    assert ireland.endswith(f".dkr.ecr.eu-west-1.amazonaws.com/{spec.repository}:1")
    assert virginia.endswith(f".dkr.ecr.us-east-1.amazonaws.com/{spec.repository}:1")
    assert ireland.split(".")[0] != virginia.split(".")[0]  # each region's own account


def settings(framework: str, content_type: str | None = None) -> jobs.JobSettings:
    return jobs.JobSettings(role_arn="arn:aws:iam::123456789012:role/r", image_uri="ours",
                            training_image_uri=builtin_image_uri(framework, "eu-west-1", "1"),
                            builtin_training=True, kms_key_id="k", git_commit="c",
                            use_case="churn", builtin_algorithm=framework,
                            builtin_content_type=content_type)


def test_recordio_protobuf_channels_and_the_preprocessing_cue():
    recordio = builtin_algorithms.RECORDIO_PROTOBUF
    chosen = BuiltinAlgorithm(framework="pca", version="1", input_format=recordio)
    channels = jobs.training_channels(settings("pca", chosen.content_type))
    # Already RecordIO-framed: no wrapping asked of SageMaker (RecordWrapperType None).
    assert [(c["ChannelName"], c["ContentType"], c["RecordWrapperType"]) for c in channels] == [
        ("train", recordio, "None"), ("test", recordio, "None")]
    preprocessing = jobs.preprocessing_job(settings("pca", recordio), inputs=[], data_path="$.x")
    assert preprocessing["Environment"][contract.TRAINING_INPUT_FORMAT_ENV] == recordio
    csv = jobs.preprocessing_job(settings("pca", "text/csv;label_size=0"), inputs=[],
                                 data_path="$.x")
    assert contract.TRAINING_INPUT_FORMAT_ENV not in csv["Environment"]
    script_mode = dataclasses.replace(settings("pca", recordio), builtin_training=False)
    assert contract.TRAINING_INPUT_FORMAT_ENV not in script_mode.job_environment
    with pytest.raises(ManifestError, match="input_format 'application/x-recordio-protobuf': "
                       "xgboost trains on text/csv"):
        dataclasses.replace(CHURN, image=dataclasses.replace(
            CHURN.image, builtin_training=dataclasses.replace(
                CHURN.image.builtin_training, input_format=recordio))).validate()


def test_kmeans_gets_train_and_test_channels_of_unlabelled_csv():
    channels = jobs.training_channels(settings("kmeans"))
    # K-Means takes no validation channel: the validation split is its `test`, where it
    # computes test:msd; the platform's test split stays for the evaluation job.
    assert [(c["ChannelName"], c["DataSource"]["S3DataSource"]["S3Uri.$"], c["ContentType"])
            for c in channels] == [("train", "$.run.s3.train", "text/csv;label_size=0"),
                                   ("test", "$.run.s3.validation", "text/csv;label_size=0")]
    request = jobs.training_job(settings("kmeans"))
    # The request reads the first state's choice, which defaults to the image's specification.
    assert request["AlgorithmSpecification.$"] == jobs.ALGORITHM_SPECIFICATION
    assert "MetricDefinitions" not in jobs.image_algorithm_specification(settings("kmeans"))
    assert "Environment" not in request


def test_linear_learner_gets_labelled_csv_on_train_and_validation():
    assert [(c["ChannelName"], c["ContentType"])
            for c in jobs.training_channels(settings("linear-learner"))] == [
        ("train", "text/csv"), ("validation", "text/csv")]


def test_the_manifest_must_give_what_the_algorithm_requires():
    with pytest.raises(ManifestError, match="kmeans requires the hyperparameters k"):
        with_builtin("kmeans", "clustering", feature_dim="4").validate()
    with pytest.raises(ManifestError, match="set predictor_type=binary_classifier"):
        with_builtin("linear-learner", "binary_classification",
                     predictor_type="regressor").validate()
    with pytest.raises(ManifestError, match="kmeans trains clustering models, not regression"):
        with_builtin("kmeans", "regression", feature_dim="4", k="3").validate()
    with pytest.raises(ManifestError, match="'validation:auc' is not a metric kmeans reports"):
        with_builtin("kmeans", "clustering", "validation:auc", feature_dim="4",
                     k="3").validate()
    with pytest.raises(ManifestError, match="'svm' is not a built-in algorithm"):
        with_builtin("svm", "clustering").validate()


def test_the_stages_hyperparameters_are_checked_against_the_algorithm():
    manifest = with_builtin("kmeans", "clustering", "test:msd", feature_dim="4", k="3")
    manifest.validate()
    TrainingConfig(algorithm="builtin", hyperparameters={"k": "5"}).validate_for("t", manifest)
    with pytest.raises(ConfigError, match="k must be a positive integer, got '0'"):
        TrainingConfig(algorithm="builtin", hyperparameters={"k": "0"}).validate_for(
            "t", manifest)
    multiclass = with_builtin("linear-learner", "multiclass_classification",
                              predictor_type="multiclass_classifier", num_classes="3")
    multiclass.validate()
    # predictor_type decides the kind of model, as XGBoost's objective: pinned to the manifest's.
    with pytest.raises(ConfigError, match="'binary_classifier' is not what use case 'churn' "
                                          "serves.*'multiclass_classifier', or leave it out"):
        TrainingConfig(algorithm="builtin", hyperparameters={
            "predictor_type": "binary_classifier"}).validate_for("t", multiclass)


def test_tuning_objectives_are_the_algorithms_documented_metrics(monkeypatch):
    manifest = with_builtin("kmeans", "clustering", "test:msd", feature_dim="4", k="3")
    TuningConfig(objective_metric="test:ssd").validate_for("u", manifest, builtin=True)
    with pytest.raises(ConfigError, match="'validation:msd' is not a metric"):
        TuningConfig(objective_metric="validation:msd").validate_for("u", manifest,
                                                                      builtin=True)
    pca = with_builtin("pca", "dimensionality_reduction", feature_dim="4", num_components="2",
                       mini_batch_size="100")
    with pytest.raises(ConfigError, match="reports no metric a tuning job could optimise"):
        TuningConfig(enabled=True).validate_for("u", pca, builtin=True)
    # The objective's direction is the algorithm's (minimise squared distances), not the
    # manifest's own (churn maximises AUC).
    monkeypatch.setattr(UseCaseConfig, "manifest", property(lambda self: manifest))
    use_case = UseCaseConfig(name="churn", training=TrainingConfig(algorithm="builtin"))
    assert use_case.objective == ("test:msd", "Minimize")


def personas(**sections) -> UseCaseConfig:
    return UseCaseConfig(name="personas", training=TrainingConfig(algorithm="builtin"),
                         **sections)


def test_serving_from_the_builtin_container_is_refused_where_it_cannot_answer():
    with pytest.raises(ConfigError, match=r"monitoring\.enabled.*answers its own JSON"):
        personas(serving=ServingConfig(container="builtin")).validate("u")
    with pytest.raises(ConfigError, match=r"serving\.container.*training\.algorithm"):
        UseCaseConfig(name="personas", serving=ServingConfig(container="builtin"),
                      monitoring=MonitoringConfig(enabled=False)).validate("u")
    with pytest.raises(ConfigError, match="serves a xgboost model from the use case's image"):
        UseCaseConfig(name="churn", training=TrainingConfig(algorithm="builtin"),
                      serving=ServingConfig(container="builtin"),
                      monitoring=MonitoringConfig(enabled=False)).validate("u")


def concrete(request: dict, values: dict[str, object]) -> dict:
    """A state's parameters as the service receives them: each `Name.$` path replaced by the
    value the state input holds there (`values`, by path)."""
    out = {}
    for name, value in request.items():
        if name.endswith(".$"):
            out[name[:-2]] = values[value]
        elif isinstance(value, dict):
            out[name] = concrete(value, values)
        elif isinstance(value, list):
            out[name] = [concrete(v, values) if isinstance(v, dict) else v for v in value]
        else:
            out[name] = value
    return out


def test_the_builtin_container_serves_its_own_model_behind_the_use_cases_image():
    """A serial inference pipeline: the use case's image turns the raw rows a client sends
    into the model's features (ML_SERVE_OUTPUT=features), the built-in's container answers."""
    use_case = personas(serving=ServingConfig(container="builtin"),
                        monitoring=MonitoringConfig(enabled=False))
    use_case.validate("u")
    assert use_case.served.content_types == use_case.manifest.serving.content_types
    assert use_case.served.accept_types == ("application/json", "application/jsonlines")
    image = builtin_image_uri("kmeans", "eu-west-1", "1")
    builtin = dataclasses.replace(settings("kmeans"), builtin_serving_image_uri=image)
    values = {"$.model.builtin_artifacts": "s3://artifacts/runs/r/model/km/output/model.tar.gz",
              "$.model.artifacts": "s3://artifacts/runs/r/packaged/model.tar.gz",
              "$.run.job_names.model": "mlplatform-dev-personas-r", "$.run.execution_name": "r"}
    first, second = jobs.inference_containers(builtin)
    assert (first["Image"], first["ModelDataUrl.$"]) == (builtin.image_uri, "$.model.artifacts")
    assert first["Environment"][contract.SERVE_OUTPUT_ENV] == contract.SERVE_FEATURES
    assert second == {"Image": image, "ModelDataUrl.$": "$.model.builtin_artifacts"}
    model = concrete(jobs.model_from_artifacts(builtin), values)
    assert "PrimaryContainer" not in model and len(model["Containers"]) == 2
    assert model["InferenceExecutionConfig"] == {"Mode": "Serial"}
    assert shapes.request_problems("sagemaker", "CreateModel", model) == []
    package = {"ModelPackageGroupName": "g", "InferenceSpecification": {
        "Containers": [concrete(c, values) for c in (first, second)],
        "SupportedContentTypes": list(use_case.served.content_types),
        "SupportedResponseMIMETypes": list(use_case.served.accept_types)}}
    assert shapes.request_problems("sagemaker", "CreateModelPackage", package) == []
    # Our image alone on the repacked bundle otherwise, answering predictions.
    (only,) = jobs.inference_containers(settings("kmeans"))
    assert only["ModelDataUrl.$"] == "$.model.artifacts"
    assert contract.SERVE_OUTPUT_ENV not in only["Environment"]
    assert "PrimaryContainer" in jobs.model_from_artifacts(settings("kmeans"))


def test_a_use_case_synthesized_with_its_builtin_trains_on_records_and_serves_from_it(
        definitions, synthesized):
    """The 'every' variant trains each use case whose built-in has an inference container with
    it and serves from that container behind the use case's image (tests/conftest.py
    BUILTIN_SERVING_ENTRY: personas' K-Means on RecordIO-protobuf; config/stages/pricing.json:
    ames's Linear Learner on CSV): a serial inference pipeline of two containers."""
    every = synthesized[EVERY_USE_CASE]
    served = {u.name: u for u in every.config.use_cases if u.builtin_serving}
    assert {n: u.manifest.image.builtin_training.framework for n, u in served.items()} == {
        "personas": "kmeans", "ames": "linear-learner"}
    for name, use_case in served.items():
        builtin = use_case.manifest.image.builtin_training
        image = builtin_image_uri(builtin.framework, every.config.region, builtin.version)
        states = definitions[EVERY_USE_CASE][f"mlplatform-dev-{name}-training"]["States"]
        environment = states["Preprocess data"]["Parameters"]["Environment"]
        channels = states["Train model"]["Parameters"]["InputDataConfig"]
        assert {(c["ContentType"], c["RecordWrapperType"]) for c in channels} == {
            (builtin.content_type, "None")}
        if name == "personas":
            assert environment[contract.TRAINING_INPUT_FORMAT_ENV] == \
                builtin_algorithms.RECORDIO_PROTOBUF
        model = states["Create model"]["Parameters"]
        assert "PrimaryContainer" not in model
        assert model["InferenceExecutionConfig"] == {"Mode": "Serial"}
        first, second = model["Containers"]
        assert first["ModelDataUrl.$"] == "$.model.artifacts"
        assert first["Environment"][contract.SERVE_OUTPUT_ENV] == contract.SERVE_FEATURES
        assert (second["Image"], second["ModelDataUrl.$"]) == (
            image, "$.model.builtin_artifacts")
        spec = states["Register model package"]["Parameters"]["InferenceSpecification"]
        assert [c["ModelDataUrl.$"] for c in spec["Containers"]] == [
            "$.model.artifacts", "$.model.builtin_artifacts"]
        # Raw rows in, as the use case's image takes them; the built-in's JSON out.
        assert spec["SupportedContentTypes"] == list(use_case.manifest.serving.content_types)
        assert spec["SupportedResponseMIMETypes"] == ["application/json",
                                                      "application/jsonlines"]
        batch = definitions[EVERY_USE_CASE][f"mlplatform-dev-{name}-{BATCH_INFERENCE}"][
            "States"]
        platform = batch["Validate input"]["Parameters"]["platform"]
        assert platform["content_types"] == list(use_case.manifest.serving.content_types)
        assert platform["labels_refusal"].startswith(
            f"the model is served from built-in {builtin.framework}'s own container")
