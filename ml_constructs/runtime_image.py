"""The container images a use case's jobs run: its own image (built from its folder's Dockerfile),
always used for processing, evaluation, packaging, serving and batch transform; and for training
and tuning either that same image (script mode), AWS's framework image its manifest chooses
(`image.training_image = "framework"`: the same code, from an archive, in script mode), or the
SageMaker built-in algorithm it names (`training.algorithm = "builtin"`), whose model the
training pipeline then repacks."""

from __future__ import annotations

import posixpath
from pathlib import Path

from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from config import UseCaseConfig
from ml_constructs.framework_code import ENTRY_POINT, build_archive
from ml_constructs.network import IsolatedNetwork
from ml_constructs.sagemaker_jobs import JobSettings
from runtime_scripts.common.manifest import USE_CASE_ENV, FrameworkTraining

RUNTIME_SCRIPTS = Path(__file__).resolve().parent.parent / "runtime_scripts"


def builtin_image_uri(framework: str, region: str, version: str | None = None) -> str:
    """A SageMaker built-in image URI for `region`, resolved offline by the SageMaker SDK (its
    account-per-region tables ship with the SDK), never hard-coded here."""
    from sagemaker.core import image_uris

    return image_uris.retrieve(framework, region, version) if version else \
        image_uris.retrieve(framework, region)


# An instance type of each family, for the SDK's choice between a framework's CPU and GPU
# image (image_uris.retrieve reads only the family from it).
FAMILY_INSTANCE = {"cpu": "ml.m5.xlarge", "gpu": "ml.g5.xlarge"}


def framework_image_uri(framework: FrameworkTraining, region: str, family: str) -> str:
    """AWS's training image of a framework for `region`, resolved offline by the SageMaker SDK
    (its version, Python and processor tables ship with it)."""
    from sagemaker.core import image_uris

    return image_uris.retrieve(framework.framework, region, version=framework.version,
                               py_version=framework.py_version, image_scope="training",
                               instance_type=FAMILY_INSTANCE[family])


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
        self.builtin_content_type = builtin.content_type \
            if self.builtin_training and builtin else None
        self.automl_training = use_case.automl_training
        self.training_image_uri = (
            builtin_image_uri(builtin.framework, region, builtin.version)
            if self.builtin_training and builtin is not None else self.image_uri)
        # The built-in's inference image is its training image (the SDK's one URI per
        # algorithm and region for both).
        self.builtin_serving_image_uri = self.training_image_uri \
            if use_case.builtin_serving and self.builtin_training else None
        # The hyperparameters AWS's framework image needs to find and run our code (none for
        # our own image, whose `train` entry point knows it).
        self.script_mode_hyperparameters: dict[str, str] = {}
        self.code: s3_assets.Asset | None = None
        framework = manifest.image.framework_training
        if manifest.image.training_image == "framework" and not self.builtin_training \
                and framework is not None:
            self.training_image_uri = framework_image_uri(framework, region,
                                                          manifest.image.instance_family)
            self.code = s3_assets.Asset(self, "TrainingCode", path=str(build_archive(folder)))
            # The SageMaker training toolkit of AWS's images reads these (its params module),
            # downloads the archive and opens it as a gzipped tar, and runs the program from it
            # with the other hyperparameters as --name value arguments. The image holds only
            # what AWS installed: a network-isolated job cannot pip install more, so a use
            # case's own requirements must already be in that image.
            self.script_mode_hyperparameters = {
                "sagemaker_program": ENTRY_POINT,
                "sagemaker_submit_directory": self.code.s3_object_url,
                "sagemaker_region": region,
            }

    def grant_pull(self, grantee: iam.IGrantable) -> None:
        # SageMaker pulls its built-in and framework images itself: only ours needs a grant,
        # and the framework image's jobs read our code archive.
        self.asset.repository.grant_pull(grantee)
        if self.code is not None:
            self.code.grant_read(grantee)

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
                           builtin_algorithm=self.builtin_algorithm,
                           builtin_content_type=self.builtin_content_type,
                           automl_training=self.automl_training,
                           builtin_serving_image_uri=self.builtin_serving_image_uri)
