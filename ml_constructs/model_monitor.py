"""Model Monitor on the stage's endpoint: the data quality job definition (and, with ground truth
configured, the model quality one), the record preprocessor that turns captured CSV requests into
named feature columns, and the fixed S3 layout the deployment state machine writes to.

The job definitions are CDK resources; the monitoring *schedules* are created (and updated) by
the deployment state machine once the endpoint is in service, because SageMaker checks that the
endpoint exists when a schedule is created and the endpoint only exists after the first
deployment (docs/serving.md, "Why the state machine owns the endpoint, autoscaling and
schedules").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from config import MonitoringConfig
from ml_constructs.physical_names import replaceable_name
from ml_constructs.runtime_image import builtin_image_uri
from ml_constructs.sagemaker_jobs import OPT_ML
from runtime_scripts import contract

RUNTIME_SCRIPTS = Path(__file__).resolve().parent.parent / "runtime_scripts"
# The record preprocessor runs inside SageMaker's analyzer container: a standalone file.
RECORD_PREPROCESSOR = RUNTIME_SCRIPTS / "common" / "tabular" / "capture.py"
DATASET_SPEC = RUNTIME_SCRIPTS / "use_cases" / "churn" / "dataset.json"

# The monitoring bucket's layout (runtime_scripts/contract.py, which the validator reads too).
DATA_CAPTURE_PREFIX = contract.DATA_CAPTURE_PREFIX
BASELINE_CURRENT_PREFIX = contract.BASELINE_CURRENT_PREFIX
BASELINE_FILES = contract.BASELINE_FILES
REPORTS_PREFIX = "reports/"
# The churn server answers CSV requests with "probability,label" rows: column 0 is the
# probability; ground truth labels are 1 (churned) or 0.
PROBABILITY_COLUMN = "0"
# Ground truth arrives late: each model quality run merges the captures of 48 to 24 hours ago.
GROUND_TRUTH_WINDOW = ("-PT48H", "-PT24H")


def monitored_features() -> list[str]:
    """The raw feature columns in request order, from the bundled dataset spec (a data file)."""
    return list(json.loads(DATASET_SPEC.read_text())["features"])


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
    name_prefix: str
    endpoint_name: str
    region: str
    config: MonitoringConfig
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
        self.baseline_uris = {name: bucket.s3_url_for_object(f"{BASELINE_CURRENT_PREFIX}{name}")
                              for name in BASELINE_FILES}

        preprocessor = s3_assets.Asset(self, "RecordPreprocessor",
                                       path=str(RECORD_PREPROCESSOR))
        # Exactly the one object, rather than the asset's grant on the whole bootstrap bucket.
        props.role.add_to_principal_policy(iam.PolicyStatement(
            actions=["s3:GetObject"],
            resources=[f"arn:{cdk.Aws.PARTITION}:s3:::{preprocessor.s3_bucket_name}/"
                       f"{preprocessor.s3_object_key}"]))

        self.data_quality = sagemaker.CfnDataQualityJobDefinition(
            self, "DataQuality",
            data_quality_app_specification=sagemaker.CfnDataQualityJobDefinition
            .DataQualityAppSpecificationProperty(
                image_uri=self.image_uri,
                # It names the columns itself (capture.CHURN_FEATURES, kept equal to the dataset
                # spec by a test): the 19 names exceed an environment value's 256 characters.
                record_preprocessor_source_uri=preprocessor.s3_object_url),
            data_quality_baseline_config=sagemaker.CfnDataQualityJobDefinition
            .DataQualityBaselineConfigProperty(
                constraints_resource=sagemaker.CfnDataQualityJobDefinition
                .ConstraintsResourceProperty(s3_uri=self.baseline_uris["constraints.json"]),
                statistics_resource=sagemaker.CfnDataQualityJobDefinition
                .StatisticsResourceProperty(s3_uri=self.baseline_uris["statistics.json"])),
            data_quality_job_input=sagemaker.CfnDataQualityJobDefinition
            .DataQualityJobInputProperty(endpoint_input=self._endpoint_input(
                sagemaker.CfnDataQualityJobDefinition.EndpointInputProperty)),
            data_quality_job_output_config=self._output(sagemaker.CfnDataQualityJobDefinition,
                                                        "data-quality"),
            **self._common(sagemaker.CfnDataQualityJobDefinition),
        )
        self.monitorings = [self._named(self.data_quality, "DataQuality", "data-quality")]
        self.model_quality: sagemaker.CfnModelQualityJobDefinition | None = None
        if props.config.ground_truth_s3_uri:
            self._model_quality(props.config.ground_truth_s3_uri)
            self.monitorings.append(
                self._named(self.model_quality, "ModelQuality", "model-quality"))

    def job_definition(self, monitoring_type: str) -> cdk.CfnResource:
        """The CloudFormation resource of one monitoring type (a `Monitoring.monitoring_type`)."""
        return {"DataQuality": self.data_quality, "ModelQuality": self.model_quality}[
            monitoring_type]

    def _named(self, job_definition: cdk.CfnResource, monitoring_type: str,
               kind: str) -> Monitoring:
        base = f"{self.props.name_prefix}-{kind}"
        job_definition.job_definition_name = replaceable_name(
            job_definition, base, name_property="JobDefinitionName")
        return Monitoring(monitoring_type=monitoring_type, schedule_name=base,
                          job_definition_name=job_definition.job_definition_name)

    def _model_quality(self, ground_truth_s3_uri: str) -> None:
        cfn = sagemaker.CfnModelQualityJobDefinition
        start, end = GROUND_TRUTH_WINDOW
        self.model_quality = cfn(
            self, "ModelQuality",
            model_quality_app_specification=cfn.ModelQualityAppSpecificationProperty(
                image_uri=self.image_uri, problem_type="BinaryClassification"),
            model_quality_job_input=cfn.ModelQualityJobInputProperty(
                endpoint_input=self._endpoint_input(
                    cfn.EndpointInputProperty, probability_attribute=PROBABILITY_COLUMN,
                    probability_threshold_attribute=0.5,
                    start_time_offset=start, end_time_offset=end),
                ground_truth_s3_input=cfn.MonitoringGroundTruthS3InputProperty(
                    s3_uri=ground_truth_s3_uri)),
            model_quality_job_output_config=self._output(cfn, "model-quality"),
            **self._common(cfn),
        )

    def _endpoint_input(self, property_class, **extra):
        return property_class(endpoint_name=self.props.endpoint_name,
                              local_path=f"{OPT_ML}/processing/input/endpoint",
                              s3_input_mode="File", s3_data_distribution_type="FullyReplicated",
                              **extra)

    def _output(self, cfn, kind: str):
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
                    volume_kms_key_id=props.key.key_arn)),
            "network_config": cfn.NetworkConfigProperty(
                # The analyzer publishes the drift metrics to CloudWatch itself: it needs the
                # network (in the isolated VPC, through the CloudWatch endpoint).
                enable_network_isolation=False, vpc_config=vpc,
                enable_inter_container_traffic_encryption=vpc is not None),
            "stopping_condition": cfn.StoppingConditionProperty(
                max_runtime_in_seconds=props.config.max_runtime_seconds),
        }
