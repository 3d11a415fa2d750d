"""The moto adapter: moto's Step Functions interpreter, with the gaps our pipelines need filled.

moto (pinned exactly in requirements-dev.txt) executes ASL; this module, and the map_* modules
it installs for the distributed Map state, and only they, reach into its internals:
- SageMaker optimized integrations (`arn:aws:states:::sagemaker:create*Job.sync`) and aws-sdk
  SageMaker calls go to `LocalSageMaker`, which runs the real jobs;
- `glue:startJobRun.sync` goes to the local Glue runner (moto's own crashes);
- Lambda tasks call the function's real handler in-process (moto would need Docker);
- aws-sdk requests and results get Step Functions' PascalCase member names (sfn's API is
  camelCase), results are made JSON (S3 `Body` read as text, datetimes as ISO strings), error
  names get AWS's casing (`S3.NoSuchKeyException`, so Catch rules match), and
  `applicationautoscaling` is boto3's `application-autoscaling`;
- a refused SageMaker call is named and explained as each integration reports it
  (service_errors.py: `SageMaker.AmazonSageMakerException` with the code in the cause, ...);
- Retry intervals and Wait states run on a fast clock (`time_scale`);
- a Fail state may report a caught `States.*` error, as on AWS;
- a definite JSONPath such as `$.items[0].arn` yields the value, not a one-item list;
- a distributed Map state runs as on AWS (map_state.py: ItemReader, ItemBatcher, bounded
  parallel child executions, tolerated failures, ResultWriter).
Each patch has a canary test in tests/local_runner/test_engine.py so a moto upgrade that breaks
one fails loudly.
"""

from __future__ import annotations

import json
import os
import re
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
    lambda_eval_utils,
    state_task_factory,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as aws_sdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (  # noqa: E501
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.fail import state_fail
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils import json_path

from local_runner import api_common as api
from local_runner import map_state, service_errors
from local_runner.api_common import SageMakerError
from local_runner.local_sagemaker import LocalSageMaker, failure_cause

TERMINAL_FAILURE = {"Failed", "Stopped"}


class ServiceFault(Exception):
    """A service task failure with the Step Functions error name and cause AWS would report."""

    def __init__(self, error: str, cause: str) -> None:
        self.error, self.cause = error, cause
        super().__init__(f"{error}: {cause}")


@dataclass
class LocalServices:
    """What the patched interpreter calls. One instance is active at a time (`activate`)."""

    sagemaker: LocalSageMaker
    glue: Callable[[str, dict], dict]  # (job name, StartJobRun request) -> GetJobRun.JobRun
    lambdas: dict[str, Callable[[dict, object], object]] = field(default_factory=dict)
    time_scale: float = 0.001
    # A distributed Map runs at most this many child executions at once (and no more than its
    # MaxConcurrency): their SageMaker jobs are subprocesses, one core each.
    max_parallel_items: int = field(default_factory=lambda: os.cpu_count() or 1)


_ACTIVE: LocalServices | None = None


def _services() -> LocalServices:
    if _ACTIVE is None:
        raise RuntimeError("local services are not active: use engine.activate(...)")
    return _ACTIVE


# --- task services --------------------------------------------------------------------------------
def _failure_event(task: StateTaskService, env, error: str, cause: str) -> FailureEvent:
    error_name = StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed) \
        if error == "States.TaskFailed" else CustomErrorName(error)
    return FailureEvent(
        env=env, error_name=error_name, event_type=HistoryEventType.TaskFailed,
        event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
            resource=task._get_sfn_resource(), resourceType=task._get_sfn_resource_type(),
            error=error, cause=cause)))


class _LocalTaskService(StateTaskService):
    """Base for our integrations: no parameter filtering, faults become Step Functions errors."""

    def _get_supported_parameters(self) -> set[str]:
        return set()  # empty: accept every parameter, like the real service would validate

    def _get_sfn_resource(self) -> str:
        resource = self.resource.api_action
        return f"{resource}.{self.resource.condition}" if self.resource.condition else resource

    def _from_error(self, env, ex: Exception) -> FailureEvent:
        if isinstance(ex, ServiceFault):
            return _failure_event(self, env, ex.error, ex.cause)
        if isinstance(ex, SageMakerError):
            return _failure_event(self, env, *service_errors.optimized(ex.code, ex.message))
        return super()._from_error(env, ex)

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters,
                           state_credentials) -> None:
        env.stack.append(self._run(normalised_parameters))

    def _run(self, request: dict) -> dict:
        raise NotImplementedError


class LocalSageMakerService(_LocalTaskService):
    """`arn:aws:states:::sagemaker:<action>[.sync]`: the job runs to its end inside the create
    call, so `.sync` returns the final describe output; a failed job is `States.TaskFailed`
    with the describe output as cause, as on AWS."""

    def _run(self, request: dict) -> dict:
        result = _services().sagemaker.call(self.resource.api_action, request)
        if self.resource.condition == ResourceCondition.Sync:
            status = next((v for k, v in result.items() if k.endswith("JobStatus")), None)
            if status in TERMINAL_FAILURE:
                raise ServiceFault("States.TaskFailed", failure_cause(result))
            return {k: v for k, v in result.items() if k != "LogTail"}
        arn_key = next(k for k in result if k.endswith("Arn"))
        return {arn_key: result[arn_key]}


class LocalGlueService(_LocalTaskService):
    """`arn:aws:states:::glue:startJobRun.sync` runs the job script locally to its end."""

    def _run(self, request: dict) -> dict:
        job_run = _services().glue(request["JobName"], request)
        if job_run["JobRunState"] != "SUCCEEDED":
            raise ServiceFault("States.TaskFailed", json.dumps(job_run, default=str))
        return job_run


_original_factory = state_task_factory.state_task_service_for


def _service_for(service_name: str) -> StateTaskService:
    if service_name == "sagemaker":
        return LocalSageMakerService()
    if service_name == "glue":
        return LocalGlueService()
    return _original_factory(service_name)


# --- aws-sdk --------------------------------------------------------------------------------------
_original_aws_sdk_eval = aws_sdk.StateTaskServiceAwsSdk._eval_service_task


def _aws_sdk_eval(self, env, resource_runtime_part, normalised_parameters, state_credentials):
    service = self._get_boto_service_name()
    action = self.resource.api_action
    sagemaker = _services().sagemaker
    if service == "sagemaker" and sagemaker.handles(action):
        try:
            env.stack.append(api.jsonable(sagemaker.call(action, normalised_parameters)))
        except SageMakerError as error:
            name, cause = service_errors.aws_sdk(error.code, error.message)
            raise FailureEventException(self._get_task_failure_event(
                env=env, error=name, cause=cause)) from None
        return
    _original_aws_sdk_eval(self, env, resource_runtime_part, normalised_parameters,
                           state_credentials)
    env.stack.append(api.jsonable(env.stack.pop()))


def _normalise_parameters(self, parameters: dict, boto_service_name: str | None = None,
                          service_action_name: str | None = None) -> None:
    """In place, as moto expects: Step Functions' PascalCase names -> boto3's."""
    named = api.to_boto_request(self._get_boto_service_name(boto_service_name),
                            service_action_name or self.resource.api_action, parameters)
    parameters.clear()
    parameters.update(named)


def _normalise_response(self, response, boto_service_name: str | None = None,
                        service_action_name: str | None = None) -> None:
    if isinstance(response, dict):
        named = api.from_boto_response(self._get_boto_service_name(boto_service_name),
                                   service_action_name or self.resource.api_action, response)
        response.clear()
        response.update(named)


# --- Lambda ---------------------------------------------------------------------------------------
def _invoke_lambda(parameters: dict, region: str, state_credentials) -> dict:
    """Lambda's Invoke response for the function's real handler, called in-process."""
    name = parameters["FunctionName"].split(":function:")[-1].split(":")[0]
    handler = _services().lambdas.get(name)
    if handler is None:
        raise ServiceFault("Lambda.ResourceNotFoundException", f"Function not found: {name}")
    payload = parameters.get("Payload")
    event = json.loads(payload) if isinstance(payload, bytes | str) and payload else payload
    try:
        result = handler(event, None)
    except Exception as error:  # an unhandled function error, reported as Lambda does
        return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": {
            "errorType": type(error).__name__, "errorMessage": str(error),
            "stackTrace": traceback.format_tb(error.__traceback__)[-3:]}}
    return {"StatusCode": 200, "Payload": json.loads(json.dumps(result))}


# --- Fail states ----------------------------------------------------------------------------------
def _fail_state_error_name(error: str | None) -> ErrorName:
    """A Fail state's ErrorPath may carry a caught `States.*` error (e.g. States.TaskFailed) as it
    does on AWS; moto only accepts custom names there."""
    return ErrorName(error_name=error)


# --- JSONPath -------------------------------------------------------------------------------------
_INDEFINITE_PATH = re.compile(r"\[\*\]|\[-?\d*:-?\d*\]|\.\.|\?\(|\.\*|\[[^\]]*,")


def _is_definite(path: str) -> bool:
    """`$.a[0].b` names one value, which Step Functions returns as is; moto returns a one-item
    list whenever an index appears before the last step, unless the path *ends* in one."""
    return not _INDEFINITE_PATH.search(path)


# --- fast clock -----------------------------------------------------------------------------------
class _ScaledTime:
    """Stands in for the `time` module where the interpreter sleeps between retries."""

    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds * _services().time_scale)


def _scaled_wait(self, env, wait_seconds: int) -> None:
    scaled = wait_seconds * _services().time_scale
    if scaled > 0:
        env.program_state_event.wait(scaled)


# --- activation -----------------------------------------------------------------------------------
def _patches() -> list[tuple[object, str, object]]:
    """(module or class, attribute, replacement) for everything the adapter changes in moto."""
    sdk = aws_sdk.StateTaskServiceAwsSdk
    boto_names = {**StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES, **api.BOTO_SERVICE_NAMES}
    return [(state_task_factory, "state_task_service_for", _service_for),
            (sdk, "_eval_service_task", _aws_sdk_eval),
            (sdk, "_normalise_service_error_name", staticmethod(api.service_error_prefix)),
            (lambda_eval_utils, "_invoke_lambda_function", _invoke_lambda),
            (retrier_decl, "time", _ScaledTime()),
            (wait_function.WaitFunction, "_wait_interval", _scaled_wait),
            (state_fail, "CustomErrorName", _fail_state_error_name),
            (json_path, "_is_singleton_array_access", _is_definite),
            (StateTaskService, "_SERVICE_NAME_SFN_TO_BOTO_OVERRIDES", boto_names),
            (StateTaskService, "_normalise_parameters", _normalise_parameters),
            (StateTaskService, "_normalise_response", _normalise_response),
            *map_state.patches(lambda: _services().max_parallel_items)]


@contextmanager
def activate(services: LocalServices):
    """Install the adapter for the duration of a local run (inside `moto.mock_aws`)."""
    global _ACTIVE
    if _ACTIVE is not None:
        raise RuntimeError("another local run is active in this process")
    _ACTIVE = services
    patches = _patches()
    # vars(), not getattr: a class's staticmethod must be restored as one.
    saved = [(owner, name, vars(owner)[name]) for owner, name, _ in patches]
    for owner, name, value in patches:
        setattr(owner, name, value)
    try:
        yield services
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)
        _ACTIVE = None
