"""First state of every pipeline: merge the execution input over the stage defaults, validate
it, and derive job names and S3 locations, so that a malformed input fails at once with a
message naming the key, before any job is paid for.

Deployed as a Lambda function (standard library only) whose code asset is this package and the
project modules it imports (runtime_scripts/contract.py) in the project's layout, and whose
handler is "runtime_scripts.pipeline_input.handler.handler" (ml_constructs/input_validation.py).
See docs/pipeline-inputs.md for every key.
"""

from .errors import InvalidPipelineDefaults, InvalidPipelineInput, PipelineInputError, Problem
from .handler import handler, resolve

__all__ = [
    "InvalidPipelineDefaults",
    "InvalidPipelineInput",
    "PipelineInputError",
    "Problem",
    "handler",
    "resolve",
]
