"""The instances of every job the first state shapes: ResourceConfig (training, tuning),
ProcessingResources.ClusterConfig and TransformResources, each with the stage key on its
volume (`platform.volume_kms_key`), except where SageMaker refuses one.

The instance type is the execution's (`training.instance_type`, ...), so whether a request may
carry VolumeKmsKeyId is decided here, per execution, by contract.volume_kms_key: SageMaker
rejects a volume key for an instance type with local (NVMe) storage, which the instance's
hardware encrypts instead. The requests read these objects whole (ml_constructs/sagemaker_jobs.py)
because a member that does not apply must be absent, not null.
"""

from __future__ import annotations

from typing import Any

from .. import contract
from .schema import Str

# The stage key's ARN, as the deployment renders it (API: KmsKeyId, at most 2048 characters;
# SageMaker checks its form).
PLATFORM_FIELDS = {"volume_kms_key": Str(max_len=2048)}


def _volume_key(section: dict[str, Any], platform: dict[str, Any]) -> dict[str, str]:
    return contract.volume_kms_key(section["instance_type"], platform["volume_kms_key"])


def cluster(section: dict[str, Any], platform: dict[str, Any]) -> dict[str, Any]:
    """ResourceConfig of a `training` section, ProcessingClusterConfig of a `processing` one."""
    return {"InstanceType": section["instance_type"], "InstanceCount": section["instance_count"],
            "VolumeSizeInGB": section["volume_size_gb"], **_volume_key(section, platform)}


def transform_resources(section: dict[str, Any], platform: dict[str, Any]) -> dict[str, Any]:
    """TransformResources of a `transform` section (no volume size: SageMaker sizes it)."""
    return {"InstanceType": section["instance_type"], "InstanceCount": section["instance_count"],
            **_volume_key(section, platform)}


def with_cluster(section: dict[str, Any], platform: dict[str, Any]) -> dict[str, Any]:
    """A `processing` or `training` section with its request's `cluster_config`."""
    return {**section, "cluster_config": cluster(section, platform)}
