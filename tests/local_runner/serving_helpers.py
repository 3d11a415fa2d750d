"""Helpers for the local deployment tests: child processes, the held-out requests, what an
endpoint serves and what a model package's model predicts."""

from __future__ import annotations

import csv
import io
import tarfile
import time
from pathlib import Path

import boto3
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
# The held-out customers in the training data's layout (header, customer_id, features).
HOLDOUT = ROOT / "runtime_scripts/use_cases/churn/sample_data/local_run/holdout.csv"
ENDPOINT = "mlplatform-dev-churn"
ROWS = 40  # held-out rows sent per request

PREEXISTING: set[str] = set()


def children() -> set[str]:
    """This process's live child processes (model servers; jobs end with their state)."""
    found: set[str] = set()
    for listing in Path("/proc/self/task").glob("*/children"):
        found |= set(listing.read_text().split())
    return found - PREEXISTING


def wait_for_state(platform, execution_arn: str, state: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        history = platform.clients.sfn.get_execution_history(executionArn=execution_arn,
                                                             maxResults=1000)["events"]
        if any(e.get("stateEnteredEventDetails", {}).get("name") == state for e in history):
            return
        time.sleep(0.05)
    raise AssertionError(f"{execution_arn} never entered {state!r}")


def holdout() -> tuple[list[list[str]], bytes]:
    """The first ROWS held-out customers as feature rows (request order), and as a CSV body."""
    from runtime_scripts.common.tabular.dataset import DatasetSpec
    from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN

    features = DatasetSpec.load(CHURN.path(CHURN.dataset_spec)).feature_names
    records = list(csv.DictReader(HOLDOUT.open()))[:ROWS]
    rows = [[record[name] for name in features] for record in records]
    return rows, "".join(",".join(r) + "\n" for r in rows).encode()


def what_is_served(platform) -> tuple[np.ndarray, str]:
    """(churn probabilities the endpoint answers for the held-out rows, the config serving)."""
    _, body = holdout()
    answer = platform.sagemaker.invoke_endpoint(ENDPOINT, body, "text/csv", "text/csv")
    rows = list(csv.reader(io.StringIO(answer.body.decode())))
    return np.array([float(r[0]) for r in rows]), answer.endpoint_config


def model_predictions(platform, package_arn: str, tmp_path: Path) -> np.ndarray:
    """What the package's model predicts, computed here without the server: its artefact from
    S3, the evaluation path's loader and transform (runtime_scripts/common/model_bundle.py)."""
    import xgboost

    from runtime_scripts.common.model_bundle import load_bundle

    package = platform.sagemaker.call("describeModelPackage", {"ModelPackageName": package_arn})
    url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    bucket, _, key = url[5:].partition("/")
    archive = platform.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    folder = tmp_path / package_arn.rsplit("/", 1)[-1]
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    bundle = load_bundle(folder)
    rows, _ = holdout()
    frame = pd.DataFrame(rows, columns=bundle.transform.input_columns)
    return bundle.booster.predict(xgboost.DMatrix(bundle.transform.transform_frame(frame)))


def served_package(platform, endpoint_config: str) -> str:
    """The model package behind an endpoint config: config -> model -> package."""
    config = platform.sagemaker.call("describeEndpointConfig",
                                     {"EndpointConfigName": endpoint_config})
    model = platform.sagemaker.state.models[config["ProductionVariants"][0]["ModelName"]]
    return model["PrimaryContainer"]["ModelPackageName"]


def observe_shifts(platform, requests: int = 4) -> list[tuple[float, list[str]]]:
    """During each traffic shift's baking period: which endpoint config answers `requests`."""
    seen: list[tuple[float, list[str]]] = []
    _, body = holdout()

    def observe(endpoint: str, share: float) -> None:
        seen.append((share, [platform.sagemaker.invoke_endpoint(endpoint, body).endpoint_config
                             for _ in range(requests)]))

    platform.sagemaker.endpoints.on_shift = observe
    return seen


def scalable_targets(platform) -> list[dict]:
    return boto3.client("application-autoscaling", region_name=platform.region) \
        .describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
