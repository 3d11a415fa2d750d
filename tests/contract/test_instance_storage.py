"""Which instance types take a volume KMS key (runtime_scripts/contract.py), held to SageMaker's
published instance types, and applied in every rendered request of the deployed stages."""

from __future__ import annotations

import botocore.session

from runtime_scripts import contract

# The families of the API's instance type enums with EBS volumes only (no instance store, per the
# EC2 instance type documentation): their requests carry the stage key.
EBS_ONLY_FAMILIES = frozenset({
    "c4", "c5", "c5n", "c6g", "c6gn", "c6i", "c6in", "c7g", "c7i", "c7i-flex", "c8g", "c8i",
    "c8i-flex", "inf1", "inf2", "m4", "m5", "m6g", "m6i", "m7i", "m7i-flex", "m8g", "m8i",
    "m8i-flex", "p2", "p3", "r5", "r6g", "r6i", "r7i", "r8g", "r8i", "r8i-flex", "t2", "t3"})
ENUMS = ("TrainingInstanceType", "ProcessingInstanceType", "TransformInstanceType",
         "ProductionVariantInstanceType")
VOLUME_RESOURCES = {"CreateTrainingJob": ("ResourceConfig",),
                    "CreateHyperParameterTuningJob": ("TrainingJobDefinition", "ResourceConfig"),
                    "CreateProcessingJob": ("ProcessingResources", "ClusterConfig"),
                    "CreateTransformJob": ("TransformResources",)}


def test_every_family_sagemaker_offers_is_classified():
    """A family botocore adds fails here until someone decides, from the EC2 documentation,
    whether it has instance storage."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    families = {contract.instance_family(t) for shape in ENUMS
                for t in model.shape_for(shape).enum}
    assert not contract.INSTANCE_STORAGE_FAMILIES & EBS_ONLY_FAMILIES
    assert families - contract.INSTANCE_STORAGE_FAMILIES - EBS_ONLY_FAMILIES == set()


def test_rendered_job_requests_name_the_volume_key_exactly_for_ebs_instances(renderings):
    """Every stage's processing, training, tuning and transform requests as the deployed state
    machines send them; the 'every' stage trains its GPU use case on ml.g5 (NVMe storage)."""
    seen = {True: 0, False: 0}
    for rendering in renderings.values():
        for task in rendering.tasks:
            path = VOLUME_RESOURCES.get(task.operation)
            if path is None:
                continue
            resources = task.request
            for step in path:
                resources = resources[step]
            local = contract.has_instance_storage(resources["InstanceType"])
            assert ("VolumeKmsKeyId" in resources) is not local, (task.state_machine, task.state)
            seen[local] += 1
    assert seen[True] and seen[False]
