"""Registering a trained model as a version of its use case's model package group: the one
CreateModelPackage request of the pipelines that register (training; cross-validation with
`final_model`), and the metadata it records of the run that produced the model."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ml_constructs import sagemaker_jobs as jobs
from runtime_scripts.common.manifest import Serving


def run_metadata(settings: jobs.JobSettings) -> dict:
    """CustomerMetadataProperties of the run whose `$.run` and `$.model` the state holds."""
    return {
        "execution.$": "$.run.execution_name",
        # The run's folder (its baseline, evaluation, ...), for the deployment.
        "run.$": "$.run.prefix",
        "training_job.$": "$.model.training_job_name",
        "data.$": "$.run.s3.preprocessing_input",
        # The conditions it passed; their values are in the ModelQuality document.
        "quality_gate.$": "$.quality_gate.summary",
        # Its MLflow runs: named after the training job, tagged ml.execution.
        **({"tracking_server": settings.tracking_server_arn}
           if settings.tracking_server_arn else {}),
    }


def register_model_package_state(scope: Construct, state_id: str, *,
                                 settings: jobs.JobSettings, serving: Serving,
                                 group_name: str,
                                 customer_metadata: dict | str,
                                 inference_specification: dict | None = None,
                                 ) -> tasks.CallAwsService:
    """CreateModelPackage of `$.model.artifacts` in `group_name`, its ModelQuality statistics
    the JSON document at `$.run.s3.evaluation_bucket` / `evaluation_key`, described and approved
    as `$.registry` says; `customer_metadata` a map of fields, or a JsonPath token that gives
    one (e.g. `sfn.JsonPath.json_merge`); `inference_specification` replaces the use case's
    image and artefacts (an AutoML candidate's containers). The package's ARN to
    `$.registered.arn`."""
    stack = cdk.Stack.of(scope)
    return tasks.CallAwsService(
        scope, state_id,
        service="sagemaker", action="createModelPackage",
        parameters={
            "ModelPackageGroupName": group_name,
            "ModelPackageDescription.$": "$.registry.description",
            "ModelApprovalStatus.$": "$.registry.approval_status",
            "InferenceSpecification": inference_specification or {
                "Containers": jobs.inference_containers(settings),
                "SupportedContentTypes": list(serving.content_types),
                "SupportedResponseMIMETypes": list(serving.accept_types),
            },
            "ModelMetrics": {"ModelQuality": {"Statistics": {
                "ContentType": "application/json",
                "S3Uri.$": "States.Format('s3://{}/{}', $.run.s3.evaluation_bucket, "
                           "$.run.s3.evaluation_key)",
            }}},
            "MetadataProperties": {"CommitId": settings.git_commit,
                                   "GeneratedBy.$": "$$.Execution.Id"},
            "CustomerMetadataProperties": customer_metadata,
        },
        iam_resources=[
            stack.format_arn(service="sagemaker", resource="model-package",
                             resource_name=f"{group_name}/*"),
            stack.format_arn(service="sagemaker", resource="model-package-group",
                             resource_name=group_name)],
        result_selector={"arn.$": "$.ModelPackageArn"},
        result_path="$.registered",
    )
