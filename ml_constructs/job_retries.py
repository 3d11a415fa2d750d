"""Retries of SageMaker jobs that failed for a transient reason, around any `.sync` job state.

Why not a Retry rule: Step Functions' Retry matches error names only, and a `.sync` job that
runs and fails surfaces as `States.TaskFailed`, its cause the job's Describe* output with the
job's `FailureReason`. Retrying `States.TaskFailed` would pay again for a script that fails
every time, and would reuse the failed job's name, which SageMaker rejects (names are unique per
account and region). So a failed job is caught and its failure reason read:

    <job> --States.TaskFailed--> "<job>: attempts left?"  (attempt < max, cause is a JSON object)
      -> "<job>: read failure"    (parse the cause; advance the attempt; pick its name and wait)
      -> "<job>: transient failure?"  (FailureReason matches TRANSIENT_FAILURE_REASONS)
      -> "<job>: next attempt"    ($.run.job_names.<kind> := that attempt's name)
      -> "<job>: back off"        (exponential, job_retries in the stage config)
      -> <job>
    and every other path -> the pipeline's failure handler, with the error under $.error.

The first state (runtime_scripts/pipeline_input/names.py `job_attempts`) derives every
attempt's job name up front, under `$.run.job_attempts.<kind>`: {"attempt": 1, "names": [...]}.
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from config import JobRetryConfig
from ml_constructs.pipeline_states import ERROR_PATH

# FailureReason prefixes SageMaker writes when a job failed for a reason of its own, not the
# job's: "CapacityError: Unable to provision requested ML compute capacity. Please retry using a
# different ML instance type." (the SageMaker Python SDK raises its CapacityError for any reason
# naming CapacityError) and "InternalServerError: We encountered an internal error. Please try
# again." Anchored at the start: a failed script's reason starts with "AlgorithmError:" or
# "ClientError:", so text a script writes is never taken for these. Managed spot waits for spot
# capacity itself, up to MaxWaitTimeInSeconds; a job stopped at that limit is not retried here.
TRANSIENT_FAILURE_REASONS = ("CapacityError:*", "InternalServerError:*")


def attempts_path(kind: str) -> str:
    return f"$.run.job_attempts.{kind}"


def retry_transient_failures(scope: Construct, job: sfn.CustomState, *, kind: str,
                             policy: JobRetryConfig, failure_handler: sfn.IChainable) -> None:
    """Catch `job`'s `States.TaskFailed` into the retry states above. Call it before the job
    gets its catch-all, so this catcher comes first. `kind` is the key of the job's name under
    `$.run.job_names` (and of its attempts under `$.run.job_attempts`)."""
    if policy.max_attempts < 2:
        return
    name = job.state_id
    state = attempts_path(kind)
    reason = f"{state}.last_failure.FailureReason"
    waits = ", ".join(str(seconds) for seconds in policy.wait_seconds)
    left = sfn.Choice(scope, f"{name}: attempts left?",
                      comment="A job that ran and failed: retry only a transient failure")
    read = sfn.Pass(scope, f"{name}: read failure", parameters={
        "attempt.$": f"States.MathAdd({state}.attempt, 1)",
        "names.$": f"{state}.names",
        # 0-based: the old attempt number is the index of the next attempt's name and wait.
        "job_name.$": f"States.ArrayGetItem({state}.names, {state}.attempt)",
        "wait_seconds.$": (f"States.ArrayGetItem(States.Array({waits}), "
                           f"States.MathAdd({state}.attempt, -1))"),
        "last_failure.$": f"States.StringToJson({ERROR_PATH}.Cause)",
    }, result_path=state)
    transient = sfn.Choice(scope, f"{name}: transient failure?")
    next_attempt = sfn.Pass(scope, f"{name}: next attempt", input_path=f"{state}.job_name",
                            result_path=f"$.run.job_names.{kind}",
                            comment="SageMaker job names are unique: a fresh one per attempt")
    back_off = sfn.Wait(scope, f"{name}: back off",
                        time=sfn.WaitTime.seconds_path(f"{state}.wait_seconds"))
    left.when(sfn.Condition.and_(
        sfn.Condition.number_less_than(f"{state}.attempt", policy.max_attempts),
        # The cause of a failed .sync job is its Describe* output as JSON; anything else is
        # not a job's failure and is never parsed (a Pass state cannot catch a parse error).
        sfn.Condition.string_matches(f"{ERROR_PATH}.Cause", "{*}"),
    ), read).otherwise(failure_handler)
    read.next(transient)
    # Rules run in order: a missing or non-string reason never reaches StringMatches (which
    # would fail the execution with States.Runtime instead of notifying).
    transient.when(sfn.Condition.is_not_present(reason), failure_handler)
    transient.when(sfn.Condition.not_(sfn.Condition.is_string(reason)), failure_handler)
    transient.when(sfn.Condition.or_(*(sfn.Condition.string_matches(reason, pattern)
                                       for pattern in TRANSIENT_FAILURE_REASONS)), next_attempt)
    transient.otherwise(failure_handler)
    next_attempt.next(back_off).next(job)
    job.add_catch(left, errors=["States.TaskFailed"], result_path=ERROR_PATH)

