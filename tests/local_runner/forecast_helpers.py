"""Helpers for the local forecast tests (test_batch_forecasts.py): a stage's resources of a type,
a model of the forecasting use case's own jobs, a model package registered Approved, and a
model with a known-future covariate."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from runtime_scripts import contract
from runtime_scripts.common.manifest import USE_CASE_ENV
from runtime_scripts.use_cases import testing

ARTIFACTS = "ArtifactsBucketName"  # the storage stack's output


def resources(stage, type_name: str) -> dict:
    found = {}
    for template in stage.templates:
        for logical_id, resource in json.loads(template.read_text())["Resources"].items():
            if resource["Type"] == type_name:
                found[logical_id] = resource["Properties"]
    return found


def trained_model(folder: Path, history: Path, manifest, hyperparameters: dict) -> Path:
    """model.tar.gz of the use case's preprocessing and training jobs on `history`."""
    root = folder / "jobs"
    raw = contract.MlPaths(root).processing_input(contract.PROCESSING_INPUT_RAW)
    raw.mkdir(parents=True)
    (raw / history.name).symlink_to(history)
    testing.ok(testing.run_entry("process", "preprocess", root=root, use_case=manifest.name))
    testing.stage_training(root, root, {**manifest.hyperparameters, **hyperparameters})
    testing.ok(testing.run_entry("train", root=root, use_case=manifest.name))
    return testing.make_model_archive(contract.MlPaths(root).model, folder / "model") \
        / "model.tar.gz"


def register_approved(platform, manifest, key: str) -> str:
    """A model package of the artefact at `key` of the artifacts bucket, Approved: its ARN."""
    return platform.sagemaker.call("createModelPackage", {
        "ModelPackageGroupName": f"mlplatform-dev-{manifest.name}",
        "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {"Containers": [{
            "Image": "local", "ModelDataUrl": f"s3://{platform.account.output(ARTIFACTS)}/{key}",
            "Environment": {USE_CASE_ENV: manifest.name, "PYTHONUNBUFFERED": "1"}}],
            "SupportedContentTypes": list(manifest.serving.content_types),
            "SupportedResponseMIMETypes": list(manifest.serving.accept_types)}})[
        "ModelPackageArn"]


def covariate_model(manifest, history: Path, covariate: str, folder: Path) -> Path:
    """model.tar.gz of a model (the seasonal naive, selectable by the hyperparameter `model`)
    of the sales in `history` with `covariate`, one of their columns, as a known-future
    covariate: the use case's own spec, panel and bundle, saved as its training job saves a
    model without trees (train.py). What it serves is the spec's contract: a request must give
    the covariate for every forecast period."""
    from runtime_scripts.use_cases.demand.bundle import Forecaster
    from runtime_scripts.use_cases.demand.series import build_panel
    from runtime_scripts.use_cases.demand.spec import ForecastSpec

    spec = ForecastSpec.from_json({**json.loads(manifest.path(manifest.dataset_spec).read_text()),
                                   "covariates": {covariate: "mean"}})
    frame = build_panel(pd.read_csv(history), spec).frame
    info = {"hyperparameters": {"model": "seasonal_naive"}, "horizon": spec.horizon,
            "series": sorted(frame["series"].unique()),
            "trained_end": f"{frame['timestamp'].max():%Y-%m-%d}"}
    Forecaster("seasonal_naive", spec, frame, info).save(folder / "model")
    return testing.make_model_archive(folder / "model", folder / "archive") / "model.tar.gz"
