"""Training across the instances of one job on a share of the rows each, for a use case whose
manifest says its script does so (image.sharded_training; runtime_scripts/common/tabular/
distributed.py): preprocessing writes the train split as one shard per instance
(ML_TRAIN_SHARDS = the execution's training.instance_count). The train channel's
ShardedByS3Key, which makes SageMaker copy each instance about 1/n of the channel's objects
(AWS's S3DataDistributionType), is the channel's option like any other: the manifest requires
it as the train channel's default (UseCaseManifest's channel checks), and the request takes it
from `training.channel_config` (ml_constructs/sagemaker_jobs.py). With one instance that is the
whole split, as FullyReplicated."""

from __future__ import annotations

import copy

from runtime_scripts import contract


def sharded_preprocessing(request: dict) -> dict:
    """CreateProcessingJob of the preprocessing, told how many train shards to write."""
    request = copy.deepcopy(request)
    request["Environment"][f"{contract.TRAIN_SHARDS_ENV}.$"] = "$.training.train_shards"
    return request
