"""The container images the jobs run: our runtime scripts' image, always built and used for
processing, evaluation, packaging, serving and batch transform; and for training and tuning either
that same image (script mode) or SageMaker's built-in XGBoost image (`training.algorithm =
"builtin-xgboost"`), whose model the training pipeline then repacks into our bundle format."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ml_constructs.network import IsolatedNetwork
from ml_constructs.sagemaker_jobs import JobSettings

RUNTIME_SCRIPTS = Path(__file__).resolve().parent.parent / "runtime_scripts"
# The built-in algorithm's version. 3.0-5 (XGBoost 3.0) and not 1.7-1: the 1.x containers save
# `xgboost-model` in XGBoost's legacy binary format, which XGBoost >= 3.1 (our image pins 3.2)
# can no longer load, so such a model could not be repacked; XGBoost 3.0 saves it as UBJSON.
BUILTIN_XGBOOST_VERSION = "3.0-5"


def builtin_image_uri(framework: str, region: str, version: str | None = None) -> str:
    """A SageMaker built-in image URI for `region`, resolved offline by the SageMaker SDK (its
    account-per-region tables ship with the SDK), never hard-coded here."""
    from sagemaker.core import image_uris

    return image_uris.retrieve(framework, region, version) if version else \
        image_uris.retrieve(framework, region)


class RuntimeImage(Construct):
    """The runtime scripts' image, built by `cdk deploy` (or the pipeline's assets step) from
    runtime_scripts/Dockerfile. Synth only stages the build context; no Docker is needed.

    `image_uri` is always ours; `training_image_uri` is the image of training and tuning jobs:
    ours, or SageMaker's built-in XGBoost (resolved by the SageMaker SDK) when
    `use_builtin_xgboost`, in which case `builtin_training` is true."""

    def __init__(self, scope: Construct, construct_id: str, *, use_builtin_xgboost: bool,
                 region: str) -> None:
        super().__init__(scope, construct_id)
        self.asset = ecr_assets.DockerImageAsset(
            self, "Asset", directory=str(RUNTIME_SCRIPTS), file="use_cases/churn/Dockerfile",
            platform=ecr_assets.Platform.LINUX_AMD64,
            exclude=["**/__pycache__", "**/*.pyc", "glue", "pipeline_input", "use_cases/*/tests",
                     "use_cases/*/sample_data"],
        )
        self.image_uri = self.asset.image_uri
        self.builtin_training = use_builtin_xgboost
        self.training_image_uri = (
            builtin_image_uri("xgboost", region, BUILTIN_XGBOOST_VERSION)
            if use_builtin_xgboost else self.image_uri)

    def grant_pull(self, grantee: iam.IGrantable) -> None:
        # SageMaker pulls its built-in algorithm images itself: only ours needs a grant.
        self.asset.repository.grant_pull(grantee)

    def job_settings(self, *, role: iam.IRole, key: kms.IKey, git_commit: str,
                     network: IsolatedNetwork | None) -> JobSettings:
        """What every job request of a stack needs: this image, the role, the key, the VPC."""
        return JobSettings(role_arn=role.role_arn, image_uri=self.image_uri,
                           training_image_uri=self.training_image_uri,
                           builtin_training=self.builtin_training, kms_key_id=key.key_arn,
                           git_commit=git_commit, use_case="churn",
                           subnet_ids=network.subnet_ids if network else (),
                           security_group_ids=network.security_group_ids if network else ())
