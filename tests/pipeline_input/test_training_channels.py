"""The `training` section's channel options and algorithm resource, as the first state of the
training pipelines checks and shapes them."""

from __future__ import annotations

import pytest

from runtime_scripts.pipeline_input import InvalidPipelineInput

from .events import IMAGE_SPECIFICATION, error, training

ALGORITHM_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:algorithm/vendor-gbm-2"


def channels(**by_channel: dict) -> dict:
    return {"training": {"channels": by_channel}}


def test_each_channels_options_reach_the_request_members():
    out = training(channels(train={"input_mode": "Pipe", "compression_type": "Gzip",
                                   "s3_data_distribution_type": "ShardedByS3Key"},
                            validation={"input_mode": "FastFile"}))
    config = out["training"]["channel_config"]
    assert config["train"] == {
        "s3_data_source": {"S3DataType": "S3Prefix", "S3DataDistributionType": "ShardedByS3Key"},
        "object": "", "ContentType": "text/csv", "CompressionType": "Gzip",
        "RecordWrapperType": "None", "InputMode": "Pipe"}
    assert config["validation"]["InputMode"] == "FastFile"
    assert config["transform"]["ContentType"] == "application/json"
    assert config["transform"]["InputMode"] == "File"


@pytest.mark.parametrize(("given", "key", "words"), [
    # What churn's channels do not declare (its manifest): each names channel, key and choices.
    (channels(train={"record_wrapper_type": "RecordIO", "input_mode": "Pipe"}),
     "training.channels.train.record_wrapper_type",
     "'RecordIO' is not supported by use case 'churn''s 'train' channel (allowed: None)"),
    (channels(transform={"input_mode": "Pipe"}), "training.channels.transform.input_mode",
     "(allowed: File, FastFile)"),
    (channels(validation={"content_type": "application/x-parquet"}),
     "training.channels.validation.content_type", "(allowed: text/csv)"),
    (channels(train={"s3_data_type": "ManifestFile"}), "training.channels.train.s3_data_type",
     "(allowed: S3Prefix)"),
    # SageMaker's own rules across the options.
    (channels(train={"compression_type": "Gzip"}), "training.channels.train.compression_type",
     "'Gzip' with input_mode 'File': SageMaker applies it only in Pipe mode"),
    (channels(train={"attribute_names": ["source-ref"]}),
     "training.channels.train.attribute_names", "only read with s3_data_type "
     "AugmentedManifestFile"),
    (channels(train={"input_mode": "Streaming"}), "training.channels.train.input_mode",
     "(allowed: File, FastFile, Pipe)"),
    ({"training": {"algorithm_name": "gbm-"}}, "training.algorithm_name", "is not valid"),
    ({"training": {"algorithm_name": "arn:aws:sagemaker:eu-west-1:123456789012:model/gbm"}},
     "training.algorithm_name", "is not an algorithm's ARN"),
])
def test_an_option_the_use_case_or_sagemaker_refuses_names_channel_key_and_choices(
        given, key, words):
    problems = error(InvalidPipelineInput, training, given).problems
    assert any(p.key == key and words in p.render("input") for p in problems), problems


def test_without_an_algorithm_resource_the_jobs_train_the_use_cases_image():
    out = training({})
    assert out["training"]["algorithm_specification"] == \
        IMAGE_SPECIFICATION["algorithm_specification"]


def test_an_algorithm_resource_replaces_image_and_metric_definitions():
    out = training({"training": {"algorithm_name": ALGORITHM_ARN},
                    "tuning": {"enabled": True, "objective_metric": "validation:rmse",
                               "objective_type": "Minimize"}})
    # The algorithm declares its own metrics: an objective the use case does not log is the
    # algorithm's to accept (SageMaker checks it at CreateHyperParameterTuningJob).
    assert out["training"]["algorithm_specification"] == {"AlgorithmName": ALGORITHM_ARN,
                                                          "TrainingInputMode": "File"}
    assert out["tuning"]["objective"]["MetricName"] == "validation:rmse"


def test_a_sharded_script_must_default_its_train_channel_to_sharded_by_s3_key():
    """One train shard per instance (image.sharded_training) only works when each instance gets
    its share: the manifest refuses a replicated default for train."""
    import dataclasses

    from runtime_scripts.common.manifest import ManifestError
    from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN

    replicated = tuple(dataclasses.replace(c, s3_data_distribution_types=(
        "FullyReplicated", "ShardedByS3Key")) for c in CHURN.channels)
    with pytest.raises(ManifestError, match="image.sharded_training needs the train channel's "
                                            "s3_data_distribution_types to start with "
                                            "ShardedByS3Key"):
        dataclasses.replace(CHURN, channels=replicated).validate()
    CHURN.validate()
