"""The names of a use case's AWS resources, derived in this one place: `<prefix>-<use case>` for
the model package group and the endpoint, `<prefix>-<use case>-<pipeline>` for state machines
and what belongs to one pipeline, each within its service's limit. Two use cases of one stage
never share a name: the use case is a whole part of each, followed by nothing or by a fixed
pipeline word none of which is another's tail ('a' + 'x-training' never reads as 'a-x' +
'training'; a test keeps it so), and a name over its limit keeps its head and ends in a stable
hash of the whole name. Within the stage config's limits (its
RESOURCE_PREFIX_MAX, the manifest's USE_CASE_NAME_MAX) no name needs shortening today (a test
says so); the hash is what keeps a longer one valid and distinct.

The tags every state machine carries (`use-case`, `pipeline`) let tools find a use case's
pipelines in the synthesized templates without knowing any use case.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import aws_cdk as cdk
from constructs import IConstruct

from ml_constructs.physical_names import DIGEST_LENGTH
from runtime_scripts import contract

# Limits of the services' name fields (their API references / CloudFormation resource schemas).
STATE_MACHINE_NAME_MAX = 80  # Step Functions CreateStateMachine `name`
SAGEMAKER_NAME_MAX = contract.SAGEMAKER_NAME_MAX  # model package group, endpoint
GLUE_JOB_NAME_MAX = 255  # Glue CreateJob `Name`
GLUE_TABLE_NAME_MAX = 255  # Glue CreateTable `TableInput.Name`
SCHEDULE_NAME_MAX = 64  # EventBridge Scheduler CreateSchedule `Name`
LAMBDA_FUNCTION_NAME_MAX = 64  # Lambda CreateFunction `FunctionName` (a name, not an ARN)
SNS_TOPIC_NAME_MAX = 256  # SNS CreateTopic `Name`
GLUE_DATABASE_NAME_MAX = 255  # Glue CreateDatabase `DatabaseInput.Name`
GLUE_SECURITY_CONFIGURATION_NAME_MAX = 255  # Glue CreateSecurityConfiguration `Name`
LOG_GROUP_NAME_MAX = 512  # CloudWatch Logs CreateLogGroup `logGroupName`
ATHENA_WORKGROUP_NAME_MAX = 128  # Athena CreateWorkGroup `Name`
TRACKING_SERVER_NAME_MAX = 256  # SageMaker CreateMlflowTrackingServer `TrackingServerName`
# A SageMaker name that ends in '-<digest>' (physical_names.replaceable_name).
DIGESTED_SAGEMAKER_NAME_MAX = SAGEMAKER_NAME_MAX - 1 - DIGEST_LENGTH
HASH_LENGTH = 8

USE_CASE_TAG = "use-case"
PIPELINE_TAG = "pipeline"
# The pipelines a use case's state machines run: the `pipeline` tag and the name's last part.
TRAINING = "training"
BATCH_INFERENCE = "batch-inference"
DEPLOYMENT = "deployment"
RETRAINING_GATE = "retraining-gate"
CROSS_VALIDATION = "cross-validation"
BACKTEST = "backtest"
PIPELINES = (TRAINING, BATCH_INFERENCE, DEPLOYMENT, RETRAINING_GATE, CROSS_VALIDATION, BACKTEST)


def bounded(name: str, limit: int) -> str:
    """`name` itself when it fits `limit`, else its head, '-' and a hash of the whole name: the
    same name always gives the same result, and two names that share their head do not."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:HASH_LENGTH]
    return f"{name[:limit - HASH_LENGTH - 1].rstrip('-_')}-{digest}"


@dataclass(frozen=True)
class StageNames:
    """The names of what a stage's use cases share (`prefix` is `<project>-<stage>`)."""

    prefix: str

    @property
    def pipelines_topic(self) -> str:
        return bounded(f"{self.prefix}-pipelines", SNS_TOPIC_NAME_MAX)

    @property
    def pipeline_input_function(self) -> str:
        return bounded(f"{self.prefix}-pipeline-input", LAMBDA_FUNCTION_NAME_MAX)

    @property
    def glue_database(self) -> str:
        """Glue Data Catalog (and Athena) database names are lowercase with '_', not '-'."""
        return bounded(self.prefix.replace("-", "_"), GLUE_DATABASE_NAME_MAX)

    @property
    def etl_security_configuration(self) -> str:
        """The base of the Glue security configuration's name (a digest follows it)."""
        return f"{self.prefix}-etl"

    @property
    def athena_workgroup(self) -> str:
        return bounded(f"{self.prefix}-lake", ATHENA_WORKGROUP_NAME_MAX)

    @property
    def studio_domain(self) -> str:
        """The base of the domain's name (a digest follows it: physical_names.py)."""
        return bounded(f"{self.prefix}-studio", DIGESTED_SAGEMAKER_NAME_MAX)

    @property
    def studio_environment(self) -> str:
        """The base of the Studio lifecycle configuration's name (a digest follows it)."""
        return bounded(f"{self.prefix}-studio-environment", DIGESTED_SAGEMAKER_NAME_MAX)

    @property
    def tracking_server(self) -> str:
        """The stage's MLflow tracking server (create-only: a new name is a new, empty server)."""
        return bounded(f"{self.prefix}-tracking", TRACKING_SERVER_NAME_MAX)


@dataclass(frozen=True)
class UseCaseNames:
    """Every name of one use case's resources in one stage (`prefix` is the stage's
    `<project>-<stage>`)."""

    prefix: str
    use_case: str

    def state_machine(self, pipeline: str) -> str:
        if pipeline not in PIPELINES:
            raise ValueError(f"unknown pipeline {pipeline!r}: one of {', '.join(PIPELINES)}")
        return bounded(f"{self.prefix}-{self.use_case}-{pipeline}", STATE_MACHINE_NAME_MAX)

    @property
    def model_package_group(self) -> str:
        return bounded(f"{self.prefix}-{self.use_case}", SAGEMAKER_NAME_MAX)

    @property
    def endpoint(self) -> str:
        return bounded(f"{self.prefix}-{self.use_case}", SAGEMAKER_NAME_MAX)

    @property
    def algorithm(self) -> str:
        """The app's own algorithm resource for the use case (training.own_algorithm)."""
        return bounded(f"{self.prefix}-{self.use_case}", SAGEMAKER_NAME_MAX)

    @property
    def glue_job(self) -> str:
        return bounded(f"{self.prefix}-{self.use_case}-etl", GLUE_JOB_NAME_MAX)

    @property
    def glue_table(self) -> str:
        """Glue Data Catalog (and Athena) table names are lowercase with '_', not '-'."""
        return bounded(self.use_case.replace("-", "_"), GLUE_TABLE_NAME_MAX)

    @property
    def predictions_table(self) -> str:
        """The catalog table of its batch predictions (manifest `batch_predictions`)."""
        return bounded(f"{self.glue_table}_predictions", GLUE_TABLE_NAME_MAX)

    @property
    def batch_schedule(self) -> str:
        return bounded(f"{self.prefix}-{self.use_case}-{BATCH_INFERENCE}", SCHEDULE_NAME_MAX)

    # The artifacts bucket's folders of the use case's executions (the first state puts each
    # execution under `<folder><execution name>/`: runtime_scripts/pipeline_input).
    @property
    def training_runs_prefix(self) -> str:
        return f"runs/{self.use_case}/"

    @property
    def batch_runs_prefix(self) -> str:
        return f"batch/{self.use_case}/"

    @property
    def predictions_prefix(self) -> str:
        """The artifacts bucket's folder of its prediction table, one folder per partition."""
        return f"predictions/{self.use_case}/"

    @property
    def data_profiles_prefix(self) -> str:
        """Where the split job leaves a profile of each data location it split (one folder per
        location, named by a hash of it: runtime_scripts/pipeline_input/cross_validation.py)."""
        return f"profiles/{self.use_case}/"

    @property
    def map_results_prefix(self) -> str:
        """Where the resampling pipelines' distributed Maps write their results (Step Functions
        adds a folder per Map Run); apart from runs/, where an execution may have any name."""
        return f"map-runs/{self.use_case}/"

    @property
    def batch_input_prefix(self) -> str:
        """The raw bucket's key prefix a scheduled (or `{}`) batch run scores."""
        return f"batch/input/{self.use_case}/"

    def tag(self, scope: IConstruct, pipeline: str | None = None) -> None:
        """Tags every resource under `scope` with the use case (and `pipeline`, when given)."""
        cdk.Tags.of(scope).add(USE_CASE_TAG, self.use_case)
        if pipeline is not None:
            if pipeline not in PIPELINES:
                raise ValueError(f"unknown pipeline {pipeline!r}: one of {', '.join(PIPELINES)}")
            cdk.Tags.of(scope).add(PIPELINE_TAG, pipeline)
