"""The container images a use case's jobs run: its own image (built from its folder's Dockerfile),
always used for processing, evaluation, packaging, serving and batch transform; and for training
and tuning either that same image (script mode) or the SageMaker built-in algorithm its manifest
names (`training.algorithm = "builtin"`), whose model the training pipeline then repacks."""

from __future__ import annotations

import posixpath
from pathlib import Path

from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from config import UseCaseConfig
from ml_constructs.network import IsolatedNetwork
from ml_constructs.sagemaker_jobs import JobSettings
from runtime_scripts.common.manifest import USE_CASE_ENV

RUNTIME_SCRIPTS = Path(__file__).resolve().parent.parent / "runtime_scripts"


def builtin_image_uri(framework: str, region: str, version: str | None = None) -> str:
    """A SageMaker built-in image URI for `region`, resolved offline by the SageMaker SDK (its
    account-per-region tables ship with the SDK), never hard-coded here."""
    from sagemaker.core import image_uris

    return image_uris.retrieve(framework, region, version) if version else \
        image_uris.retrieve(framework, region)


def build_context_excludes(folder: str) -> list[str]:
    """What the image's build context (runtime_scripts/) leaves out: what runs elsewhere (Glue,
    the input validator), every use case's folder but `use_cases/<folder>` (so that editing one
    use case neither changes another's asset hash nor rebuilds its image), and this one's tests
    and sample data. Later patterns win and `!` includes again, as in a .dockerignore (CDK's
    Docker ignore mode)."""
    return ["**/__pycache__", "**/*.pyc", "glue", "pipeline_input",
            "use_cases/*", "!use_cases/__init__.py", f"!use_cases/{folder}",
            f"use_cases/{folder}/tests", f"use_cases/{folder}/sample_data"]


class RuntimeImage(Construct):
    """A use case's image, built by `cdk deploy` (or the pipeline's assets step) from the
    Dockerfile its manifest names (tabular use cases share one), with runtime_scripts/ as the
    build context and its name as the ML_USE_CASE build argument. Synth only stages the build
    context; no Docker is needed.

    `image_uri` is always the use case's own; `training_image_uri` is the image of training and
    tuning jobs: the same, or the manifest's built-in algorithm (resolved by the SageMaker SDK)
    when the stage asks for it, in which case `builtin_training` is true."""

    def __init__(self, scope: Construct, construct_id: str, *, use_case: UseCaseConfig,
                 region: str) -> None:
        super().__init__(scope, construct_id)
        manifest = use_case.manifest
        builtin = manifest.image.builtin_training
        self.use_case = use_case.name
        self.training_metrics = tuple(manifest.training_metrics)
        # The folder the manifest names (its own, normally `use_cases/<name>`).
        folder = manifest.folder.relative_to(RUNTIME_SCRIPTS / "use_cases").as_posix()
        self.asset = ecr_assets.DockerImageAsset(
            self, "Asset", directory=str(RUNTIME_SCRIPTS),
            file=posixpath.normpath(f"use_cases/{folder}/{manifest.image.dockerfile}"),
            build_args={USE_CASE_ENV: use_case.name},
            platform=ecr_assets.Platform.LINUX_AMD64,
            exclude=build_context_excludes(folder),
        )
        self.image_uri = self.asset.image_uri
        self.builtin_training = use_case.builtin_training and builtin is not None
        self.builtin_algorithm = builtin.framework if self.builtin_training and builtin else None
        self.training_image_uri = (
            builtin_image_uri(builtin.framework, region, builtin.version)
            if self.builtin_training and builtin is not None else self.image_uri)

    def grant_pull(self, grantee: iam.IGrantable) -> None:
        # SageMaker pulls its built-in algorithm images itself: only ours needs a grant.
        self.asset.repository.grant_pull(grantee)

    def job_settings(self, *, role: iam.IRole, key: kms.IKey, git_commit: str,
                     network: IsolatedNetwork | None,
                     tracking_server_arn: str | None = None,
                     tags: dict[str, str] | None = None) -> JobSettings:
        """What every job request of a stack needs: this image, the role, the key, the VPC,
        and the tracking server the jobs log to, if the stage has one."""
        return JobSettings(role_arn=role.role_arn, image_uri=self.image_uri,
                           training_image_uri=self.training_image_uri,
                           builtin_training=self.builtin_training, kms_key_id=key.key_arn,
                           git_commit=git_commit, use_case=self.use_case,
                           subnet_ids=network.subnet_ids if network else (),
                           security_group_ids=network.security_group_ids if network else (),
                           training_metrics=self.training_metrics,
                           tracking_server_arn=tracking_server_arn,
                           tags=tuple((tags or {}).items()),
                           builtin_algorithm=self.builtin_algorithm)
