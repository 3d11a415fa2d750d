"""The event's `platform`: what a state machine fixes for all its executions (the stage's and
its use case's values), which no execution input can change. Each pipeline adds its own keys
to these (`training.PLATFORM`, `batch.PLATFORM`, `deployment.PLATFORM`)."""

from __future__ import annotations

from . import names
from .schema import Int, Obj, Str
from .values import SAGEMAKER_NAME

COMMON = {
    "artifacts_bucket": Str(max_len=63),  # the bucket-name rules are checked separately
    "model_package_group": Str(pattern=SAGEMAKER_NAME, pattern_help="a SageMaker name"),
    # Every job name must start with '<prefix>-' for the IAM policies scoped to it, even a
    # 32-character tuning job name (names.py); config/stage.py applies the same limit.
    "resource_prefix": Str(max_len=names.MAX_SCOPED_PREFIX, pattern=SAGEMAKER_NAME,
                           pattern_help="a SageMaker name"),
    # The use case the state machine runs for: part of every job name and S3 run folder, so
    # SageMaker name characters only (the stage config holds it to the manifest's rule).
    "use_case": Str(max_len=names.SAGEMAKER_NAME_MAX, pattern=SAGEMAKER_NAME,
                    pattern_help="a SageMaker name"),
    # job_retries.max_attempts in the stage config (validated there): one job name per attempt.
    "max_job_attempts": Int(1),
}
PLATFORM = Obj(COMMON)
