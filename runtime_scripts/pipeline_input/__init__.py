"""First state of every pipeline: merge the execution input over the stage defaults, validate
it, and derive job names and S3 locations, so that a malformed input fails at once with a
message naming the key, before any job is paid for.

Deployed as a Lambda function (Python 3.12, standard library only) whose code asset is
runtime_scripts/ and whose handler is "pipeline_input.handler.handler"; imports inside this
package are relative so the same code runs as `runtime_scripts.pipeline_input` in tests.
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
