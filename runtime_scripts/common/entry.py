"""Running a shared job module as one use case's entry point."""

from __future__ import annotations

import os
import runpy

from runtime_scripts.common.manifest import USE_CASE_ENV


def run_as(use_case: str, module: str) -> None:
    """Run `module` as __main__ for `use_case`: the image sets ML_USE_CASE already; a direct
    `python -m runtime_scripts.use_cases.<name>.<job>` sets it here, so shared code finds the
    use case's manifest and dataset spec either way."""
    os.environ[USE_CASE_ENV] = use_case
    runpy.run_module(module, run_name="__main__", alter_sys=True)
