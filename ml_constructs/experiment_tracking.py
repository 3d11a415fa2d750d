"""The stage's experiment tracking: a SageMaker managed MLflow tracking server
(`AWS::SageMaker::MlflowTrackingServer`, no L2 exists) whose artefacts live under a prefix of
the encrypted artifacts bucket, its own least-privilege role, and `grant_logging` for the role
the jobs run as. The jobs find the server by its ARN in MLFLOW_TRACKING_URI
(runtime_scripts/common/tracking.py), which the `sagemaker-mlflow` plugin signs requests to."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from config import StageConfig
from ml_constructs.compliance import acknowledge_role_policy, in_finding, wildcard_findings
from ml_constructs.resource_names import StageNames

# What a job's run does on the server (runtime_scripts/common/tracking.py): find or create the
# use case's experiment, find or create the execution's parent run, create its own run, log
# parameters, metrics and tags, end the run. The Service Authorization Reference authorizes
# each on the mlflow-tracking-server resource type. Artefacts go to S3 directly, with the
# execution role's own access to the artifacts bucket.
LOGGING_ACTIONS = tuple(f"sagemaker-mlflow:{action}" for action in (
    "GetExperimentByName", "CreateExperiment", "SearchRuns", "CreateRun", "GetRun", "UpdateRun",
    "LogBatch", "LogMetric", "LogParam", "SetTag"))


def stage_tracking_server_arn(scope: Construct, config: StageConfig) -> str | None:
    """The stage's tracking server's ARN when it has one (`experiment_tracking.enabled`),
    built from its name as the API's ARN format has it: a plain string in any stack."""
    if not config.experiment_tracking.enabled:
        return None
    return cdk.Stack.of(scope).format_arn(
        service="sagemaker", resource="mlflow-tracking-server",
        resource_name=StageNames(config.resource_prefix).tracking_server)


class ExperimentTracking(Construct):
    """`arn`: the tracking server's ARN (the jobs' MLFLOW_TRACKING_URI)."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig,
                 artifacts_bucket: s3.IBucket, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        config = stage.experiment_tracking
        server_name = StageNames(stage.resource_prefix).tracking_server
        prefix = config.artifact_prefix
        # The server reads and writes run artefacts for the MLflow UI and API; AWS's guide asks
        # for S3 access to the artifact store, here narrowed to its prefix and the stage key.
        self.role = iam.Role(self, "ServerRole",
                             assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                             description="The MLflow tracking server: its artefact prefix only")
        objects = artifacts_bucket.arn_for_objects(f"{prefix}*")
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], resources=[objects]))
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["s3:ListBucket"], resources=[artifacts_bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}}))
        # The bucket encrypts with the stage key (SSE-KMS): S3 uses it on the role's behalf.
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}}))
        policy = self.role.node.find_child("DefaultPolicy")
        acknowledge_role_policy(
            policy, "The tracking server stores each run's artefacts under keys MLflow "
            "generates (experiment and run ids) inside its one prefix of the artifacts bucket.",
            wildcard_findings(resources=(in_finding(self, objects),)))

        self.server = sagemaker.CfnMlflowTrackingServer(
            self, "Server", tracking_server_name=server_name,
            artifact_store_uri=f"s3://{artifacts_bucket.bucket_name}/{prefix}",
            role_arn=self.role.role_arn, tracking_server_size=config.server_size,
            mlflow_version=config.mlflow_version,
            # Models reach the registry through the training pipeline's quality gate only.
            automatic_model_registration=False,
            weekly_maintenance_window_start=config.weekly_maintenance_window_start)
        # CreateMlflowTrackingServer checks the role's access to the artifact store.
        self.server.node.add_dependency(policy)
        # Built from the name, so the jobs' environment and the grants are plain strings.
        self.arn = stage_tracking_server_arn(self, stage)
        cdk.CfnOutput(self, "TrackingServerArn", value=self.arn,
                      description="The MLflow tracking server (MLFLOW_TRACKING_URI of the jobs)")

    def grant_logging(self, grantee: iam.IRole) -> None:
        """What a job running as `grantee` needs to log its run, on this server only."""
        grantee.add_to_principal_policy(iam.PolicyStatement(actions=list(LOGGING_ACTIONS),
                                                            resources=[self.arn]))
