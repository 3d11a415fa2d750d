"""Realistic events for the pipeline_input Lambda, mirroring config/stages/dev.json.

The defaults documents are what the CDK side embeds in each state machine: every key present,
values from the dev stage config (instance types, spot, tuning limits, gate, approval status)
plus the platform's own defaults for keys the stage config does not carry (S3 locations, ranges).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from runtime_scripts.pipeline_input import PipelineInputError, resolve

EXECUTION = "3f2b8c1e-0d4a-4e6b-9a61-2c8f5e7d9b10"  # what the console generates

PLATFORM = {
    "artifacts_bucket": "mlplatform-dev-artifacts-123456789012",
    "model_package_group": "mlplatform-dev-churn",
    "resource_prefix": "mlplatform-dev",
    "use_case": "churn",
    "max_job_attempts": 3,
}


def _metric(name: str, higher: bool = True, maximum: float | None = 1.0) -> dict[str, Any]:
    return {"name": name, "higher_is_better": higher, "minimum": 0.0, "maximum": maximum}


# What the training state machine fixes for churn (its manifest's metrics and objectives).
CHURN_FEATURES = [
    "state",
    "account_length",
    "area_code",
    "international_plan",
    "voice_mail_plan",
    "number_vmail_messages",
    "total_day_minutes",
    "total_day_calls",
    "total_day_charge",
    "total_eve_minutes",
    "total_eve_calls",
    "total_eve_charge",
    "total_night_minutes",
    "total_night_calls",
    "total_night_charge",
    "total_intl_minutes",
    "total_intl_calls",
    "total_intl_charge",
    "number_customer_service_calls",
]
_SPLIT_SUPPORT = {"content_type": ["text/csv"], "compression_type": ["None", "Gzip"],
                  "record_wrapper_type": ["None"], "s3_data_type": ["S3Prefix"],
                  "s3_data_distribution_type": ["FullyReplicated", "ShardedByS3Key"],
                  "input_mode": ["File", "FastFile", "Pipe"], "manifest_file": None}
# What churn's training channels accept (its manifest's channels), and their defaults: its
# script trains on one train shard per instance (image.sharded_training).
CHANNEL_SUPPORT = {"train": {**_SPLIT_SUPPORT, "s3_data_distribution_type": [
    "ShardedByS3Key", "FullyReplicated"]}, "validation": _SPLIT_SUPPORT, "transform": {
    **_SPLIT_SUPPORT, "content_type": ["application/json"], "compression_type": ["None"],
    "s3_data_distribution_type": ["FullyReplicated"], "input_mode": ["File", "FastFile"]}}
_SPLIT_CHANNEL = {"content_type": "text/csv", "compression_type": "None",
                  "record_wrapper_type": "None", "s3_data_type": "S3Prefix",
                  "attribute_names": [], "s3_data_distribution_type": "FullyReplicated",
                  "input_mode": "File"}
CHANNELS = {"train": {**_SPLIT_CHANNEL, "s3_data_distribution_type": "ShardedByS3Key"},
            "validation": _SPLIT_CHANNEL,
            "transform": {**_SPLIT_CHANNEL, "content_type": "application/json"}}
# What the constructs add to every platform that runs jobs: the stage key for their volumes.
VOLUME_KEY = {"volume_kms_key": "arn:aws:kms:eu-west-1:123456789012:key/"
                                "1234abcd-12ab-34cd-56ef-1234567890ab"}
# ... and to every training platform: the image's AlgorithmSpecification.
IMAGE_SPECIFICATION = {**VOLUME_KEY, "algorithm_specification": {
    "TrainingImage": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-assets:churn",
    "TrainingInputMode": "File",
    "MetricDefinitions": [{"Name": "validation:auc",
                           "Regex": "validation:auc=([-+]?[0-9]*\\.?[0-9]+)"}]}}
TRAINING_PLATFORM = {
    **PLATFORM,
    "channels": CHANNEL_SUPPORT,
    "own_algorithm": None,
    **IMAGE_SPECIFICATION,
    "gate_metrics": [*map(_metric, ("auc", "pr_auc", "accuracy", "precision", "recall", "f1")),
                     _metric("log_loss", higher=False, maximum=None),
                     _metric("brier", higher=False), _metric("ece", higher=False)],
    "gate_requires_one_of": ["precision", "recall", "f1"],
    "objective_metrics": ["train:logloss", "train:auc", "validation:logloss", "validation:auc",
                          "validation:aucpr"],
    "pinned_hyperparameters": {},
    "training_instance_family": "cpu",
    "script_mode_hyperparameters": {},
    "data_wrangler_flows": "s3://mlplatform-dev-artifacts-123456789012/data-wrangler/churn/",
    "dataset_spec_columns": {"target": "churn", "id_columns": ["customer_id"],
                             "features": CHURN_FEATURES},
    "automl": None,  # the stage deploys no AutoML branch (training.algorithm "script")
}
BATCH_PLATFORM = {**PLATFORM, **VOLUME_KEY,
                  "content_types": ["text/csv", "application/json", "application/jsonlines"],
                  "accept_types": ["text/csv", "application/json", "application/jsonlines"],
                  "predictions_s3_uri": None, "predictions_partition": None,
                  "labels_refusal": None}

TRAINING_DEFAULTS: dict[str, Any] = {
    "data": {
        "raw_s3_uri": "s3://mlplatform-dev-raw-123456789012/churn/",
        "run_glue": False,
        "curated_s3_uri": "s3://mlplatform-dev-curated-123456789012/churn/",
        "dataset_spec_s3_uri": None,
    },
    "processing": {"instance_type": "ml.m5.large", "instance_count": 1, "volume_size_gb": 30,
                   "max_runtime_seconds": 3600},
    "preprocessing": {"data_wrangler_flow": None, "output_node": None},
    "training": {
        "instance_type": "ml.m5.xlarge", "instance_count": 1, "volume_size_gb": 30,
        "max_runtime_seconds": 3600, "use_spot": True, "max_wait_seconds": 7200,
        "hyperparameters": {"num_round": "1000", "max_depth": "5", "eta": "0.1",
                            "early_stopping_rounds": "20"},
        "channels": CHANNELS,
        "algorithm_name": None,
    },
    "tuning": {
        "enabled": False, "strategy": "Bayesian", "objective_metric": "validation:auc",
        "objective_type": "Maximize", "max_jobs": 10, "max_parallel_jobs": 2,
        "max_runtime_seconds": None, "early_stopping": "Off", "static_hyperparameters": {},
        "ranges": {
            "continuous": [{"name": "eta", "min": 0.01, "max": 0.3, "scaling": "Logarithmic"}],
            "integer": [{"name": "max_depth", "min": 3, "max": 10, "scaling": "Auto"}],
            "categorical": [],
        },
        "warm_start": None,
        "hyperband": None,
    },
    "automl": {"mode": "ENSEMBLING", "objective_metric": None, "max_candidates": 10,
               "max_runtime_seconds": 14400, "max_runtime_per_training_job_seconds": None},
    "quality_gate": {"conditions": [{"metric": "auc", "comparison": ">=", "threshold": 0.85},
                                    {"metric": "recall", "comparison": ">=", "threshold": 0.5}]},
    "training_rules": {"on_issue": "warn"},
    "registry": {"approval_status": "Approved",
                 "description": "Churn model trained by the training pipeline"},
}

BATCH_DEFAULTS: dict[str, Any] = {
    "data": {
        "input_s3_uri": None,
        "s3_data_type": "S3Prefix",
        "content_type": "text/csv",
        "accept": None,
        "split_type": "Line",
        "join_source": "None",
        "input_filter": "$",
        "output_filter": "$",
        "output_s3_uri": None,
        "labels_s3_uri": None,
    },
    "model_package_arn": None,
    "processing": {"instance_type": "ml.m5.large", "instance_count": 1, "volume_size_gb": 30,
                   "max_runtime_seconds": 3600},
    "transform": {"instance_type": "ml.m5.large", "instance_count": 1, "max_payload_mb": 6,
                  "max_concurrent_transforms": 0, "batch_strategy": "MultiRecord",
                  "invocations_timeout_seconds": 600},
}

BATCH_INPUT = "s3://mlplatform-dev-raw-123456789012/scoring/2024-06-01/"
PACKAGE_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlplatform-dev-churn/7"


def event(pipeline: str, user_input: Any, *, defaults: dict | None = None,
          execution_name: str = EXECUTION, platform: dict | None = None) -> dict[str, Any]:
    base, fixed = ((TRAINING_DEFAULTS, TRAINING_PLATFORM) if pipeline == "training"
                   else (BATCH_DEFAULTS, BATCH_PLATFORM))
    return {
        "pipeline": pipeline,
        "execution_name": execution_name,
        "defaults": copy.deepcopy(base if defaults is None else defaults),
        "platform": copy.deepcopy(fixed if platform is None else platform),
        "input": user_input,
    }


def training(user_input: Any = None, **kwargs: Any) -> dict[str, Any]:
    return resolve(event("training", {} if user_input is None else user_input, **kwargs))


def batch(user_input: Any = None, **kwargs: Any) -> dict[str, Any]:
    merged = {"data": {"input_s3_uri": BATCH_INPUT}}
    for section, values in (user_input or {}).items():
        merged[section] = {**merged.get(section, {}), **values} \
            if isinstance(values, dict) and isinstance(merged.get(section), dict) else values
    return resolve(event("batch", merged, **kwargs))


def error(exc_type: type[PipelineInputError], fn: Any, *args: Any,
          **kwargs: Any) -> PipelineInputError:
    """The exception `fn` raises, asserted to be exactly `exc_type` (not merely a subclass)."""
    with pytest.raises(PipelineInputError) as info:
        fn(*args, **kwargs)
    assert type(info.value) is exc_type, f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert "\n" not in message
    return info.value


def with_changes(base: dict[str, Any], section: str, **values: Any) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    doc[section].update(values)
    return doc
