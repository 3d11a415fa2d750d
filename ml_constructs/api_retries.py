"""Retries of API calls refused for a transient reason (throttled, or a server-side error), around
any Task state, and what each integration reports for one.

Why not only Retry rules: Retry matches error names, and most integrations report a throttled
call under a name they give every other refused call of that service too:
- Optimized integrations (`arn:aws:states:::sagemaker:...`, `glue:`, `sns:`) name an error code
  their SDK (the AWS SDK for Java 1.x) does not model after the service's base exception:
  AWS's example CreateTrainingJob task retries `SageMaker.AmazonSageMakerException` (Step
  Functions developer guide, "Create and manage Amazon SageMaker AI jobs"), and a throttled call
  arrives as that name with the code only in the cause: "Rate exceeded (Service:
  AmazonSageMaker; Status Code: 400; Error Code: ThrottlingException; Request ID: ...)" (public
  report aws/aws-step-functions-data-science-sdk-python#191).
- aws-sdk integrations name errors `<Service>.<Error>Exception` (AWS documents the added
  `Exception` suffix: `S3.BucketAlreadyExistsException`), after the AWS SDK for Java 2.x classes
  (`DynamoDb.`, `Sfn.`), which exist only for the errors the service model defines (botocore's
  models are the same). Any other code (SageMaker's ThrottlingException and ValidationException,
  S3's SlowDown) is the base class, `SageMaker.SageMakerException`, `S3.S3Exception`, and its
  cause carries no code: "Rate exceeded (Service: SageMaker, Status Code: 400, Request ID: ...)"
  (the SDK's message format; moto's aws-sdk task, ported from LocalStack, reports the same).

So a name only transient errors carry gets a plain Retry, and a generic name is caught and
decided from its cause, with the same bounded back-off:

    <task> --<generic name>--> "<task>: API error transient?"   (cause matches TRANSIENT_CAUSES)
      -> "<task>: first API retry" (the counter, once) -> "<task>: count API retry" (attempt + 1,
      its wait with jitter) -> "<task>: API back-off" (Wait) -> <task>, the same request again:
      a refused call created nothing, so a job keeps its name.
    Not transient, or `RetryPolicy.attempts` retries of this state spent in this execution:
    -> `not_transient` (the failure path, or a state's own handler of a refused call).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn


@dataclass(frozen=True)
class RetryPolicy:
    """API retries, for Retry rules and the cause-decided loop alike."""

    attempts: int = 4  # retries after the first call
    first_interval_seconds: int = 10
    backoff_rate: float = 2.0
    max_delay_seconds: int = 300

    @property
    def wait_seconds(self) -> list[int]:
        """The back-off before retry 1, 2, ...; each retry waits between half and all of it."""
        return [min(math.ceil(self.first_interval_seconds * self.backoff_rate ** i),
                    self.max_delay_seconds) for i in range(self.attempts)]


@dataclass(frozen=True)
class ApiErrors:
    """What one integration reports for a refused API call."""

    transient: tuple[str, ...]  # names only transient errors carry: retried as they are
    generic: str | None = None  # the name every code the SDK does not model arrives under


# Keyed "<service>" (optimized), "aws-sdk:<service>" and "lambda" (a function ARN as Resource).
INTEGRATIONS: dict[str, ApiErrors] = {
    # ResourceLimitExceeded (e.g. too many jobs running) is retried in AWS's example above.
    "sagemaker": ApiErrors(("SageMaker.ResourceLimitExceededException",),
                           "SageMaker.AmazonSageMakerException"),
    "aws-sdk:sagemaker": ApiErrors(("SageMaker.ResourceLimitExceededException",),
                                   "SageMaker.SageMakerException"),
    # StartJobRun's documented errors that clear by themselves (Glue API reference: the job's
    # concurrent runs, an internal error, a timeout); ThrottlingException is in Glue's model,
    # for an SDK that knows it (one that does not reports the generic name).
    "glue": ApiErrors(("Glue.ConcurrentRunsExceededException", "Glue.InternalServiceException",
                       "Glue.OperationTimeoutException", "Glue.ThrottlingException"),
                      "Glue.AWSGlueException"),
    # Publish's documented InternalError (500) and KMSThrottling; Publish's own throttling
    # (code Throttling) is not in its model, so it arrives under the generic name.
    "sns": ApiErrors(("SNS.InternalErrorException", "SNS.KMSThrottlingException"),
                     "SNS.AmazonSNSException"),
    # AWS's StartExecution example task retries ExecutionLimitExceeded ("Start a new AWS Step
    # Functions state machine from a running execution").
    "states": ApiErrors(("StepFunctions.ExecutionLimitExceeded",)),
    # "Handle Lambda service exceptions" (Step Functions best practices): transient service
    # errors (500s) and Lambda's invocation limit.
    "lambda": ApiErrors(("Lambda.ClientExecutionTimeoutException", "Lambda.ServiceException",
                         "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                         "Lambda.TooManyRequestsException")),
    "aws-sdk:s3": ApiErrors((), "S3.S3Exception"),  # SlowDown (503), InternalError (500)
    # Modeled: a pending update of the same target, an internal error.
    "aws-sdk:applicationautoscaling": ApiErrors(
        ("ApplicationAutoScaling.ConcurrentUpdateException",
         "ApplicationAutoScaling.InternalServiceException"),
        "ApplicationAutoScaling.ApplicationAutoScalingException"),
    "aws-sdk:sfn": ApiErrors((), "Sfn.SfnException"),
    # PutMetricData's modeled server error, InternalServiceFault (500), as the SDK names it;
    # throttling is not modeled: the generic name.
    "aws-sdk:cloudwatch": ApiErrors(("CloudWatch.InternalServiceFaultException",),
                                    "CloudWatch.CloudWatchException"),
}

# Causes of a generic name that are transient. SDK 1.x messages carry the code
# ("...; Status Code: 400; Error Code: ThrottlingException; Request ID: ..."), SDK 2.x messages
# only the status, so a 2.x throttle is known by the message AWS services send with it.
TRANSIENT_CAUSES = (
    "*; Error Code: ThrottlingException;*",  # JSON services (SageMaker, Glue), SDK 1.x
    "*; Error Code: Throttling;*",  # query services (SNS), SDK 1.x
    "Rate exceeded (Service: *",  # SDK 2.x: the message of a throttled call
    "*(Service: *Status Code: 429*",  # Too Many Requests
    "*(Service: *Status Code: 5*",  # a server-side error: InternalFailure, ServiceUnavailable
)

_RESOURCE = re.compile(r":states:::(?P<sdk>aws-sdk:)?(?P<service>[a-z0-9-]+):")


def api_errors_of(state: sfn.State) -> ApiErrors:
    """What the integration of a Task state reports, from its Resource."""
    resource = state.to_state_json().get("Resource", "")
    match = _RESOURCE.search(resource)
    key = "lambda" if match is None else f"{match['sdk'] or ''}{match['service']}"
    if key not in INTEGRATIONS:
        raise ValueError(f"{state.state_id}: no API retry rules for the {key} integration: add "
                         "what AWS reports for it to ml_constructs/api_retries.py INTEGRATIONS")
    return INTEGRATIONS[key]


def counter_path(state_id: str) -> str:
    return "$.api_retries." + re.sub(r"\W+", "_", state_id).strip("_").lower()


def retry_transient_api_errors(state, *, not_transient: sfn.IChainable, error_path: str,
                               policy: RetryPolicy = RetryPolicy()):
    """Retry rules for `state`'s transient error names, and the loop above for its generic one,
    the error under `error_path`. Call it before any other catcher of `state`: catchers match in
    order, and States.TaskFailed matches the generic name too."""
    errors = api_errors_of(state)
    if errors.transient:
        state.add_retry(errors=list(errors.transient),
                        interval=cdk.Duration.seconds(policy.first_interval_seconds),
                        max_attempts=policy.attempts, backoff_rate=policy.backoff_rate,
                        max_delay=cdk.Duration.seconds(policy.max_delay_seconds),
                        jitter_strategy=sfn.JitterType.FULL)
    if errors.generic is None:
        return state
    name, scope = state.state_id, state.node.scope
    cause, counter = f"{error_path}.Cause", counter_path(state.state_id)
    waits = policy.wait_seconds
    full = f"States.ArrayGetItem(States.Array({', '.join(map(str, waits))}), {counter}.attempt)"
    half = (f"States.ArrayGetItem(States.Array({', '.join(str(math.ceil(w / 2)) for w in waits)})"
            f", {counter}.attempt)")
    decide = sfn.Choice(scope, f"{name}: API error transient?",
                        comment=f"{errors.generic} names any refused call: read its cause")
    first = sfn.Pass(scope, f"{name}: first API retry", parameters={"attempt": 0},
                     result_path=counter)
    count = sfn.Pass(scope, f"{name}: count API retry", result_path=counter, parameters={
        "attempt.$": f"States.MathAdd({counter}.attempt, 1)",
        "wait_seconds.$": f"States.MathRandom({half}, {full})"})  # between half and all of it
    back_off = sfn.Wait(scope, f"{name}: API back-off",
                        time=sfn.WaitTime.seconds_path(f"{counter}.wait_seconds"),
                        comment="The same request again: a refused call created nothing")
    # Rules run in order, so no comparison ever reads a path that is not there (States.Runtime).
    decide.when(sfn.Condition.is_not_present(cause), not_transient)
    decide.when(sfn.Condition.not_(sfn.Condition.or_(*(
        sfn.Condition.string_matches(cause, pattern) for pattern in TRANSIENT_CAUSES))),
        not_transient)
    decide.when(sfn.Condition.is_not_present(counter), first)
    decide.when(sfn.Condition.number_less_than(f"{counter}.attempt", policy.attempts), count)
    decide.otherwise(not_transient)
    first.next(count)
    count.next(back_off).next(state)
    state.add_catch(decide, errors=[errors.generic], result_path=error_path)
    return state
