"""Training across the instances of one job on a share of the rows each, for a use case whose
manifest says its script does so (image.sharded_training; runtime_scripts/common/tabular/
distributed.py): preprocessing writes the train split as one shard per instance
(ML_TRAIN_SHARDS = the execution's training.instance_count) and the train channel is
ShardedByS3Key, so SageMaker copies each instance about 1/n of the channel's objects (AWS's
S3DataDistributionType). With one instance that is the whole split, as FullyReplicated.
The other channels (validation, transform) stay FullyReplicated: every instance scores the
same validation rows."""

from __future__ import annotations

import copy

from runtime_scripts import contract

SHARDED = "ShardedByS3Key"


def shard_train_channel(request: dict, definition_key: str | None = None) -> dict:
    """CreateTrainingJob (or a tuning job's `definition_key` definition) with the train
    channel ShardedByS3Key."""
    request = copy.deepcopy(request)
    target = request[definition_key] if definition_key else request
    for channel in target["InputDataConfig"]:
        if channel["ChannelName"] == contract.CHANNEL_TRAIN:
            channel["DataSource"]["S3DataSource"]["S3DataDistributionType"] = SHARDED
    return request


def sharded_preprocessing(request: dict) -> dict:
    """CreateProcessingJob of the preprocessing, told how many train shards to write."""
    request = copy.deepcopy(request)
    request["Environment"][f"{contract.TRAIN_SHARDS_ENV}.$"] = "$.training.train_shards"
    return request
