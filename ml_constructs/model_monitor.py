"""Model Monitor on one use case's endpoint: the data quality job definition (and, with ground
truth configured, the model quality one), the record preprocessor that turns captured requests
into named feature columns, the post-analytics processor that sums a run's drift up in one
metric, and the fixed S3 layout the deployment state machine writes to.

Nothing here names a column. The record preprocessor takes the columns from the baseline the job
compares against, and the deployment state machine computes that baseline from the deployed
model's own training run: monitoring follows the dataset spec the model was trained with.

The job definitions are CDK resources; the monitoring *schedules* are created (and updated) by
the deployment state machine once the endpoint is in service, because SageMaker checks that the
endpoint exists when a schedule is created and the endpoint only exists after the first
deployment (docs/serving.md, "Why the state machine owns the endpoint, autoscaling and
schedules").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from config import ConfigError, MonitoringConfig
from ml_constructs.physical_names import replaceable_name
from ml_constructs.runtime_image import builtin_image_uri
from ml_constructs.sagemaker_jobs import OPT_ML
from ml_constructs.serving_defaults import ServingNames
from runtime_scripts import contract
from runtime_scripts.common.manifest import UseCaseManifest

RUNTIME_SCRIPTS = Path(__file__).resolve().parent.parent / "runtime_scripts"
# Runs inside SageMaker's analyzer container after the analysis: a standalone file.
DRIFT_SUMMARY = RUNTIME_SCRIPTS / "common" / "tabular" / "drift_summary.py"

# The monitoring bucket's layout (runtime_scripts/contract.py, which the validator reads too).
DATA_CAPTURE_PREFIX = contract.DATA_CAPTURE_PREFIX  # SageMaker adds <endpoint>/<variant>/...
BASELINE_FILES = contract.BASELINE_FILES
baseline_prefix = contract.baseline_prefix
REPORTS_PREFIX = "reports/"
# Ground truth arrives late: each model quality run merges the captures of 48 to 24 hours ago.
GROUND_TRUTH_WINDOW = ("-PT48H", "-PT24H")

# Model Monitor's model quality problem types, and the metrics it computes and publishes for
# each (AWS, "Model Quality Metrics" and "Model quality CloudWatch metrics"), by our manifests'
# problem types. A problem type missing here has no model quality monitoring.
MODEL_QUALITY_PROBLEM_TYPES = {
    "binary_classification": "BinaryClassification",
    "regression": "Regression",
    "multiclass_classification": "MulticlassClassification",
}
MODEL_QUALITY_METRICS = {
    "BinaryClassification": (
        "accuracy", "precision", "recall", "auc", "f0_5", "f1", "f2", "true_positive_rate",
        "true_negative_rate", "false_positive_rate", "false_negative_rate"),
    "Regression": ("mae", "mse", "rmse", "r2"),
    "MulticlassClassification": (
        "accuracy", "weighted_recall", "weighted_precision", "weighted_f0_5", "weighted_f1",
        "weighted_f2"),
}
# Binary classification from a probability: Model Monitor's default decision threshold.
PROBABILITY_THRESHOLD = 0.5


def record_preprocessor(manifest: UseCaseManifest) -> Path:
    """The use case's record preprocessor (its manifest's `monitoring.record_preprocessor`)."""
    return manifest.path(manifest.monitoring.record_preprocessor)


@dataclass(frozen=True)
class ModelQuality:
    """What a model quality job definition and its alarm need of the use case."""

    problem_type: str  # Model Monitor's
    metric: str  # the metric the alarm watches, as Model Monitor names it
    higher_is_better: bool
    endpoint_input: dict  # which output column holds the prediction (CSV: its index)

    @classmethod
    def of(cls, manifest: UseCaseManifest, metric: str, *, key: str) -> ModelQuality:
        """`key`: the use case's monitoring section in the stage config, for errors."""
        problem_type = MODEL_QUALITY_PROBLEM_TYPES.get(manifest.problem_type)
        if problem_type is None:
            raise ConfigError(f"{key}.ground_truth_s3_uri", f"Model Monitor has no model quality "
                              f"monitoring for {manifest.problem_type} (use case "
                              f"{manifest.name!r})", "null")
        if metric not in MODEL_QUALITY_METRICS[problem_type]:
            raise ConfigError(f"{key}.model_quality_metric", f"Model Monitor computes no "
                              f"{metric!r} for {problem_type}",
                              ", ".join(m for m in MODEL_QUALITY_METRICS[problem_type]
                                        if m in manifest.metric_names) or
                              ", ".join(MODEL_QUALITY_METRICS[problem_type]))
        higher = manifest.metric(metric).higher_is_better  # the config took it from there
        columns = list(manifest.serving.prediction_columns)
        if problem_type == "BinaryClassification" and "probability" in columns:
            endpoint_input = {"probability_attribute": str(columns.index("probability")),
                              "probability_threshold_attribute": PROBABILITY_THRESHOLD}
        else:
            wanted = "label" if problem_type != "Regression" else "prediction"
            index = columns.index(wanted) if wanted in columns else 0
            endpoint_input = {"inference_attribute": str(index)}
        return cls(problem_type, metric, higher, endpoint_input)


@dataclass(frozen=True)
class Monitoring:
    """One kind of monitoring of the endpoint. The schedule belongs to the deployment state
    machine and keeps its name (alarms read the analyzer's metrics by it: the MonitoringSchedule
    dimension); the job definition belongs to CloudFormation, which can only replace it (the
    type has no update), so its name changes with every property: `replaceable_name`."""

    monitoring_type: str  # "DataQuality" | "ModelQuality", as SageMaker spells it
    schedule_name: str
    job_definition_name: str

    @property
    def arn_kind(self) -> str:
        """The job definition's resource type in its ARN, e.g. data-quality-job-definition."""
        return {"DataQuality": "data-quality", "ModelQuality": "model-quality"}[
            self.monitoring_type]


@dataclass(frozen=True)
class ModelMonitorProps:
    names: ServingNames
    manifest: UseCaseManifest
    region: str
    config: MonitoringConfig
    model_quality: ModelQuality | None  # None: no ground truth, no model quality monitoring
    monitoring_bucket: s3.IBucket
    key: kms.IKey
    role: iam.IRole
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()


class ModelMonitor(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: ModelMonitorProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        self.image_uri = builtin_image_uri("model-monitor", props.region)
        bucket = props.monitoring_bucket
        self.baseline_prefix = baseline_prefix(props.names.endpoint)
        self.baseline_uris = {
            name: bucket.s3_url_for_object(f"{self.baseline_prefix}current/{name}")
            for name in BASELINE_FILES}

        preprocessor = self._script("RecordPreprocessor", record_preprocessor(props.manifest))
        summary = self._script("DriftSummary", DRIFT_SUMMARY)
        cfn = sagemaker.CfnDataQualityJobDefinition
        self.data_quality = cfn(
            self, "DataQuality",
            data_quality_app_specification=cfn.DataQualityAppSpecificationProperty(
                image_uri=self.image_uri,
                # It names the columns from this job's baseline (capture.feature_columns), and
                # the summary gives drift one metric whatever the columns (drift_summary.py).
                record_preprocessor_source_uri=preprocessor.s3_object_url,
                post_analytics_processor_source_uri=summary.s3_object_url),
            data_quality_baseline_config=cfn.DataQualityBaselineConfigProperty(
                constraints_resource=cfn.ConstraintsResourceProperty(
                    s3_uri=self.baseline_uris["constraints.json"]),
                statistics_resource=cfn.StatisticsResourceProperty(
                    s3_uri=self.baseline_uris["statistics.json"])),
            data_quality_job_input=cfn.DataQualityJobInputProperty(
                endpoint_input=self._endpoint_input(cfn.EndpointInputProperty)),
            data_quality_job_output_config=self._output(cfn, "data-quality"),
            **self._common(cfn),
        )
        self.monitorings = [self._named(self.data_quality, "DataQuality", "data-quality")]
        self.model_quality: sagemaker.CfnModelQualityJobDefinition | None = None
        if props.model_quality is not None and props.config.ground_truth_s3_uri:
            self._model_quality(props.model_quality, props.config.ground_truth_s3_uri)
            self.monitorings.append(
                self._named(self.model_quality, "ModelQuality", "model-quality"))

    def job_definition(self, monitoring_type: str) -> cdk.CfnResource:
        """The CloudFormation resource of one monitoring type (a `Monitoring.monitoring_type`)."""
        return {"DataQuality": self.data_quality, "ModelQuality": self.model_quality}[
            monitoring_type]

    def _script(self, construct_id: str, path: Path) -> s3_assets.Asset:
        asset = s3_assets.Asset(self, construct_id, path=str(path))
        # Exactly the one object, rather than the asset's grant on the whole bootstrap bucket.
        self.props.role.add_to_principal_policy(iam.PolicyStatement(
            actions=["s3:GetObject"],
            resources=[f"arn:{cdk.Aws.PARTITION}:s3:::{asset.s3_bucket_name}/"
                       f"{asset.s3_object_key}"]))
        return asset

    def _named(self, job_definition: cdk.CfnResource, monitoring_type: str,
               kind: str) -> Monitoring:
        base = self.props.names.monitoring(kind)
        job_definition.job_definition_name = replaceable_name(
            job_definition, base, name_property="JobDefinitionName")
        return Monitoring(monitoring_type=monitoring_type, schedule_name=base,
                          job_definition_name=job_definition.job_definition_name)

    def _model_quality(self, quality: ModelQuality, ground_truth_s3_uri: str) -> None:
        cfn = sagemaker.CfnModelQualityJobDefinition
        start, end = GROUND_TRUTH_WINDOW
        self.model_quality = cfn(
            self, "ModelQuality",
            model_quality_app_specification=cfn.ModelQualityAppSpecificationProperty(
                image_uri=self.image_uri, problem_type=quality.problem_type),
            model_quality_job_input=cfn.ModelQualityJobInputProperty(
                endpoint_input=self._endpoint_input(
                    cfn.EndpointInputProperty, **quality.endpoint_input,
                    start_time_offset=start, end_time_offset=end),
                ground_truth_s3_input=cfn.MonitoringGroundTruthS3InputProperty(
                    s3_uri=ground_truth_s3_uri)),
            model_quality_job_output_config=self._output(cfn, "model-quality"),
            **self._common(cfn),
        )

    def _endpoint_input(self, property_class, **extra):
        return property_class(endpoint_name=self.props.names.endpoint,
                              local_path=f"{OPT_ML}/processing/input/endpoint",
                              s3_input_mode="File", s3_data_distribution_type="FullyReplicated",
                              **extra)

    def _output(self, cfn, kind: str):
        # Model Monitor adds <endpoint>/<schedule>/yyyy/mm/dd/hh/: one use case's reports never
        # mix with another's.
        uri = self.props.monitoring_bucket.s3_url_for_object(f"{REPORTS_PREFIX}{kind}")
        return cfn.MonitoringOutputConfigProperty(
            kms_key_id=self.props.key.key_arn,
            monitoring_outputs=[cfn.MonitoringOutputProperty(s3_output=cfn.S3OutputProperty(
                local_path=f"{OPT_ML}/processing/output", s3_uri=uri,
                s3_upload_mode="EndOfJob"))])

    def _common(self, cfn) -> dict:
        props = self.props
        vpc = None
        if props.subnet_ids:
            vpc = cfn.VpcConfigProperty(security_group_ids=list(props.security_group_ids),
                                        subnets=list(props.subnet_ids))
        return {
            "role_arn": props.role.role_arn,
            "job_resources": cfn.MonitoringResourcesProperty(
                cluster_config=cfn.ClusterConfigProperty(
                    instance_count=1, instance_type=props.config.instance_type,
                    volume_size_in_gb=contract.MONITOR_VOLUME_SIZE_GB,
                    # None for a type with local storage: SageMaker refuses a key for it.
                    volume_kms_key_id=contract.volume_kms_key(
                        props.config.instance_type, props.key.key_arn).get("VolumeKmsKeyId"))),
            "network_config": cfn.NetworkConfigProperty(
                # The analyzer publishes the drift metrics to CloudWatch itself: it needs the
                # network (in the isolated VPC, through the CloudWatch endpoint).
                enable_network_isolation=False, vpc_config=vpc,
                enable_inter_container_traffic_encryption=vpc is not None),
            "stopping_condition": cfn.StoppingConditionProperty(
                max_runtime_in_seconds=props.config.max_runtime_seconds),
        }
