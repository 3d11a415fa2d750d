"""What one Task's request needs from IAM: of the state machine's role (the caller), and of the
execution role of the job or model it creates. Each need is one (principal, action, resource,
condition context) request for the evaluator, with the reason it is needed.

Sources: the Service Authorization Reference (which resource each action is authorized on,
authorization.py); Step Functions' documented policies for its optimized integrations (`.sync`
SageMaker jobs: create, describe, stop and the `StepFunctionsGetEventsFor...` managed rule;
Glue job runs); SageMaker's execution role permissions (read inputs, write outputs, the key,
the image, logs and metrics; kms:CreateGrant for a volume key) and S3's for SSE-KMS objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.contract import authorization as sar
from tests.contract.cfn_render import ACCOUNT

PASSED_TO_SAGEMAKER = {"iam:PassedToService": "sagemaker.amazonaws.com"}
GRANT_FOR_AWS_RESOURCE = {"kms:GrantIsForAWSResource": "true"}
# `.sync` SageMaker jobs: the name field, the ARN resource type, the managed rule, the log group.
SYNC_JOBS = {
    "createProcessingJob": ("ProcessingJobName", "processing-job", "ProcessingJob",
                            "SageMakerProcessingJobsRule", "ProcessingJobs"),
    "createTrainingJob": ("TrainingJobName", "training-job", "TrainingJob",
                          "SageMakerTrainingJobsRule", "TrainingJobs"),
    "createHyperParameterTuningJob": ("HyperParameterTuningJobName",
                                      "hyper-parameter-tuning-job", "HyperParameterTuningJob",
                                      "SageMakerTuningJobsRule", "TrainingJobs"),
    "createTransformJob": ("TransformJobName", "transform-job", "TransformJob",
                           "SageMakerTransformJobsRule", "TransformJobs"),
}
# aws-sdk SageMaker calls: the request field that names the resource, and its resource type.
SDK_NAMES = {
    "createModel": ("ModelName", "model"), "describeTrainingJob": ("TrainingJobName",
                                                                   "training-job"),
    "createModelPackage": ("ModelPackageGroupName", "model-package-group"),
    "describeModelPackage": ("ModelPackageName", "model-package"),
    "listModelPackages": (None, "model-package"),
    "createEndpointConfig": ("EndpointConfigName", "endpoint-config"),
    "createEndpoint": ("EndpointName", "endpoint"), "updateEndpoint": ("EndpointName", "endpoint"),
    "describeEndpoint": ("EndpointName", "endpoint"),
    "createMonitoringSchedule": ("MonitoringScheduleName", "monitoring-schedule"),
    "updateMonitoringSchedule": ("MonitoringScheduleName", "monitoring-schedule"),
    "listMonitoringSchedules": (None, None),
    "createAutoMLJobV2": ("AutoMLJobName", "automl-job"),
    "describeAutoMLJobV2": ("AutoMLJobName", "automl-job"),
}


@dataclass(frozen=True)
class Need:
    principal: str
    action: str
    resource: str
    why: str
    context: dict = field(default_factory=dict, hash=False)


def _cap(operation: str) -> str:
    return operation[0].upper() + operation[1:]


def sagemaker_arn(resource_type: str, name: str | None, *, region: str) -> str:
    """A SageMaker ARN as SageMaker writes it: names are lower-cased in ARNs."""
    template = sar.arn("sagemaker:AddTags", resource_type, region=region)
    return template.replace("*", name.lower()) if name else template


def s3_object_arn(uri: str) -> str:
    """The ARN of an object a job reads or writes at `uri` (an object, or a prefix of them)."""
    bucket_and_key = uri.removeprefix("s3://")
    last = bucket_and_key.rsplit("/", 1)[-1]
    if "." in last:  # an object: model.tar.gz, constraints.json
        return f"arn:aws:s3:::{bucket_and_key}"
    return f"arn:aws:s3:::{bucket_and_key.rstrip('/')}/part-00000"


def s3_bucket_arn(uri: str) -> str:
    return f"arn:aws:s3:::{uri.removeprefix('s3://').split('/', 1)[0]}"


# --- callers --------------------------------------------------------------------------------------
def caller_needs(task, role: str, *, region: str, topic_keys: dict, bucket_keys: dict
                 ) -> list[Need]:
    why = f"{task.state_machine}: {task.state} ({task.service}:{task.operation})"
    request, needs = task.request, []

    def need(action: str, resource: str, **context) -> None:
        needs.append(Need(role, action, resource, why, context))

    if task.integration == "lambda":
        need("lambda:InvokeFunction", task.resource)
    elif task.service == "sns":
        need("sns:Publish", request["TopicArn"])
        key = topic_keys.get(request["TopicArn"])
        if key:  # publishing to an encrypted topic (SNS's documented publisher permissions)
            need("kms:GenerateDataKey", key)
            need("kms:Decrypt", key)
    elif task.service == "sagemaker" and task.integration == "sync":
        _sync_job(task, need, region)
    elif task.service == "sagemaker":
        _sdk_call(task, need, region)
    elif task.service == "glue":
        job = sar.arn("glue:StartJobRun", region=region, JobName=request["JobName"])
        for action in ("StartJobRun", "GetJobRun", "GetJobRuns", "BatchStopJobRun"):
            need(f"glue:{action}", job)
    elif task.service == "s3":
        _s3_call(task, need, bucket_keys)
    elif task.service == "sfn" or task.service == "states":
        action = {"listExecutions": "ListExecutions", "startExecution": "StartExecution"}[
            task.operation]
        need(f"states:{action}", request["StateMachineArn"])
    elif task.service in SERVICE_CALLS:
        SERVICE_CALLS[task.service](task, need, region)
    else:
        raise ValueError(f"{why}: no permission model for this integration")
    return needs


def _cloudwatch(task, need, region: str) -> None:
    """PutMetricData authorizes no resource; its condition key is the namespace."""
    if task.operation != "putMetricData":
        raise ValueError(f"{task.state}: no permission model for cloudwatch:{task.operation}")
    need("cloudwatch:PutMetricData", "*",
         **{"cloudwatch:namespace": task.request["Namespace"]})


def _sync_job(task, need, region: str) -> None:
    name_field, resource_type, noun, rule, _ = SYNC_JOBS[task.operation]
    job = sagemaker_arn(resource_type, task.request[name_field], region=region)
    for verb in ("Create", "Describe", "Stop"):
        need(f"sagemaker:{verb}{noun}", job)
    if task.operation == "createHyperParameterTuningJob":
        need("sagemaker:ListTrainingJobsForHyperParameterTuningJob", job)
    if task.request.get("Tags"):
        need("sagemaker:AddTags", job)
    managed_rule = sar.arn("events:PutRule", "rule-on-default-event-bus", region=region,
                           RuleName=f"StepFunctionsGetEventsFor{rule}")
    for action in ("PutTargets", "PutRule", "DescribeRule"):
        need(f"events:{action}", managed_rule)
    for role_arn in _role_arns(task.request):
        need("iam:PassRole", role_arn, **PASSED_TO_SAGEMAKER)


def _sdk_call(task, need, region: str) -> None:
    action = f"sagemaker:{_cap(task.operation)}"
    name_field, resource_type = SDK_NAMES[task.operation]
    if resource_type is None:
        need(action, sar.arn(action, region=region))
        return
    name = task.request.get(name_field) if name_field else None
    if resource_type == "model-package" and name and name.startswith("arn:"):
        resource = name
    else:
        resource = sagemaker_arn(resource_type, name, region=region)
    sar.arn(action, resource_type, region=region)  # the reference lists it on this type
    need(action, resource)
    if task.request.get("Tags"):
        need("sagemaker:AddTags", resource)
    if task.operation == "createModelPackage":
        package = sagemaker_arn("model-package", f"{name}/1", region=region)
        need(action, package)
    for role_arn in _role_arns(task.request):
        need("iam:PassRole", role_arn, **PASSED_TO_SAGEMAKER)
    if task.operation == "createEndpointConfig" and task.request.get("KmsKeyId"):
        # The caller's key permissions for the endpoint's volumes (what SageMaker documents
        # for CreateEndpointConfig's KmsKeyId: the key policy must allow the calling role).
        need("kms:CreateGrant", task.request["KmsKeyId"], **GRANT_FOR_AWS_RESOURCE)
        need("kms:DescribeKey", task.request["KmsKeyId"])


def _s3_call(task, need, bucket_keys: dict) -> None:
    request = task.request
    bucket = request["Bucket"]
    if task.operation == "listObjectsV2":  # one prefix's listing (the backtest's data check)
        need("s3:ListBucket", f"arn:aws:s3:::{bucket}", **{"s3:prefix": request.get("Prefix", "")})
        return
    target = f"arn:aws:s3:::{bucket}/{request['Key']}"
    if task.operation == "getObject":
        need("s3:GetObject", target)
        if bucket_keys.get(bucket):
            need("kms:Decrypt", bucket_keys[bucket])
    elif task.operation == "putObject":  # a distributed Map's ResultWriter (SSE-KMS)
        need("s3:PutObject", target)
        if bucket_keys.get(bucket):
            need("kms:GenerateDataKey", bucket_keys[bucket])
    elif task.operation == "copyObject":
        source_bucket = request["CopySource"].split("/", 1)[0]
        need("s3:GetObject", f"arn:aws:s3:::{request['CopySource']}")
        need("s3:PutObject", target)
        if bucket_keys.get(source_bucket):
            need("kms:Decrypt", bucket_keys[source_bucket])
        if bucket_keys.get(bucket):
            need("kms:GenerateDataKey", bucket_keys[bucket])
    else:
        raise ValueError(f"no permission model for s3:{task.operation}")


def _autoscaling(task, need, region: str) -> None:
    action = f"application-autoscaling:{_cap(task.operation)}"
    need(action, sar.arn(action, region=region))
    if task.operation == "registerScalableTarget":
        # What Application Auto Scaling checks its caller may do for a SageMaker variant.
        endpoint = task.request["ResourceId"].split("/")[1]
        endpoint_arn = sagemaker_arn("endpoint", endpoint, region=region)
        for verb in ("DescribeEndpoint", "UpdateEndpointWeightsAndCapacities"):
            need(f"sagemaker:{verb}", endpoint_arn)
        need("iam:CreateServiceLinkedRole",
             f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/"
             "sagemaker.application-autoscaling.amazonaws.com/"
             "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
             **{"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"})


def _role_arns(request) -> list[str]:
    """Every role ARN a request passes (RoleArn, ExecutionRoleArn), at any depth."""
    found = []
    if isinstance(request, dict):
        for key, value in request.items():
            if key in ("RoleArn", "ExecutionRoleArn") and isinstance(value, str):
                found.append(value)
            else:
                found += _role_arns(value)
    elif isinstance(request, list):
        for item in request:
            found += _role_arns(item)
    return found


# The services whose calls a helper of their own models: (task, need, region).
SERVICE_CALLS = {"applicationautoscaling": _autoscaling, "cloudwatch": _cloudwatch}
