"""Lambda entry point: the first state of every pipeline state machine.

Event (the state machine builds it):
    {"pipeline": "training" | "batch" | "deployment" | "cross-validation" | "backtest",
     "execution_name": "<$$.Execution.Name>",
     "defaults": {...every key, from the stage config...}, "platform": {...fixed values...},
     "input": {...the execution input, possibly {}...}}
Returns the merged, validated document plus derived values (`run`, API-shaped pieces); the state
machine makes it the whole state. Raises `InvalidPipelineInput` for the user's mistakes and
`InvalidPipelineDefaults` for deploy-side ones, each with a one-line message naming the key.

Order matters: the defaults are validated on their own first, so any problem found after the
merge can be blamed on the input with confidence.
"""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

from . import (
    backtest,
    batch,
    cross_validation,
    data_wrangler,
    deployment,
    first_run_profile,
    first_run_windows,
    training,
)
from .errors import InvalidPipelineDefaults, InvalidPipelineInput, Problem, describe, render
from .origin import Origin
from .schema import AnyValue, Enum, Obj, Str
from .values import TAG_VALUE_HELP, check_bucket_name, tag_value_problem

PIPELINES: dict[str, ModuleType] = {"training": training, "batch": batch,
                                     "deployment": deployment,
                                     cross_validation.PIPELINE: cross_validation,
                                     backtest.PIPELINE: backtest}
# Far deeper than any valid input (which is at most 6 levels) and far below Python's recursion
# limit, which the merge and the deep copies would otherwise reach on a hostile input.
MAX_DEPTH = 32

EVENT = Obj(
    {
        "pipeline": Enum(tuple(PIPELINES)),
        # Step Functions execution names are 1-80 characters.
        "execution_name": Str(max_len=80),
        "defaults": AnyValue(object_only=True),  # validated against the pipeline's schema
        # Checked against the pipeline's own platform schema (its module's PLATFORM).
        "platform": AnyValue(object_only=True),
        "input": AnyValue(),  # the user's: its errors are InvalidPipelineInput, not ours
        # What the state machine read of the data since a first call (backtest.check_data).
        "data": AnyValue(),
    },
    optional={"input": {}, "data": None},
)


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """AWS Lambda handler ("runtime_scripts.pipeline_input.handler.handler")."""
    # The training pipeline's second check, once it has read a Data Wrangler flow.
    if isinstance(event, dict) and event.get("check") == data_wrangler.CHECK:
        return data_wrangler.check_flow(event)
    # Cross-validation's first run on a data location: small CSV profiled, larger data's
    # headers and Parquet footers checked.
    if isinstance(event, dict) and event.get("check") == first_run_profile.CHECK:
        return first_run_profile.check(event)
    # A backtest's first run on a data location: the data's periods, or their bounds.
    if isinstance(event, dict) and event.get("check") == first_run_windows.CHECK:
        return first_run_windows.check(event)
    return resolve(event)


def resolve(event: Any) -> dict[str, Any]:
    if isinstance(event, dict) and _too_deep(event.get("input")):
        # Checked before anything recursive (deep copies, merge) could hit the recursion limit.
        raise InvalidPipelineInput([Problem("", f"is nested more than {MAX_DEPTH} levels deep")])
    pipeline, execution_name, defaults, platform, user_input, data = _envelope(event)
    _check_execution_name(execution_name)
    spec: Obj = pipeline.SCHEMA

    # 1. The stage defaults alone: complete and valid, or the deployment is broken.
    problems: list[Problem] = []
    checked_defaults = spec.check(defaults, "", problems)
    if not problems:
        pipeline.check(checked_defaults, platform, Origin(None, final=False), problems)
    if problems:
        raise InvalidPipelineDefaults(problems, "default")

    # 2. The user's input, merged over the (raw) defaults, then validated as a whole.
    if not isinstance(user_input, dict):
        problem = f"must be a JSON object, got {describe(user_input)}"
        raise InvalidPipelineInput([Problem("", problem, 'e.g. {} or {"training": {"use_spot": '
                                                         'false}}')])
    merged = spec.merge(defaults, user_input)
    document = spec.check(merged, "", problems)
    if not problems:
        # Cross-field rules assume correct types, so they run only on a well-typed document.
        pipeline.check(document, platform, Origin(user_input, final=True), problems)
    if not problems and data is not None and hasattr(pipeline, "check_data"):
        pipeline.check_data(document, platform, data, problems)
    if problems:
        raise InvalidPipelineInput(problems)
    return pipeline.derive(document, platform, execution_name)


def _check_execution_name(name: str) -> None:
    """The execution name is written verbatim into every job's tags and the model package's
    metadata (the deployment pipeline finds a training run's S3 prefix from it), so it must be a
    valid SageMaker tag value as it is: a changed copy would no longer lead back to the run.
    Refused, with the rule, before anything is paid for."""
    problem = tag_value_problem(name)
    if problem:
        raise InvalidPipelineInput([Problem("", f"{render(name)} {problem}; start the "
                                            "execution again under a name without them",
                                            TAG_VALUE_HELP)], "execution name")


def _too_deep(value: Any) -> bool:
    """Iterative, so that measuring a pathological input cannot itself overflow the stack."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return False


def _envelope(event: Any) -> tuple[ModuleType, str, dict, dict, Any, Any]:
    """Check what the state machine itself put in the event (a deploy bug when wrong)."""
    problems: list[Problem] = []
    checked = EVENT.check(event, "", problems)
    if not problems:
        module = PIPELINES[checked["pipeline"]]
        checked["platform"] = module.PLATFORM.check(checked["platform"], "platform", problems)
    if not problems:
        name = checked["execution_name"]
        # Step Functions never allows '/' or surrounding blanks; either would break the S3 layout.
        if "/" in name or name.strip() != name:
            problems.append(Problem("execution_name", f"{render(name)} cannot be used in S3 "
                                    "paths"))
        check_bucket_name("platform.artifacts_bucket", checked["platform"]["artifacts_bucket"],
                          problems)
        if hasattr(module, "check_platform"):
            module.check_platform(checked["platform"], problems)
    if problems:
        raise InvalidPipelineDefaults(problems, "event")
    # Deep copies: the event must stay untouched, and the result must not alias it.
    return (PIPELINES[checked["pipeline"]], checked["execution_name"],
            copy.deepcopy(checked["defaults"]), copy.deepcopy(checked["platform"]),
            copy.deepcopy(checked["input"]), copy.deepcopy(checked["data"]))
