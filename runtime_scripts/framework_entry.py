"""The entry point AWS's framework training images run (script mode, `sagemaker_program`): their
SageMaker training toolkit extracts the platform's code archive, then runs this file from it
with the job's hyperparameters as `--name value` arguments. It runs the use case's training
module as bin/train does, for the use case the job's environment names (ML_USE_CASE)."""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

USE_CASE_ENV = "ML_USE_CASE"  # runtime_scripts.common.manifest.USE_CASE_ENV, before any import


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # the archive's root
    use_case = os.environ.get(USE_CASE_ENV)
    if not use_case:
        sys.exit(f"{USE_CASE_ENV} is not set: every training request the platform sends sets it")
    runpy.run_module(f"runtime_scripts.use_cases.{use_case}.train", run_name="__main__",
                     alter_sys=True)


if __name__ == "__main__":
    main()
