"""What a pipeline does when started with `{}`: the stage config turned into the defaults document
the first state merges the execution input over (shapes: docs/pipeline-inputs.md)."""

from __future__ import annotations

from aws_cdk import aws_s3 as s3

from config import StageConfig
from config.settings import (
    BUILTIN_XGBOOST_HYPERPARAMETERS,
    DEFAULT_TUNING_RANGES,
    DEFAULT_TUNING_STATIC_HYPERPARAMETERS,
    JobResources,
)

DATASET_PREFIX = "churn/"
BATCH_INPUT_PREFIX = "batch/input/"


def _resources(resources: JobResources) -> dict:
    return {"instance_type": resources.instance_type,
            "instance_count": resources.instance_count,
            "volume_size_gb": resources.volume_size_gb,
            "max_runtime_seconds": resources.max_runtime_seconds}


def training_defaults(config: StageConfig, *, raw: s3.IBucket, curated: s3.IBucket) -> dict:
    training, tuning = config.training, config.tuning
    # Built-in XGBoost: binary:logistic and auc unless the stage config says otherwise; script
    # mode keeps its own defaults (train.py is binary:logistic and rejects `objective`).
    builtin = ({name: training.hyperparameters.get(name, value)
                for name, value in BUILTIN_XGBOOST_HYPERPARAMETERS.items()}
               if training.algorithm == "builtin-xgboost" else {})
    return {
        "data": {
            "raw_s3_uri": raw.s3_url_for_object(DATASET_PREFIX),
            "run_glue": False,
            "curated_s3_uri": curated.s3_url_for_object(DATASET_PREFIX),
            "dataset_spec_s3_uri": None,
        },
        "processing": _resources(config.processing),
        "training": {**_resources(training), "use_spot": training.use_spot,
                     "max_wait_seconds": training.max_wait_seconds,
                     "hyperparameters": {**builtin, **training.hyperparameters}},
        "tuning": {
            "enabled": tuning.enabled, "strategy": tuning.strategy,
            "objective_metric": tuning.objective_metric, "objective_type": tuning.objective_type,
            "max_jobs": tuning.max_jobs, "max_parallel_jobs": tuning.max_parallel_jobs,
            "max_runtime_seconds": None, "early_stopping": "Off",
            "static_hyperparameters": {**DEFAULT_TUNING_STATIC_HYPERPARAMETERS, **builtin},
            "ranges": DEFAULT_TUNING_RANGES, "warm_start": None, "hyperband": None,
        },
        "quality_gate": {"metric": config.quality_gate.metric,
                         "threshold": config.quality_gate.threshold},
        "registry": {"approval_status": config.registry.approval_status,
                     "description": f"Churn model trained by {config.resource_prefix}"},
    }


def batch_defaults(config: StageConfig, *, raw: s3.IBucket) -> dict:
    batch = config.batch_inference
    return {
        "data": {
            "input_s3_uri": raw.s3_url_for_object(BATCH_INPUT_PREFIX),
            "content_type": "text/csv", "split_type": "Line", "join_source": "None",
            "input_filter": "$", "output_filter": "$", "output_s3_uri": None,
        },
        "model_package_arn": None,
        "transform": {"instance_type": batch.instance_type,
                      "instance_count": batch.instance_count,
                      "max_payload_mb": batch.max_payload_mb,
                      "max_concurrent_transforms": 0,  # 0: SageMaker asks /execution-parameters
                      "batch_strategy": "MultiRecord",
                      "invocations_timeout_seconds": 600},
    }


def platform_values(config: StageConfig, *, artifacts: s3.IBucket, group: str) -> dict:
    return {"artifacts_bucket": artifacts.bucket_name, "model_package_group": group,
            "resource_prefix": config.resource_prefix,
            "max_job_attempts": config.job_retries.max_attempts}
