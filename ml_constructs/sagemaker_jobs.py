"""SageMaker request shapes for Step Functions tasks, written once and used by every pipeline.

Each function returns the `Parameters` of a task state (JSONPath flavour): static values from the
stage's deploy-time settings, `.$` paths into the state that the first state (input validation)
resolved. Field names follow the SageMaker API reference for CreateProcessingJob,
CreateTrainingJob, CreateHyperParameterTuningJob and CreateTransformJob.

Paths used here, all produced by `runtime_scripts/pipeline_input` and documented in
docs/pipeline-inputs.md and docs/serving.md: `$.run.*` (names and S3 locations), `$.processing.*`,
`$.training.*`, `$.tuning.*`, `$.transform.*`, `$.data.*`, and for the deployment pipeline
`$.endpoint.*`, `$.data_capture.*`, `$.deployment.*`, `$.autoscaling.*`, `$.baseline_source.*`.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime_scripts import contract
from runtime_scripts.common import builtin_algorithms
from runtime_scripts.common.manifest import USE_CASE_ENV

OPT_ML = contract.DEFAULT_ML_ROOT


@dataclass(frozen=True)
class JobSettings:
    """What every job request needs from the deploy: role, images, KMS key, network, lineage.

    `image_uri` is the runtime scripts' image (processing, models, registry, batch transform);
    `training_image_uri` the image of training and tuning jobs: the same one, or SageMaker's
    built-in algorithm when `builtin_training` (ml_constructs/runtime_image.py)."""

    role_arn: str
    image_uri: str
    training_image_uri: str
    builtin_training: bool  # True: training_image_uri is a SageMaker built-in algorithm
    kms_key_id: str
    git_commit: str
    use_case: str  # the use case whose image this is: ML_USE_CASE of every job it runs
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    # The "#metrics" names its training script logs (the manifest's training_metrics): the
    # MetricDefinitions of its training and tuning jobs in script mode.
    training_metrics: tuple[str, ...] = ()
    # The stage's MLflow tracking server (ml_constructs/experiment_tracking.py), if any.
    tracking_server_arn: str | None = None
    # The stage's cost allocation tags and the use case's (the stack's resources carry them
    # through CDK; jobs the state machines create get them in their requests).
    tags: tuple[tuple[str, str], ...] = ()
    # The built-in algorithm training_image_uri runs when `builtin_training` (its SDK name in
    # runtime_scripts/common/builtin_algorithms.py): its channels and content type.
    builtin_algorithm: str | None = None
    # Its channels' ContentType (the manifest's BuiltinAlgorithm.content_type): preprocessing
    # writes the training splits in that format.
    builtin_content_type: str | None = None
    # SageMaker Autopilot trains instead of the image (ml_constructs/automl_branch.py).
    automl_training: bool = False
    # The built-in algorithm's own inference image when it serves the model (serving.container
    # "builtin"); None: our image serves the repacked bundle.
    builtin_serving_image_uri: str | None = None

    @property
    def environment(self) -> dict[str, str]:
        """What every container of our image gets: the use case it runs for (the image's
        Dockerfile sets the same), and unbuffered output so log lines reach CloudWatch (and
        the metric regexes) as printed."""
        return {USE_CASE_ENV: self.use_case, "PYTHONUNBUFFERED": "1"}

    @property
    def job_environment(self) -> dict[str, str]:
        """What our processing, training and tuning jobs get besides: the execution they run
        for, and the tracking server their runs go to (runtime_scripts/common/tracking.py)."""
        tracking = {contract.TRACKING_URI_ENV: self.tracking_server_arn} \
            if self.tracking_server_arn else {}
        return {**self.environment, f"{contract.EXECUTION_ENV}.$": "$.run.execution_name",
                **tracking, **self._training_format}

    @property
    def _training_format(self) -> dict[str, str]:
        """Preprocessing's cue to write the built-in algorithm's RecordIO-protobuf input."""
        recordio = self.builtin_training and self.builtin_content_type == \
            builtin_algorithms.RECORDIO_PROTOBUF
        return {contract.TRAINING_INPUT_FORMAT_ENV: builtin_algorithms.RECORDIO_PROTOBUF} \
            if recordio else {}

    @property
    def network_isolation(self) -> bool:
        """Whether our jobs' containers run network-isolated. SageMaker documents that an
        isolated container makes no outbound call at all (no AWS credentials either): a job
        logging to a tracking server cannot be one. Its VPC (network.isolate) still confines
        it to the VPC's endpoints."""
        return self.tracking_server_arn is None

    @property
    def vpc_config(self) -> dict | None:
        if not self.subnet_ids:
            return None
        return {"SecurityGroupIds": list(self.security_group_ids), "Subnets": list(self.subnet_ids)}


def volume_key_platform(settings: JobSettings) -> dict[str, str]:
    """What the first state needs to give each job's instances the stage key on their volumes
    (`platform.volume_kms_key`, runtime_scripts/pipeline_input/volumes.py): the instance type
    is the execution's, and SageMaker refuses the key for a type with local storage."""
    return {"volume_kms_key": settings.kms_key_id}


def lineage_tags(settings: JobSettings, data_path: str) -> list[dict]:
    """Tags that let a job be traced back to the app version, the data and the execution, and
    be counted to its project, stage, cost centre, owner and use case."""
    return [
        *({"Key": key, "Value": value} for key, value in settings.tags),
        {"Key": "git-commit", "Value": settings.git_commit},
        {"Key": "execution", "Value.$": "$.run.execution_name"},
        {"Key": "data", "Value.$": data_path},
    ]


def _with_network(params: dict, settings: JobSettings, *, isolate_container: bool) -> dict:
    if settings.vpc_config:
        params["VpcConfig"] = settings.vpc_config
    if isolate_container:
        params["EnableNetworkIsolation"] = True
    return params


# --- processing -----------------------------------------------------------------------------------
def processing_input(name: str, s3_uri_path: str) -> dict:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri.$": s3_uri_path,
            "LocalPath": f"{OPT_ML}/processing/input/{name}",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
        },
    }


def processing_output(name: str, s3_uri_path: str) -> dict:
    return {
        "OutputName": name,
        "S3Output": {
            "S3Uri.$": s3_uri_path,
            "LocalPath": f"{OPT_ML}/processing/output/{name}",
            "S3UploadMode": "EndOfJob",
        },
    }


def processing_job(
    settings: JobSettings,
    *,
    job_name_path: str,
    command: list[str],
    inputs: list[dict] | str,
    outputs: list[dict],
    data_path: str,
    arguments_path: str | None = None,
) -> dict:
    """CreateProcessingJob. `inputs` is a list of `processing_input`s or a path to one;
    `arguments_path` a path to the ContainerArguments (strings after the entry point)."""
    app: dict = {"ImageUri": settings.image_uri, "ContainerEntrypoint": command}
    if arguments_path is not None:
        app["ContainerArguments.$"] = arguments_path
    params = {
        "ProcessingJobName.$": job_name_path,
        "RoleArn": settings.role_arn,
        "AppSpecification": app,
        # Instances and volume key as the first state shaped them for the execution's instance
        # type (runtime_scripts/pipeline_input/volumes.py): SageMaker refuses VolumeKmsKeyId
        # for a type with local NVMe storage (contract.INSTANCE_STORAGE_FAMILIES).
        "ProcessingResources": {"ClusterConfig.$": "$.processing.cluster_config"},
        "StoppingCondition": {"MaxRuntimeInSeconds.$": "$.processing.max_runtime_seconds"},
        "ProcessingOutputConfig": {"Outputs": outputs, "KmsKeyId": settings.kms_key_id},
        "Environment": settings.job_environment,
        "Tags": lineage_tags(settings, data_path),
    }
    if isinstance(inputs, str):
        params["ProcessingInputs.$"] = inputs
    else:
        params["ProcessingInputs"] = inputs
    network: dict = {"EnableNetworkIsolation": settings.network_isolation}
    if settings.vpc_config:
        network["VpcConfig"] = settings.vpc_config
        network["EnableInterContainerTrafficEncryption"] = True
    params["NetworkConfig"] = network
    return params


PREPROCESSING_OUTPUTS = (contract.PROCESSING_OUTPUT_TRAIN, contract.PROCESSING_OUTPUT_VALIDATION,
                         contract.PROCESSING_OUTPUT_TEST, contract.PROCESSING_OUTPUT_BASELINE,
                         contract.PROCESSING_OUTPUT_TRANSFORM)


def preprocessing_job(settings: JobSettings, *, inputs: list[dict] | str,
                      data_path: str) -> dict:
    """The use case's `process preprocess`, its splits to `$.run.s3.<split>`."""
    return processing_job(settings, job_name_path="$.run.job_names.preprocessing",
                          command=["process", "preprocess"], inputs=inputs,
                          outputs=[processing_output(name, f"$.run.s3.{name}")
                                   for name in PREPROCESSING_OUTPUTS],
                          data_path=data_path)


def evaluation_job(settings: JobSettings, *, arguments_path: str | None = None,
                   extra_inputs: list[dict] | tuple = ()) -> dict:
    """The use case's `process evaluate` of `$.model.artifacts` on `$.run.s3.test`, to
    `$.run.s3.evaluation`; `arguments_path`, e.g. its quality gate's `--gate` arguments;
    `extra_inputs`, e.g. the training rules' verdict for the report."""
    return processing_job(
        settings, job_name_path="$.run.job_names.evaluation", command=["process", "evaluate"],
        inputs=[processing_input(contract.PROCESSING_INPUT_MODEL, "$.model.artifacts"),
                processing_input(contract.PROCESSING_INPUT_TEST, "$.run.s3.test"),
                *extra_inputs],
        outputs=[processing_output(contract.PROCESSING_OUTPUT_EVALUATION, "$.run.s3.evaluation")],
        data_path="$.run.s3.test", arguments_path=arguments_path)


# --- training -------------------------------------------------------------------------------------
def metric_definitions(settings: JobSettings) -> list[dict]:
    """Regexes over the training script's `#metrics` log lines (runtime_scripts/contract.py)."""
    if not settings.training_metrics:
        raise ValueError(f"use case {settings.use_case!r}: a script-mode training job needs "
                         "the manifest's training_metrics")
    return [{"Name": name, "Regex": contract.metric_regex(name)}
            for name in settings.training_metrics]


# Every channel a training job of the use case's image may have (`training_channels`).
CHANNELS = (contract.CHANNEL_TRAIN, contract.CHANNEL_VALIDATION, contract.CHANNEL_TRANSFORM)


def channel_data_source(name: str) -> str:
    """The channel's S3DataSource: what the first state shaped from `training.channels.<name>`
    (data type, distribution, attribute names) merged with the run's `{"S3Uri": ...}` for the
    channel (`run.channel_sources`: per run, fold and window). Merged in the state because a
    member that does not apply (AttributeNames) must be absent from the request, not null."""
    return (f"States.JsonMerge($.training.channel_config.{name}.s3_data_source, "
            f"$.run.channel_sources.{name}, false)")


def _builtin_channels(settings: JobSettings) -> list[dict]:
    """A built-in algorithm's own channel names (K-Means computes test:msd on `test`, and
    takes no `validation`) and its CSV flavour (label first, or label_size=0 when it has
    none), as its documentation says: runtime_scripts/common/builtin_algorithms.py. Their
    options are the algorithm's, not the execution's."""
    spec = builtin_algorithms.algorithm(settings.builtin_algorithm)
    return [{"ChannelName": name,
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                             "S3Uri.$": f"$.run.s3.{split}",
                                             "S3DataDistributionType": "FullyReplicated"}},
             "ContentType": settings.builtin_content_type or spec.content_type,
             # Its RecordIO-protobuf input is already RecordIO-framed: the API says to set
             # RecordIO only to have SageMaker wrap raw objects, and None in File mode.
             "CompressionType": "None", "RecordWrapperType": "None"}
            for name, split in spec.channels.items()]


def training_channels(settings: JobSettings) -> list[dict]:
    """The channels with their options (`training.channel_config`, docs/pipeline-inputs.md)."""
    if settings.builtin_training and settings.builtin_algorithm:
        return _builtin_channels(settings)
    names = [contract.CHANNEL_TRAIN, contract.CHANNEL_VALIDATION]
    if not settings.builtin_training:
        # Our image packages the fitted transform with the model; for the built-in one the
        # training pipeline's "Package model" state adds it afterwards.
        names.append(contract.CHANNEL_TRANSFORM)
    return [
        {
            "ChannelName": name,
            "DataSource": {"S3DataSource.$": channel_data_source(name)},
            **{f"{member}.$": f"$.training.channel_config.{name}.{member}"
               for member in ("ContentType", "CompressionType", "RecordWrapperType",
                              "InputMode")},
        }
        for name in names
    ]


def image_algorithm_specification(settings: JobSettings) -> dict:
    """AlgorithmSpecification with the use case's training image: the first state takes it
    (`platform.algorithm_specification`) unless the execution names an algorithm resource
    (runtime_scripts/pipeline_input/algorithm.py), and the requests read its choice."""
    spec = {"TrainingImage": settings.training_image_uri, "TrainingInputMode": "File"}
    if not settings.builtin_training:
        # Built-in algorithms publish their own metrics (validation:auc, ...) and reject
        # custom definitions.
        spec["MetricDefinitions"] = metric_definitions(settings)
    return spec


ALGORITHM_SPECIFICATION = "$.training.algorithm_specification"


def _training_common(settings: JobSettings) -> dict:
    return {
        "RoleArn": settings.role_arn,
        "InputDataConfig": training_channels(settings),
        "OutputDataConfig": {"S3OutputPath.$": "$.run.s3.model_output",
                             "KmsKeyId": settings.kms_key_id},
        # With the stage key on the volumes unless the type has local storage (as for
        # processing_job's ClusterConfig).
        "ResourceConfig.$": "$.training.cluster_config",
        "StoppingCondition.$": "$.training.stopping_condition",
        "EnableManagedSpotTraining.$": "$.training.use_spot",
        # Checkpoints let managed spot resume after an interruption instead of starting over.
        "CheckpointConfig": {"S3Uri.$": "$.run.s3.checkpoints",
                             "LocalPath": f"{OPT_ML}/checkpoints"},
        "EnableInterContainerTrafficEncryption": bool(settings.vpc_config),
        **({} if settings.builtin_training else {"Environment": settings.job_environment}),
    }


def training_job(settings: JobSettings) -> dict:
    """CreateTrainingJob, with spot, checkpoints and profiling the CDK L2 task cannot express."""
    params = {
        "TrainingJobName.$": "$.run.job_names.training",
        "AlgorithmSpecification.$": ALGORITHM_SPECIFICATION,
        "HyperParameters.$": "$.training.hyperparameters",
        **_training_common(settings),
        # System metrics only: cheap (no rule jobs), works with any container (seed 001).
        "ProfilerConfig": {"S3OutputPath.$": "$.run.s3.model_output",
                           "ProfilingIntervalInMilliseconds": 500},
        "Tags": lineage_tags(settings, "$.run.s3.train"),
    }
    return _with_network(params, settings, isolate_container=settings.network_isolation)


def tuning_job_config(*, strategy_config: bool) -> dict:
    """HyperParameterTuningJobConfig, built by a Pass state before the tuning job because the API
    rejects a null StrategyConfig: it is only present when Hyperband settings are given."""
    config = {
        "Strategy.$": "$.tuning.strategy",
        "HyperParameterTuningJobObjective": {"Type.$": "$.tuning.objective_type",
                                             "MetricName.$": "$.tuning.objective_metric"},
        "ResourceLimits.$": "$.tuning.resource_limits",
        "ParameterRanges.$": "$.tuning.parameter_ranges",
        "TrainingJobEarlyStoppingType.$": "$.tuning.early_stopping",
    }
    if strategy_config:
        config["StrategyConfig.$"] = "$.tuning.strategy_config"
    return config


def tuning_job(settings: JobSettings, *, warm_start: bool) -> dict:
    """CreateHyperParameterTuningJob over `$.tuning.job_config` (see `tuning_job_config`); the
    warm start block only where asked, since the API rejects a null WarmStartConfig."""
    definition = {
        "AlgorithmSpecification.$": ALGORITHM_SPECIFICATION,
        "StaticHyperParameters.$": "$.tuning.effective_static_hyperparameters",
        **_training_common(settings),
    }
    params = {
        "HyperParameterTuningJobName.$": "$.run.job_names.tuning",
        "HyperParameterTuningJobConfig.$": "$.tuning.job_config",
        "TrainingJobDefinition": _with_network(definition, settings,
                                               isolate_container=settings.network_isolation),
        "Tags": lineage_tags(settings, "$.run.s3.train"),
    }
    if warm_start:
        params["WarmStartConfig.$"] = "$.tuning.warm_start_config"
    return params


# --- batch transform ------------------------------------------------------------------------------
def transform_job(settings: JobSettings) -> dict:
    """CreateTransformJob over a prefix or a manifest, split by line (records) or not (whole
    objects such as images), with KMS and optional input join."""
    return {
        "TransformJobName.$": "$.run.job_names.transform",
        "ModelName.$": "$.run.job_names.model",
        "BatchStrategy.$": "$.transform.batch_strategy",
        "MaxPayloadInMB.$": "$.transform.max_payload_mb",
        "MaxConcurrentTransforms.$": "$.transform.max_concurrent_transforms",
        "ModelClientConfig": {
            "InvocationsTimeoutInSeconds.$": "$.transform.invocations_timeout_seconds",
            "InvocationsMaxRetries": 1,
        },
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType.$": "$.data.s3_data_type",
                                            "S3Uri.$": "$.data.input_s3_uri"}},
            "ContentType.$": "$.data.content_type",
            "SplitType.$": "$.data.split_type",
            "CompressionType": "None",
        },
        "TransformOutput": {
            "S3OutputPath.$": "$.run.s3.output",
            "Accept.$": "$.data.accept",
            # Line: one output line per record; None: each object's answer as it came.
            "AssembleWith.$": "$.data.assemble_with",
            "KmsKeyId": settings.kms_key_id,
        },
        # With the stage key on the volumes unless the type has local storage (as for
        # processing_job's ClusterConfig).
        "TransformResources.$": "$.transform.resources",
        "DataProcessing.$": "$.data.data_processing",
        "Environment": {**settings.environment,
                        f"{contract.MODEL_SERVER_TIMEOUT_ENV}.$": "$.transform.server_timeout"},
        "Tags": lineage_tags(settings, "$.data.input_s3_uri"),
    }


# --- model ----------------------------------------------------------------------------------------
def model(settings: JobSettings, *, container: dict, network_isolation: bool = True) -> dict:
    """CreateModel (aws-sdk integration). CDK's SageMakerCreateModel task grants s3:GetObject on
    '*' to the execution role when the model data location comes from the state; the SDK
    integration keeps the execution role's S3 access at the platform's buckets. Serverless
    endpoints reject network isolation (and VPCs), hence `network_isolation`."""
    params = {
        "ModelName.$": "$.run.job_names.model",
        "ExecutionRoleArn": settings.role_arn,
        "PrimaryContainer": container,
        "EnableNetworkIsolation": network_isolation,
        "Tags": lineage_tags(settings, "$.run.execution_name"),
    }
    if settings.vpc_config:
        params["VpcConfig"] = settings.vpc_config
    return params


def inference_containers(settings: JobSettings) -> list[dict]:
    """The containers that serve a trained model: our image on the bundle (`$.model.artifacts`,
    the repacked one after a built-in trained); or, served from the built-in algorithm's own
    image (its `$.model.builtin_artifacts`, the training pipeline's "Use packaged model"), a
    serial inference pipeline of two: our image on the bundle answering the rows as the
    model's features (SERVE_OUTPUT_ENV), then the built-in's container, which takes no
    environment of ours. AWS: a pipeline model is two to fifteen containers (CreateModel's
    Containers), SageMaker sends the first container the request and each next one the
    response of the one before, and returns the last one's; so a client sends raw rows."""
    ours = {"Image": settings.image_uri, "ModelDataUrl.$": "$.model.artifacts",
            "Environment": settings.environment}
    if not settings.builtin_serving_image_uri:
        return [ours]
    features = {**ours, "Environment": {**settings.environment,
                                        contract.SERVE_OUTPUT_ENV: contract.SERVE_FEATURES}}
    return [features, {"Image": settings.builtin_serving_image_uri,
                       "ModelDataUrl.$": "$.model.builtin_artifacts"}]


def model_from_artifacts(settings: JobSettings) -> dict:
    containers = [{**c, "Mode": "SingleModel"} for c in inference_containers(settings)]
    if len(containers) == 1:
        return model(settings, container=containers[0])
    params = model(settings, container={})
    del params["PrimaryContainer"]
    # Serial: every container in turn (Direct would invoke one chosen by the request).
    return {**params, "Containers": containers, "InferenceExecutionConfig": {"Mode": "Serial"}}


def model_from_package() -> dict:
    return {"ModelPackageName.$": "$.package.arn"}


# --- real-time endpoint (deployment pipeline) ----------------------------------------------------
# Captured requests and responses: what Model Monitor reads and the drift check parses.
CAPTURE_CSV_TYPES = ["text/csv"]
CAPTURE_JSON_TYPES = ["application/json", "application/jsonlines"]


def data_capture_config(settings: JobSettings) -> dict:
    """DataCaptureConfig: input and output, KMS-encrypted, under `$.run.s3.data_capture`
    (SageMaker adds `<endpoint>/<variant>/yyyy/mm/dd/hh/`)."""
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage.$": "$.data_capture.sampling_percentage",
        "DestinationS3Uri.$": "$.run.s3.data_capture",
        "KmsKeyId": settings.kms_key_id,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"CsvContentTypes": CAPTURE_CSV_TYPES,
                                     "JsonContentTypes": CAPTURE_JSON_TYPES},
    }


def endpoint_config(settings: JobSettings, *, serverless: bool) -> dict:
    """CreateEndpointConfig. The variant (instances or ServerlessConfig) is API-shaped by the
    input validator. Instance endpoints get the platform key on their volumes and data capture;
    serverless endpoints have neither volumes to encrypt nor data capture."""
    params: dict = {
        "EndpointConfigName.$": "$.run.job_names.endpoint_config",
        "ProductionVariants.$": "$.endpoint.production_variants",
        "Tags": lineage_tags(settings, "$.package.arn"),
    }
    if not serverless:
        params["KmsKeyId"] = settings.kms_key_id
        params["DataCaptureConfig"] = data_capture_config(settings)
    return params


def create_endpoint(settings: JobSettings) -> dict:
    return {"EndpointName.$": "$.run.endpoint_name",
            "EndpointConfigName.$": "$.run.job_names.endpoint_config",
            "Tags": lineage_tags(settings, "$.package.arn")}


def update_endpoint(*, rollback_alarms: list[str], serverless: bool) -> dict:
    """UpdateEndpoint as a blue/green deployment that rolls back on `rollback_alarms`. An
    instance endpoint keeps its current (autoscaled) instance count, but takes the new data
    capture settings from the new endpoint config."""
    params: dict = {
        "EndpointName.$": "$.run.endpoint_name",
        "EndpointConfigName.$": "$.run.job_names.endpoint_config",
        "DeploymentConfig": {
            "BlueGreenUpdatePolicy.$": "$.deployment.blue_green_update_policy",
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name}
                                                     for name in rollback_alarms]},
        },
    }
    if not serverless:
        params["RetainAllVariantProperties"] = True
        params["ExcludeRetainedVariantProperties"] = [{"VariantPropertyType": "DataCaptureConfig"}]
    return params


# --- Model Monitor -------------------------------------------------------------------------------
MONITOR_INPUT = "baseline_dataset_input"  # the analyzer container's contract (SageMaker SDK)
MONITOR_OUTPUT_PATH = f"{OPT_ML}/processing/output"


def baseline_job(settings: JobSettings, *, image_uri: str, instance_type: str,
                 max_runtime_seconds: int) -> dict:
    """CreateProcessingJob running the Model Monitor analyzer as a data quality baselining job
    (what the SDK's `suggest_baseline` starts) over the header-ful baseline.csv preprocessing
    writes: statistics.json and constraints.json go to `$.run.s3.baseline_output`."""
    params = {
        "ProcessingJobName.$": "$.run.job_names.baseline",
        "RoleArn": settings.role_arn,
        "AppSpecification": {"ImageUri": image_uri},
        "Environment": {
            "dataset_format": '{"csv": {"header": true, "output_columns_position": "START"}}',
            "dataset_source": f"{OPT_ML}/processing/input/{MONITOR_INPUT}",
            "output_path": MONITOR_OUTPUT_PATH,
            "publish_cloudwatch_metrics": "Disabled",
        },
        "ProcessingInputs": [processing_input(MONITOR_INPUT, "$.baseline_source.s3_uri")],
        "ProcessingOutputConfig": {
            "Outputs": [{"OutputName": "monitoring_output",
                         "S3Output": {"S3Uri.$": "$.run.s3.baseline_output",
                                      "LocalPath": MONITOR_OUTPUT_PATH,
                                      "S3UploadMode": "EndOfJob"}}],
            "KmsKeyId": settings.kms_key_id,
        },
        "ProcessingResources": {"ClusterConfig": {
            "InstanceType": instance_type, "InstanceCount": 1,
            "VolumeSizeInGB": contract.MONITOR_VOLUME_SIZE_GB,
            **contract.volume_kms_key(instance_type, settings.kms_key_id)}},
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime_seconds},
        "Tags": lineage_tags(settings, "$.baseline_source.s3_uri"),
    }
    network: dict = {"EnableNetworkIsolation": True}
    if settings.vpc_config:
        network["VpcConfig"] = settings.vpc_config
        network["EnableInterContainerTrafficEncryption"] = True
    params["NetworkConfig"] = network
    return params


def monitoring_schedule(*, name: str, job_definition: str, monitoring_type: str,
                        schedule: str, tags: bool) -> dict:
    """CreateMonitoringSchedule (tags=True) or UpdateMonitoringSchedule over a job definition the
    CDK app owns (CfnDataQualityJobDefinition / CfnModelQualityJobDefinition)."""
    params: dict = {
        "MonitoringScheduleName": name,
        "MonitoringScheduleConfig": {
            "ScheduleConfig": {"ScheduleExpression": schedule},
            "MonitoringJobDefinitionName": job_definition,
            "MonitoringType": monitoring_type,
        },
    }
    if tags:
        params["Tags"] = [{"Key": "execution", "Value.$": "$.run.execution_name"}]
    return params


# --- Application Auto Scaling (the endpoint variant) ---------------------------------------------
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def scalable_target() -> dict:
    return {"ServiceNamespace": "sagemaker", "ResourceId.$": "$.autoscaling.resource_id",
            "ScalableDimension": SCALABLE_DIMENSION}


def register_scalable_target() -> dict:
    return {**scalable_target(), "MinCapacity.$": "$.autoscaling.min_capacity",
            "MaxCapacity.$": "$.autoscaling.max_capacity"}


def restore_scalable_target() -> dict:
    """RegisterScalableTarget with the limits the variant had before the update suspended it."""
    return {**scalable_target(), "MinCapacity.$": "$.scaling.targets[0].MinCapacity",
            "MaxCapacity.$": "$.scaling.targets[0].MaxCapacity"}


def scaling_policy(policy_name: str) -> dict:
    """PutScalingPolicy: target tracking on SageMakerVariantInvocationsPerInstance."""
    return {**scalable_target(), "PolicyName": policy_name, "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration.$": "$.autoscaling.target_tracking"}
