"""The event's `platform`: what a state machine fixes for all its executions (the stage's and
its use case's values), which no execution input can change. Each pipeline adds its own keys
to these (`training.PLATFORM`, `batch.PLATFORM`, `deployment.PLATFORM`)."""

from __future__ import annotations

import re

from . import names
from .schema import Int, Obj, Str
from .values import SAGEMAKER_NAME

# Same pattern as runtime_scripts/common/manifest.py USE_CASE_NAME (a test keeps them equal):
# the Lambda asset holds only this package.
USE_CASE_NAME = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,11}$")

COMMON = {
    "artifacts_bucket": Str(max_len=63),  # the bucket-name rules are checked separately
    "model_package_group": Str(pattern=SAGEMAKER_NAME, pattern_help="a SageMaker name"),
    # Every job name must start with '<prefix>-' for the IAM policies scoped to it, even a
    # 32-character tuning job name (names.py); the stage config applies the same limit.
    "resource_prefix": Str(max_len=names.MAX_SCOPED_PREFIX, pattern=SAGEMAKER_NAME,
                           pattern_help="a SageMaker name"),
    # The use case the state machine runs for: part of every job name and S3 run prefix.
    "use_case": Str(pattern=USE_CASE_NAME, pattern_help="a use case name: 2-12 lowercase "
                    "letters, digits and single '-', starting with a letter"),
    # job_retries.max_attempts in the stage config (validated there): one job name per attempt.
    "max_job_attempts": Int(1),
}
PLATFORM = Obj(COMMON)
