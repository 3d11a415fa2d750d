"""Executors: each runs one SageMaker job the way SageMaker runs our container, on this machine.

Inputs are staged from S3 (any boto3 S3 client: moto's in tests) into the SageMaker directory
layout under `<workdir>/ml` (ML_ROOT redirects /opt/ml), the image's entry point runs as a
subprocess of its own, and outputs go back to S3 where SageMaker would put them. Every executor
returns an outcome record; a job failure is an outcome, never an exception.
"""

from __future__ import annotations

from local_runner.executors.processing import run_processing_job
from local_runner.executors.results import JobOutcome, LocalProgram, TuningOutcome
from local_runner.executors.training import run_training_job
from local_runner.executors.transform import run_transform_job
from local_runner.executors.tuning import run_tuning_job

__all__ = [
    "JobOutcome",
    "LocalProgram",
    "TuningOutcome",
    "run_processing_job",
    "run_training_job",
    "run_transform_job",
    "run_tuning_job",
]
