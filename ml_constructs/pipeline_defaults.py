"""What a pipeline does when started with `{}`: the stage config turned into the defaults document
the first state merges the execution input over (shapes: docs/pipeline-inputs.md)."""

from __future__ import annotations

import dataclasses

from aws_cdk import aws_s3 as s3

from config import JobResources, StageConfig, UseCaseConfig

BATCH_INPUT_PREFIX = "batch/input/"


def _resources(resources: JobResources) -> dict:
    return {"instance_type": resources.instance_type,
            "instance_count": resources.instance_count,
            "volume_size_gb": resources.volume_size_gb,
            "max_runtime_seconds": resources.max_runtime_seconds}


def training_defaults(config: StageConfig, use_case: UseCaseConfig, *, raw: s3.IBucket,
                      curated: s3.IBucket) -> dict:
    training, tuning = use_case.training, use_case.tuning
    objective_metric, objective_type = use_case.objective
    manifest = use_case.manifest
    return {
        "data": {
            "raw_s3_uri": raw.s3_url_for_object(use_case.prefix),
            "run_glue": False,
            "curated_s3_uri": curated.s3_url_for_object(use_case.prefix),
            "dataset_spec_s3_uri": None,
        },
        "processing": _resources(config.processing),
        "training": {**_resources(training), "use_spot": training.use_spot,
                     "max_wait_seconds": training.max_wait_seconds,
                     "hyperparameters": use_case.hyperparameters},
        "tuning": {
            "enabled": tuning.enabled, "strategy": tuning.strategy,
            "objective_metric": objective_metric, "objective_type": objective_type,
            "max_jobs": tuning.max_jobs, "max_parallel_jobs": tuning.max_parallel_jobs,
            "max_runtime_seconds": None, "early_stopping": "Off",
            "static_hyperparameters": use_case.static_tuning_hyperparameters,
            "ranges": manifest.tuning.ranges, "warm_start": None, "hyperband": None,
        },
        "quality_gate": {"conditions": [dataclasses.asdict(c) for c in use_case.gate]},
        "registry": {"approval_status": config.registry.approval_status,
                     "description": f"{manifest.description}: model trained by "
                                    f"{config.resource_prefix}"},
    }


def batch_defaults(config: StageConfig, use_case: UseCaseConfig, *, raw: s3.IBucket) -> dict:
    batch = use_case.batch_inference
    return {
        "data": {
            "input_s3_uri": raw.s3_url_for_object(BATCH_INPUT_PREFIX),
            "content_type": "text/csv", "split_type": "Line", "join_source": "None",
            "input_filter": "$", "output_filter": "$", "output_s3_uri": None,
            "labels_s3_uri": None,
        },
        "model_package_arn": None,
        "processing": _resources(config.processing),
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
