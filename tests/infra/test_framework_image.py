"""AWS's framework training image, chosen in a use case's manifest (image.training_image =
"framework"): its URI from the SageMaker SDK for the stage's region and the image's instance
family, and the script-mode contract its SageMaker training toolkit reads (sagemaker_program,
sagemaker_submit_directory: our code archive, an S3 asset) in every training request, which
botocore's CreateTrainingJob shape accepts."""

from __future__ import annotations

import dataclasses
import io
import tarfile

import aws_cdk as cdk
import pytest

from config import load_stage_config
from ml_constructs import framework_code, pipeline_defaults
from ml_constructs.runtime_image import RuntimeImage
from ml_constructs.sagemaker_jobs import image_algorithm_specification, training_job
from runtime_scripts.common.manifest import FrameworkTraining, ManifestError, load_manifest
from tests.contract.asl import resolve
from tests.contract.shapes import request_problems
from tests.pipeline_input.events import TRAINING_DEFAULTS, TRAINING_PLATFORM, training

PYTORCH = FrameworkTraining(framework="pytorch", version="2.10.0", py_version="py313")


REGIONS = {"eu-west-1": "763104351884.dkr.ecr.eu-west-1.amazonaws.com",
           "cn-north-1": "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn"}


@pytest.fixture(scope="module")
def images() -> dict[str, tuple[RuntimeImage, cdk.Stack]]:
    """dev's churn as if its manifest chose AWS's PyTorch image on GPU instances (the stage
    loaded before, with its CPU training type), its RuntimeImage in each region of REGIONS."""
    import config.use_cases

    stage = load_stage_config("dev")
    manifest = load_manifest("churn")
    chosen = dataclasses.replace(manifest, image=dataclasses.replace(
        manifest.image, instance_family="gpu", training_image="framework",
        framework_training=PYTORCH))
    built = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config.use_cases, "load_manifest", lambda name: chosen)
        for region in REGIONS:
            stack = cdk.Stack(cdk.App(), "Images", env=cdk.Environment(account="123456789012",
                                                                         region=region))
            built[region] = RuntimeImage(stack, "RuntimeImage", use_case=stage.use_cases[0],
                                         region=region), stack
    return built


def test_the_uri_is_the_sdks_for_the_region_and_the_family(images):
    for region, registry in REGIONS.items():
        image, _ = images[region]
        assert image.training_image_uri == f"{registry}/pytorch-training:2.10.0-gpu-py313"
        assert image.image_uri != image.training_image_uri  # processing and serving: ours


def test_every_training_request_carries_the_script_mode_contract(images):
    image, stack = images["eu-west-1"]
    hyperparameters = image.script_mode_hyperparameters
    assert hyperparameters["sagemaker_program"] == framework_code.ENTRY_POINT
    assert hyperparameters["sagemaker_region"] == "eu-west-1"
    # The toolkit opens it as a gzipped tar whatever its name (files.download_and_extract).
    assert image.code is not None and image.code.s3_object_key.endswith(".gz")
    role = cdk.aws_iam.Role(stack, "Role", assumed_by=cdk.aws_iam.ServicePrincipal(
        "sagemaker.amazonaws.com"))
    image.grant_pull(role)  # ECR for our image, and s3:GetObject* on the code archive
    statements = stack.resolve(role.node.find_child("DefaultPolicy").document)["Statement"]
    actions = {a for s in statements
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"s3:GetObject*", "ecr:BatchGetImage"} <= actions
    # The first state adds them to the job's hyperparameters; the request fits the API.
    submit = "s3://cdk-hnb659fds-assets-123456789012-eu-west-1/" + image.code.s3_object_key
    platform = {**TRAINING_PLATFORM, "training_instance_family": "gpu",
                "script_mode_hyperparameters": {**hyperparameters,
                                                "sagemaker_submit_directory": submit}}
    defaults = {**TRAINING_DEFAULTS, "training": {**TRAINING_DEFAULTS["training"],
                                                  "instance_type": "ml.g5.xlarge"}}
    settings = image.job_settings(role=role, key=cdk.aws_kms.Key(stack, "Key"), git_commit="abc",
                                  network=None)
    settings = dataclasses.replace(settings, role_arn="arn:aws:iam::123456789012:role/jobs",
                                   kms_key_id="arn:aws:kms:eu-west-1:123456789012:key/k")
    platform["algorithm_specification"] = image_algorithm_specification(settings)
    state = training({}, defaults=defaults, platform=platform)
    assert state["training"]["hyperparameters"]["sagemaker_submit_directory"] == submit
    assert state["tuning"]["effective_static_hyperparameters"]["sagemaker_program"] == \
        framework_code.ENTRY_POINT
    request = resolve(training_job(settings), state, {"Execution": {"Name": "x"}})
    assert request["AlgorithmSpecification"]["TrainingImage"] == image.training_image_uri
    assert request["Environment"]["ML_USE_CASE"] == "churn"  # the entry point's use case
    assert request_problems("sagemaker", "CreateTrainingJob", request) == []


def test_a_script_mode_hyperparameter_given_in_the_input_is_refused():
    from runtime_scripts.pipeline_input import InvalidPipelineInput
    from tests.pipeline_input.events import error

    platform = {**TRAINING_PLATFORM, "script_mode_hyperparameters": {"sagemaker_program": "e.py"}}
    exc = error(InvalidPipelineInput, training,
                {"training": {"hyperparameters": {"sagemaker_program": "other.py"}}},
                platform=platform)
    assert exc.keys == ["training.hyperparameters.sagemaker_program"]
    assert "is set by the platform" in str(exc)


def test_the_code_archive_holds_the_entry_point_and_the_use_cases_code_only():
    first, second = framework_code.build_archive("churn"), framework_code.build_archive("churn")
    assert first == second  # the same files, the same bytes: an unchanged asset
    with tarfile.open(fileobj=io.BytesIO(first.read_bytes()), mode="r:gz") as archive:
        names = archive.getnames()
    assert framework_code.ENTRY_POINT in names  # at the root, where sagemaker_program is
    assert "runtime_scripts/use_cases/churn/train.py" in names
    assert "runtime_scripts/contract.py" in names
    assert not [n for n in names if "/tests/" in n or "sample_data" in n or "use_cases/ames" in n
                or "pipeline_input" in n]


def test_a_framework_choice_without_a_framework_image_is_refused():
    manifest = load_manifest("churn")
    broken = dataclasses.replace(manifest, image=dataclasses.replace(
        manifest.image, training_image="framework"))
    with pytest.raises(ManifestError, match="image.training_image is 'framework' but "
                                            "image.framework_training names no framework"):
        broken.validate()


def test_the_platform_values_are_empty_for_the_use_cases_own_image():
    config = load_stage_config("dev")
    values = pipeline_defaults.training_platform(config, config.use_cases[0],
                                                 artifacts_bucket="artifacts")
    assert values["script_mode_hyperparameters"] == {}
