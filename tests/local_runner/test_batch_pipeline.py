"""The synthesized batch inference state machine, executed locally against the real server."""

from __future__ import annotations

import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOLDOUT = ROOT / "sample_data" / "churn" / "local_run"


def _predictions(platform, output_uri: str) -> list[list[str]]:
    bucket, _, prefix = output_uri[5:].partition("/")
    keys = [o["Key"] for o in platform.clients.s3.list_objects_v2(
        Bucket=bucket, Prefix=prefix)["Contents"]]
    assert keys == [prefix + "holdout_features.csv.out"]
    body = platform.clients.s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read().decode()
    return list(csv.reader(body.splitlines()))


def test_batch_uses_the_latest_approved_package_by_default(platform, trained):
    assert trained.status == "SUCCEEDED"
    result = platform.run("batch-inference", {}, name="batch-latest")
    assert result.status == "SUCCEEDED", result.cause
    assert "Find latest approved model package" in result.path
    latest = platform.sagemaker.call("listModelPackages", {
        "ModelPackageGroupName": "mlplatform-dev-churn", "ModelApprovalStatus": "Approved",
        "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 1,
    })["ModelPackageSummaryList"][0]["ModelPackageArn"]
    assert result.output["package"]["arn"] == latest
    rows = _predictions(platform, result.output["run"]["s3"]["output"])
    labels = [r["churn"] for r in csv.DictReader((HOLDOUT / "holdout_labels.csv").open())]
    assert len(rows) == len(labels) == 500
    accuracy = sum((row[-1] == label) for row, label in zip(rows, labels, strict=True)) / 500
    assert accuracy > 0.9


def test_batch_with_an_explicit_package_and_output_joined_to_input(platform, trained):
    arn = trained.output["registered"]["arn"]
    result = platform.run("batch-inference", {"model_package_arn": arn,
                                              "data": {"join_source": "Input"}},
                          name="batch-explicit")
    assert result.status == "SUCCEEDED", result.cause
    assert "Use requested model package" in result.path
    assert "Find latest approved model package" not in result.path
    assert result.output["package"]["arn"] == arn
    rows = _predictions(platform, result.output["run"]["s3"]["output"])
    first_input = next(csv.reader((HOLDOUT / "holdout_features.csv").open()))
    assert rows[0][:len(first_input)] == first_input  # input columns, then the prediction
    assert len(rows[0]) == len(first_input) + 2
