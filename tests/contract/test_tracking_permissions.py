"""Experiment tracking's permissions (prod turns it on), asked of the IAM evaluator over the
synthesized account: the jobs' role logs to the stage's tracking server and no other; the
server's own role reaches its artefact prefix and the stage key, nothing else of the bucket."""

from __future__ import annotations

import pytest

from ml_constructs.experiment_tracking import LOGGING_ACTIONS
from ml_constructs.resource_names import StageNames
from tests.contract import authorization

STAGE = "prod"
KMS_VIA_S3 = "kms:ViaService"


@pytest.fixture(scope="module")
def tracking(synthesized, accounts):
    config, account = synthesized[STAGE].config, accounts[STAGE]
    assert config.experiment_tracking.enabled, "prod no longer turns tracking on: move these"
    ((stack, _, server),) = account.resources("AWS::SageMaker::MlflowTrackingServer")
    (machine,) = [m for m in account.state_machines if m.name.endswith("-training")]
    job_role = machine.asl["States"]["Train model"]["Parameters"]["RoleArn"]
    storage = account.assembly.stack(f"{config.resource_prefix}-storage")

    def output(name: str) -> str:
        return account.render(storage, storage.template["Outputs"][name]["Value"])

    return (config, account, server, job_role, output("ArtifactsBucketName"),
            output("PlatformKeyArn"))


def server_arn(config, name: str, action: str = "sagemaker-mlflow:CreateRun") -> str:
    return authorization.arn(action, region=config.region, MlflowTrackingServerName=name)


def test_jobs_log_to_the_stage_server_only(tracking) -> None:
    config, account, server, job_role, _, _ = tracking
    name = StageNames(config.resource_prefix).tracking_server
    assert server["TrackingServerName"] == name
    for action in LOGGING_ACTIONS:
        # Each action is one the Service Authorization Reference authorizes on the server.
        assert account.can(job_role, action, server_arn(config, name, action)), action
        assert not account.can(job_role, action, server_arn(config, "another-team", action))
    for action in ("sagemaker-mlflow:DeleteExperiment", "sagemaker-mlflow:AccessUI",
                   "sagemaker-mlflow:CreateRegisteredModel"):
        assert not account.can(job_role, action, server_arn(config, name)), action


def test_jobs_write_run_artefacts_straight_to_the_store(tracking) -> None:
    config, account, server, job_role, artifacts, _ = tracking
    prefix = config.experiment_tracking.artifact_prefix
    assert server["ArtifactStoreUri"] == f"s3://{artifacts}/{prefix}"
    # The MLflow client uploads artefacts to S3 itself, as the job's role.
    assert account.can(job_role, "s3:PutObject",
                       f"arn:aws:s3:::{artifacts}/{prefix}1/abc/artifacts/model/model.json")


def test_server_role_reaches_its_prefix_and_the_key_only(tracking) -> None:
    config, account, server, _, artifacts, key = tracking
    role, prefix = server["RoleArn"], config.experiment_tracking.artifact_prefix
    for action in ("s3:GetObject", "s3:PutObject"):
        assert account.can(role, action, f"arn:aws:s3:::{artifacts}/{prefix}1/r/artifacts/m")
        assert not account.can(role, action, f"arn:aws:s3:::{artifacts}/runs/churn/model.tar.gz")
    bucket = f"arn:aws:s3:::{artifacts}"
    assert account.can(role, "s3:ListBucket", bucket, {"s3:prefix": f"{prefix}1/"})
    assert not account.can(role, "s3:ListBucket", bucket, {"s3:prefix": "runs/"})
    via_s3 = {KMS_VIA_S3: f"s3.{config.region}.amazonaws.com"}
    assert account.can(role, "kms:Decrypt", key, via_s3)
    assert account.can(role, "kms:GenerateDataKey", key, via_s3)
    assert not account.can(role, "kms:Decrypt", key, {KMS_VIA_S3: "sqs.eu-west-1.amazonaws.com"})
    assert not account.can(role, "sagemaker:CreateModelPackage", "*")


def test_data_scientists_open_the_stage_server_from_studio(tracking) -> None:
    config, account, server, _, _, _ = tracking
    assert config.studio.enabled and config.studio.mlflow_tracking_server_arn is None
    (stack,) = [s for s in account.assembly.stacks if s.name.endswith("-workspace")]
    (domain,) = stack.of_type("AWS::SageMaker::Domain").values()
    role = account.render(stack, domain["Properties"]["DefaultUserSettings"]["ExecutionRole"])
    name = server["TrackingServerName"]
    for action in ("sagemaker-mlflow:AccessUI", "sagemaker-mlflow:SearchRuns"):
        assert account.can(role, action, server_arn(config, name)), action
        assert not account.can(role, action, server_arn(config, "another-team")), action
