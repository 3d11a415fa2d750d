"""The stage key on job volumes, except for instance types with local NVMe storage: SageMaker
refuses VolumeKmsKeyId for them, and the instance type is the execution's, so the first state
decides and the requests read what it shaped (runtime_scripts/pipeline_input/volumes.py)."""

from __future__ import annotations

import pytest

from ml_constructs import sagemaker_jobs as jobs
from runtime_scripts import contract
from tests.contract import asl

from .events import VOLUME_KEY, batch, training

KEY = VOLUME_KEY["volume_kms_key"]
SETTINGS = jobs.JobSettings(
    role_arn="arn:aws:iam::123456789012:role/jobs", image_uri="image", training_image_uri="image",
    builtin_training=False, kms_key_id=KEY, git_commit="abc", use_case="churn",
    training_metrics=("validation:auc",))
CONTEXT = {"Execution": {"Name": "x", "Input": {}}}
LOCAL_STORAGE = ("ml.g4dn.xlarge", "ml.g5.2xlarge", "ml.p3dn.24xlarge", "ml.p4d.24xlarge",
                 "ml.m5d.large", "ml.c5d.xlarge", "ml.p5.48xlarge", "ml.trn1.2xlarge")
EBS_ONLY = ("ml.m5.xlarge", "ml.c5.2xlarge", "ml.p3.2xlarge", "ml.c5n.xlarge", "ml.inf2.xlarge")


@pytest.mark.parametrize("instance_type", LOCAL_STORAGE)
def test_local_storage_types_take_no_volume_key(instance_type):
    assert contract.volume_kms_key(instance_type, KEY) == {}


@pytest.mark.parametrize("instance_type", EBS_ONLY)
def test_ebs_only_types_take_the_stage_key(instance_type):
    assert contract.volume_kms_key(instance_type, KEY) == {"VolumeKmsKeyId": KEY}


def _resolved(request: dict, state: dict) -> dict:
    return asl.resolve(request, state, CONTEXT)


def test_a_gpu_training_request_has_no_volume_key_and_its_cpu_processing_keeps_it():
    """The defect: every request named the key, and CreateTrainingJob on ml.g4dn (a GPU
    training type with NVMe storage) is refused by SageMaker."""
    state = training({"training": {"instance_type": "ml.g4dn.xlarge"}})
    train = _resolved(jobs.training_job(SETTINGS), state)["ResourceConfig"]
    assert train == {"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1,
                     "VolumeSizeInGB": 30}
    # (The tuning job's own config comes from a Pass state: its training definition alone.)
    tune = _resolved(jobs.tuning_job(SETTINGS, warm_start=False)["TrainingJobDefinition"], state)
    assert "VolumeKmsKeyId" not in tune["ResourceConfig"]
    preprocessing = _resolved(jobs.preprocessing_job(SETTINGS, inputs=[], data_path="$.run.prefix"),
                              state)
    assert preprocessing["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY


def test_a_cpu_training_request_keeps_the_key_and_gpu_processing_drops_it():
    state = training({"processing": {"instance_type": "ml.g5.xlarge"}})
    assert _resolved(jobs.training_job(SETTINGS), state)["ResourceConfig"] == {
        "InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30,
        "VolumeKmsKeyId": KEY}
    evaluation = _resolved(jobs.evaluation_job(SETTINGS),
                           {**state, "model": {"artifacts": state["run"]["s3"]["model_output"]}})
    assert evaluation["ProcessingResources"]["ClusterConfig"] == {
        "InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}


@pytest.mark.parametrize(("instance_type", "keyed"), [("ml.g4dn.xlarge", False),
                                                      ("ml.m5.large", True)])
def test_a_batch_transform_names_the_key_only_for_ebs_instances(instance_type, keyed):
    state = batch({"transform": {"instance_type": instance_type}})
    resources = _resolved(jobs.transform_job(SETTINGS), state)["TransformResources"]
    assert ("VolumeKmsKeyId" in resources) is keyed
    assert resources["InstanceType"] == instance_type
