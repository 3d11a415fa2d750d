"""The container image the jobs run: our runtime scripts, or SageMaker's built-in XGBoost."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from constructs import Construct

RUNTIME_SCRIPTS = Path(__file__).resolve().parent.parent / "runtime_scripts"
BUILTIN_XGBOOST_VERSION = "1.7-1"


def builtin_image_uri(framework: str, region: str, version: str | None = None) -> str:
    """A SageMaker built-in image URI for `region`, resolved offline by the SageMaker SDK (its
    account-per-region tables ship with the SDK), never hard-coded here."""
    from sagemaker.core import image_uris

    return image_uris.retrieve(framework, region, version) if version else \
        image_uris.retrieve(framework, region)


class RuntimeImage(Construct):
    """The runtime scripts' image, built by `cdk deploy` (or the pipeline's assets step) from
    runtime_scripts/Dockerfile. Synth only stages the build context; no Docker is needed."""

    def __init__(self, scope: Construct, construct_id: str, *, use_builtin_xgboost: bool,
                 region: str) -> None:
        super().__init__(scope, construct_id)
        self.custom = not use_builtin_xgboost
        self.asset: ecr_assets.DockerImageAsset | None = None
        if self.custom:
            self.asset = ecr_assets.DockerImageAsset(
                self, "Asset", directory=str(RUNTIME_SCRIPTS), file="Dockerfile",
                platform=ecr_assets.Platform.LINUX_AMD64,
                exclude=["**/__pycache__", "**/*.pyc", "glue", "pipeline_input"],
            )
            self.image_uri = self.asset.image_uri
        else:
            self.image_uri = builtin_image_uri("xgboost", region, BUILTIN_XGBOOST_VERSION)

    def grant_pull(self, grantee: iam.IGrantable) -> None:
        if self.asset is not None:
            self.asset.repository.grant_pull(grantee)
