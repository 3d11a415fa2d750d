"""What the execution role of each job or model needs, from the request that creates it: read its
inputs, write its outputs, use the key (SSE-KMS objects, output keys, kms:CreateGrant for the
volume key), pull its image, write its logs and metrics, and manage its network interfaces in a
VPC (SageMaker's documented execution role permissions for each Create* API)."""

from __future__ import annotations

from tests.contract import authorization as sar
from tests.contract.cfn_render import ACCOUNT
from tests.contract.needs import (
    GRANT_FOR_AWS_RESOURCE,
    PASSED_TO_SAGEMAKER,
    Need,
    s3_bucket_arn,
    s3_object_arn,
    sagemaker_arn,
)

VPC_ACTIONS = ("ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission",
               "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission",
               "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
               "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups")


class JobNeeds:
    """Collects the needs of one execution role for one job."""

    def __init__(self, role: str, why: str, *, region: str, bucket_keys: dict) -> None:
        self.role, self.why, self.region, self.bucket_keys = role, why, region, bucket_keys
        self.needs: list[Need] = []

    def add(self, action: str, resource: str, **context) -> None:
        self.needs.append(Need(self.role, action, resource, self.why, context))

    def _bucket_key(self, uri: str) -> str | None:
        return self.bucket_keys.get(uri.removeprefix("s3://").split("/", 1)[0])

    def reads(self, uri: str) -> None:
        if not s3_object_arn(uri).endswith("/part-00000"):
            self.add("s3:GetObject", s3_object_arn(uri))  # one object: no listing
        else:
            # SageMaker lists the prefix it reads (the s3:prefix a conditioned grant matches).
            prefix = uri.removeprefix("s3://").partition("/")[2]
            self.add("s3:ListBucket", s3_bucket_arn(uri), **{"s3:prefix": prefix})
            self.add("s3:GetObject", s3_object_arn(uri))
        if self._bucket_key(uri):
            self.add("kms:Decrypt", self._bucket_key(uri))

    def writes(self, uri: str, key: str | None) -> None:
        self.add("s3:PutObject", s3_object_arn(uri))
        # SSE-KMS uploads (multipart ones also decrypt the data key).
        for kms_key in {key, self._bucket_key(uri)} - {None}:
            self.add("kms:GenerateDataKey", kms_key)
            self.add("kms:Decrypt", kms_key)

    def volume_key(self, key: str | None) -> None:
        if key:
            self.add("kms:CreateGrant", key, **GRANT_FOR_AWS_RESOURCE)
            self.add("kms:DescribeKey", key)

    def image(self, uri: str) -> None:
        self.add("ecr:GetAuthorizationToken", sar.arn("ecr:GetAuthorizationToken",
                                                       region=self.region))
        registry, _, repository = uri.partition("/")
        if registry.split(".")[0] != ACCOUNT:
            return  # SageMaker's own images (built-in algorithms, Model Monitor)
        repository = repository.split(":")[0].split("@")[0]
        repo_arn = sar.arn("ecr:BatchGetImage", region=registry.split(".")[3],
                           RepositoryName=repository)
        for action in ("BatchGetImage", "GetDownloadUrlForLayer", "BatchCheckLayerAvailability"):
            self.add(f"ecr:{action}", repo_arn)

    def logs(self, group: str, stream_prefix: str) -> None:
        group_name = f"/aws/sagemaker/{group}"
        self.add("logs:CreateLogGroup", sar.arn("logs:CreateLogGroup", region=self.region,
                                                LogGroupName=group_name))
        stream = sar.arn("logs:PutLogEvents", region=self.region, LogGroupName=group_name,
                         LogStreamName=f"{stream_prefix}/algo-1-1700000000")
        self.add("logs:CreateLogStream", stream)
        self.add("logs:PutLogEvents", stream)
        self.add("cloudwatch:PutMetricData", "*", **{"cloudwatch:namespace": group_name})

    def vpc(self, config: dict | None) -> None:
        if config:
            for action in VPC_ACTIONS:
                self.add(action, "*")


def _inputs(request: dict, operation: str) -> list[str]:
    if operation == "createProcessingJob":
        return [i["S3Input"]["S3Uri"] for i in request.get("ProcessingInputs", [])]
    if operation == "createTransformJob":
        return [request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]]
    return [c["DataSource"]["S3DataSource"]["S3Uri"] for c in request.get("InputDataConfig", [])]


def job_needs(task, *, region: str, bucket_keys: dict, models: dict[str, dict],
              packages: list[dict]) -> list[Need]:
    """The execution role's needs for a `.sync` job or a CreateModel / CreateEndpointConfig
    request (`models`: CreateModel requests by name; `packages`: the containers the training
    pipeline registers, which models made from a package run)."""
    request, operation = task.request, task.operation
    why = f"{task.state_machine}: {task.state} (execution role)"
    if operation == "createHyperParameterTuningJob":
        definition = request["TrainingJobDefinition"]
        return _training(definition, request["HyperParameterTuningJobName"], why, region,
                         bucket_keys)
    if operation == "createTrainingJob":
        return _training(request, request["TrainingJobName"], why, region, bucket_keys)
    if operation == "createProcessingJob":
        job = JobNeeds(request["RoleArn"], why, region=region, bucket_keys=bucket_keys)
        for uri in _inputs(request, operation):
            job.reads(uri)
        output = request["ProcessingOutputConfig"]
        for item in output["Outputs"]:
            job.writes(item["S3Output"]["S3Uri"], output.get("KmsKeyId"))
        job.volume_key(request["ProcessingResources"]["ClusterConfig"].get("VolumeKmsKeyId"))
        job.image(request["AppSpecification"]["ImageUri"])
        job.logs("ProcessingJobs", request["ProcessingJobName"])
        job.vpc(request.get("NetworkConfig", {}).get("VpcConfig"))
        return job.needs
    if operation == "createTransformJob":
        model = models[request["ModelName"]]
        job = JobNeeds(model["ExecutionRoleArn"], why, region=region, bucket_keys=bucket_keys)
        for uri in _inputs(request, operation):
            job.reads(uri)
        job.writes(request["TransformOutput"]["S3OutputPath"],
                   request["TransformOutput"].get("KmsKeyId"))
        job.volume_key(request["TransformResources"].get("VolumeKmsKeyId"))
        job.logs("TransformJobs", request["TransformJobName"])
        return job.needs
    if operation == "createModel":
        return _model(request, why, region, bucket_keys, packages)
    if operation == "createEndpointConfig":
        return _endpoint_config(request, why, region, bucket_keys, models)
    if operation == "createAutoMLJobV2":
        return _automl(request, why, region, bucket_keys)
    return []


def _model(request: dict, why: str, region: str, bucket_keys: dict,
           packages: list[dict]) -> list[Need]:
    job = JobNeeds(request["ExecutionRoleArn"], why, region=region, bucket_keys=bucket_keys)
    # An AutoML candidate's model is a serial pipeline of its containers.
    containers = [request["PrimaryContainer"]] if "PrimaryContainer" in request \
        else list(request["Containers"])
    if "ModelPackageName" in containers[0]:
        containers = packages
    for container in containers:
        job.reads(container["ModelDataUrl"])
        job.image(container["Image"])
    job.vpc(request.get("VpcConfig"))
    return job.needs


def _automl(request: dict, why: str, region: str, bucket_keys: dict) -> list[Need]:
    """The AutoML job's role: it reads the channels, writes the output, encrypts volumes with
    the key, runs in the VPC, and creates and passes itself to the jobs Autopilot runs."""
    job = JobNeeds(request["RoleArn"], why, region=region, bucket_keys=bucket_keys)
    for channel in request["AutoMLJobInputDataConfig"]:
        job.reads(channel["DataSource"]["S3DataSource"]["S3Uri"])
    output = request["OutputDataConfig"]
    job.writes(output["S3OutputPath"], output.get("KmsKeyId"))
    security = request.get("SecurityConfig") or {}
    job.volume_key(security.get("VolumeKmsKeyId"))
    job.vpc(security.get("VpcConfig"))
    name = request["AutoMLJobName"]
    for noun, resource in (("ProcessingJob", "processing-job"), ("TrainingJob", "training-job"),
                           ("TransformJob", "transform-job")):
        # Autopilot names them after the AutoML job ("<job name>-<step>-...").
        arn = sagemaker_arn(resource, f"{name}-dpp0-1", region=region)
        for verb in ("Create", "Describe", "Stop"):
            job.add(f"sagemaker:{verb}{noun}", arn)
    job.add("iam:PassRole", request["RoleArn"], **PASSED_TO_SAGEMAKER)
    return job.needs


def _training(definition: dict, name: str, why: str, region: str, bucket_keys: dict
              ) -> list[Need]:
    job = JobNeeds(definition["RoleArn"], why, region=region, bucket_keys=bucket_keys)
    for uri in _inputs(definition, "createTrainingJob"):
        job.reads(uri)
    key = definition["OutputDataConfig"].get("KmsKeyId")
    job.writes(definition["OutputDataConfig"]["S3OutputPath"], key)
    if "CheckpointConfig" in definition:
        job.reads(definition["CheckpointConfig"]["S3Uri"])
        job.writes(definition["CheckpointConfig"]["S3Uri"], None)
    if "ProfilerConfig" in definition:
        job.writes(definition["ProfilerConfig"]["S3OutputPath"], None)
    job.volume_key(definition["ResourceConfig"].get("VolumeKmsKeyId"))
    # An algorithm resource (AlgorithmName) is the account's or a Marketplace seller's: its
    # image is SageMaker's to pull, not the role's.
    if "TrainingImage" in definition["AlgorithmSpecification"]:
        job.image(definition["AlgorithmSpecification"]["TrainingImage"])
    job.logs("TrainingJobs", name)
    job.vpc(definition.get("VpcConfig"))
    return job.needs


def _endpoint_config(request: dict, why: str, region: str, bucket_keys: dict,
                     models: dict) -> list[Need]:
    needs = []
    capture = request.get("DataCaptureConfig")
    for variant in request.get("ProductionVariants", []):
        model = models.get(variant["ModelName"])
        if model is None or capture is None:
            continue
        job = JobNeeds(model["ExecutionRoleArn"], why, region=region, bucket_keys=bucket_keys)
        job.writes(capture["DestinationS3Uri"], capture.get("KmsKeyId"))
        needs += job.needs
    return needs


def monitoring_needs(definition: dict, why: str, *, region: str, bucket_keys: dict,
                     capture_uris: list[str]) -> list[Need]:
    """A Model Monitor job definition (CfnDataQualityJobDefinition/CfnModelQualityJobDefinition
    properties): what its monitoring jobs, running as its role, read and write."""
    kind = "DataQuality" if "DataQualityAppSpecification" in definition else "ModelQuality"
    job = JobNeeds(definition["RoleArn"], why, region=region, bucket_keys=bucket_keys)
    app = definition[f"{kind}AppSpecification"]
    for uri in capture_uris:
        job.reads(uri)
    for name in ("RecordPreprocessorSourceUri", "PostAnalyticsProcessorSourceUri"):
        if name in app:
            job.reads(app[name])
    baseline = definition.get(f"{kind}BaselineConfig", {})
    for resource in ("ConstraintsResource", "StatisticsResource"):
        if resource in baseline:
            job.reads(baseline[resource]["S3Uri"])
    ground_truth = definition[f"{kind}JobInput"].get("GroundTruthS3Input")
    if ground_truth:
        job.reads(ground_truth["S3Uri"])
    output = definition[f"{kind}JobOutputConfig"]
    for item in output["MonitoringOutputs"]:
        job.writes(item["S3Output"]["S3Uri"], output.get("KmsKeyId"))
    job.volume_key(definition["JobResources"]["ClusterConfig"].get("VolumeKmsKeyId"))
    job.image(app["ImageUri"])
    job.logs("ProcessingJobs", "monitoring")
    job.vpc(definition.get("NetworkConfig", {}).get("VpcConfig"))
    return job.needs
