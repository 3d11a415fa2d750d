"""Every request the synthesized state machines would send, for realistic execution inputs.

How: each state machine is walked from `StartAt` the way Step Functions runs it, in-process.
The first state, `Validate input`, is the real Lambda handler (runtime_scripts/pipeline_input)
called on the scenario's input and execution name; every other Task's request is its
`Parameters` resolved against the state's input (`asl.py`: paths, intrinsic functions,
InputPath/ResultSelector/ResultPath/OutputPath, Choice rules), and its result an example built
from the operation's botocore output shape (`outcomes.py`). Where a result can come out in
several ways that lead to different states (no approved package, an endpoint that rolled back,
a failed job caught into the failure path, a throttled call made again) the walk forks, with at
most `MAX_DEVIATIONS` non-default outcomes per path, so every Choice branch is reached without
the paths multiplying.

Why not the local engine (local_runner/engine.py): it runs the real jobs (seconds each) and its
emulated services hold the state that decides the branches, so reaching every branch of every
state machine for every scenario would take minutes and a hand-made account per branch. The
walker needs only the definitions and answers in well under a second per stage; the parts that
decide a request's contents (the validator, the definitions, the ASL semantics) are the real
ones, and `tests/local_runner` keeps proving the engine runs the same definitions end to end.

Integrations (`RenderedTask.integration`): "sync" (`arn:aws:states:::<svc>:<action>.sync`),
"request" (optimized request-response), "aws-sdk" (`arn:aws:states:::aws-sdk:<svc>:<action>`),
"lambda" (a function ARN as Resource: the request is Lambda Invoke's, with the resolved
Parameters as `Payload`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from local_runner.definitions import PSEUDO_PARAMETERS
from runtime_scripts.pipeline_input import first_run_profile, first_run_windows
from runtime_scripts.pipeline_input import handler as validate_input
from tests.contract import asl
from tests.contract.outcomes import (
    BOTO_SERVICES,
    FAILURE,
    OUTCOMES,
    THROTTLED,
    Failure,
    example_output,
    operation_model,
    operation_output_shape,
)
from tests.contract.scenarios import SCENARIOS, applies, render_input

MAX_DEVIATIONS = 2  # non-default outcomes per path: enough to reach every branch here
MAX_STEPS = 400  # a path longer than this is a loop the outcomes cannot leave
ACCOUNT, REGION = PSEUDO_PARAMETERS["AWS::AccountId"], PSEUDO_PARAMETERS["AWS::Region"]
# State machine name suffix -> pipeline kind (the keys of SCENARIOS).
KINDS = {"-training": "training", "-batch-inference": "batch", "-deployment": "deployment",
         "-retraining-gate": "retraining", "-cross-validation": "cross-validation",
         "-backtest": "backtest"}
_SERVICE_ARN = re.compile(r"^arn:aws[a-z-]*:states:::(?P<sdk>aws-sdk:)?(?P<service>[a-z0-9-]+):"
                          r"(?P<action>[A-Za-z0-9]+)(?:\.(?P<pattern>sync|waitForTaskToken))?"
                          r"(?::\d+)?$")


@dataclass(frozen=True)
class RenderedTask:
    stage: str
    state_machine: str
    state: str
    resource: str  # the Task's Resource ARN as synthesized (placeholders rendered)
    service: str  # botocore service name, e.g. "sagemaker", "s3", "sns", "lambda", "glue"
    operation: str  # botocore operation name, e.g. "CreateTrainingJob"
    integration: str  # "sync", "request", "aws-sdk", "lambda", "waitForTaskToken"
    scenario: str
    request: dict  # the request after Parameters were resolved against the state's input


@dataclass
class Rendering:
    """What a walk found: the requests, and per (state machine, scenario) what the first state
    said and which states were reached."""

    tasks: list[RenderedTask] = field(default_factory=list)
    verdicts: dict[tuple[str, str], str] = field(default_factory=dict)  # "accepted" or error
    reached: dict[str, set[str]] = field(default_factory=dict)  # state machine -> states


def integration_of(resource: str) -> tuple[str, str, str]:
    """(botocore service, operation, integration) of a Task's Resource."""
    match = _SERVICE_ARN.match(resource)
    if match is None:
        if ":activity:" in resource:
            raise asl.Unsupported(f"activity task {resource}")
        return "lambda", "Invoke", "lambda"  # a function ARN (or its placeholder)
    service = BOTO_SERVICES.get(match["service"], match["service"])
    operation = operation_model(service, match["action"]).name
    integration = "aws-sdk" if match["sdk"] else (match["pattern"] or "request")
    return service, operation, integration


def render_requests(stage: str, definitions: dict,
                    scenarios: dict[str, dict] | None = None) -> list[RenderedTask]:
    """The requests of every Task of every state machine of `stage`. `definitions` is the
    `definitions` fixture (stage -> {name -> ASL}) or one stage's {name -> ASL}; `scenarios`
    defaults to SCENARIOS (pipeline kind -> scenario name -> scenario)."""
    return render(stage, definitions, scenarios).tasks


def render(stage: str, definitions: dict, scenarios: dict[str, dict] | None = None,
           lambdas: dict[str, Callable] | None = None) -> Rendering:
    """`render_requests` with what the walk found besides the requests. `lambdas` maps a part of
    a function ARN to a handler taking Lambda Invoke's request."""
    machines = definitions.get(stage, definitions)
    rendering = Rendering()
    for name, definition in machines.items():
        kind = next((k for suffix, k in KINDS.items() if name.endswith(suffix)), None)
        if kind is None:
            raise asl.Unsupported(f"{name}: no pipeline kind for this state machine")
        rendering.reached[name] = set()
        for scenario, spec in (scenarios or SCENARIOS)[kind].items():
            platform = _platform(definition)
            if not applies(spec, platform):
                continue
            walker = _Walker(stage, name, definition, scenario, rendering, lambdas)
            walker.run(spec["execution_name"], render_input(spec["input"], platform))
    return rendering


def _platform(definition: dict) -> dict:
    """The fixed `platform` values the first state hands the validator ({} without one)."""
    first = definition["States"][definition["StartAt"]]
    return first.get("Parameters", {}).get("platform", {})


def _default_lambda(request: dict) -> object:
    """The input validator (ml_constructs/input_validation.py), the one function the state
    machines invoke; any other needs its handler in `render(..., lambdas=...)`."""
    payload = request["Payload"]
    first_runs = {module.CHECK: module for module in (first_run_profile, first_run_windows)}
    if isinstance(payload, dict) and payload.get("check") in first_runs:
        # Its event checked as the function checks it; the data it would read is S3's, not the
        # state machine's request: an empty location, so no profile.
        return first_runs[payload["check"]].check(payload, _EmptyBucket())
    if not isinstance(payload, dict) or "pipeline" not in payload:
        raise asl.Unsupported(f"{request['FunctionName']}: not the input validator's event")
    return validate_input(payload, None)


class _EmptyBucket:
    def list_objects_v2(self, **_request) -> dict:
        return {"IsTruncated": False, "KeyCount": 0}


@dataclass
class _Path:
    state: str
    document: object
    world: dict
    deviations: int = 0
    steps: int = 0


class _Walker:
    def __init__(self, stage: str, machine: str, definition: dict, scenario: str,
                 rendering: Rendering, lambdas: dict[str, Callable] | None) -> None:
        self.stage, self.machine, self.definition = stage, machine, definition
        self.scenario, self.rendering = scenario, rendering
        self.lambdas = lambdas or {}
        self.seen: set[tuple[str, str]] = set()

    def run(self, execution_name: str, execution_input: dict) -> None:
        machine_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.machine}"
        context = {"Execution": {
            "Id": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{self.machine}:{execution_name}",
            "Name": execution_name, "Input": execution_input,
            "StartTime": "2026-11-23T12:00:00.000Z",
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/{self.machine}"},
            "StateMachine": {"Id": machine_arn, "Name": self.machine}}
        pending = [_Path(self.definition["StartAt"], execution_input, {"$$": context})]
        while pending:
            pending.extend(self._step(pending.pop()))

    def _step(self, path: _Path) -> list[_Path]:
        if path.steps > MAX_STEPS:
            raise asl.Unsupported(f"{self.machine}: a path runs over {MAX_STEPS} states")
        self.rendering.reached[self.machine].add(path.state)
        state = self.definition["States"][path.state]
        context = {**path.world["$$"], "State": {"Name": path.state,
                                                 "EnteredTime": "2026-11-23T12:00:01.000Z"}}
        kind, raw = state["Type"], path.document
        effective = asl.select(raw, state.get("InputPath", "$"), context)

        def then(document: object, world: dict = path.world, deviation: int = 0,
                 target: str | None = None) -> list[_Path]:
            target = target or state.get("Next")
            if target is None:
                return []
            return [_Path(target, document, world, path.deviations + deviation, path.steps + 1)]

        if kind in ("Succeed", "Fail"):
            return []
        if kind == "Wait":
            return then(asl.select(effective, state.get("OutputPath", "$"), context))
        if kind == "Choice":
            target = next((rule["Next"] for rule in state.get("Choices", [])
                           if asl.matches(rule, effective, context)), state.get("Default"))
            return then(asl.select(effective, state.get("OutputPath", "$"), context),
                        target=target) if target else []
        if kind == "Pass":
            result = asl.resolve(state["Parameters"], effective, context) \
                if "Parameters" in state else state.get("Result", effective)
            return then(self._finish(state, raw, result, context))
        if kind == "Map":
            return self._map(path, state, raw, effective, context, then)
        if kind != "Task":
            raise asl.Unsupported(f"{self.machine}: state type {kind} ({path.state})")
        return self._task(path, state, raw, effective, context, then)

    def _map(self, path: _Path, state: dict, raw: object, effective: object, context: dict,
             then: Callable) -> list[_Path]:
        """A distributed Map: its ItemReader's GetObject, one child execution started (of this
        state machine, as Step Functions starts it) and walked on the first item, and its
        ResultWriter's PutObject. Which items the list holds is data a job wrote, not part of
        any request: the child walks with an empty item at index 0."""
        reader, writer = state.get("ItemReader"), state.get("ResultWriter")
        if state.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode") != "DISTRIBUTED" \
                or reader is None:
            raise asl.Unsupported(f"{self.machine}: only distributed Maps with an ItemReader "
                                  f"({path.state})")
        for task in (reader, writer) if writer else (reader,):
            service, operation, integration = integration_of(task["Resource"])
            request = asl.resolve(task.get("Parameters", {}), effective, context)
            if task is writer:  # Step Functions writes <prefix>/<map run id>/manifest.json
                request = {"Bucket": request["Bucket"],
                           "Key": f"{request.get('Prefix', '')}/map-run-id/manifest.json"}
            self._record(path.state, task["Resource"], service, operation, integration, request)
        machine_arn = context["StateMachine"]["Id"]
        self._record(path.state, "arn:aws:states:::states:startExecution", "stepfunctions",
                     "StartExecution", "request", {"StateMachineArn": machine_arn})
        item_context = {**context, "Map": {"Item": {"Index": 0, "Value": {}}}}
        child = asl.resolve(state["ItemSelector"], effective, item_context) \
            if "ItemSelector" in state else {}
        processor = state["ItemProcessor"]
        walker = _Walker(self.stage, self.machine, processor, self.scenario, self.rendering,
                         self.lambdas)
        walker.seen = self.seen
        pending = [_Path(processor["StartAt"], child, path.world)]
        while pending:
            pending.extend(walker._step(pending.pop()))
        map_run = f"{machine_arn.replace(':stateMachine:', ':mapRun:')}/map-run-id"
        result = {"MapRunArn": map_run}
        if writer:
            result["ResultWriterDetails"] = {"Bucket": writer["Parameters"].get("Bucket"),
                                             "Key": "manifest.json"}
        forks = then(self._finish(state, raw, result, context))
        if path.deviations < MAX_DEVIATIONS and state.get("Catch"):
            forks += self._catch(state, raw, Failure("States.ExceedToleratedFailureThreshold",
                                                     "items failed"), path.world, 1, then)
        return forks

    def _finish(self, state: dict, raw: object, result: object, context: dict) -> object:
        if "ResultSelector" in state:
            result = asl.resolve(state["ResultSelector"], result, context)
        merged = asl.put(raw, state.get("ResultPath", "$"), result)
        return asl.select(merged, state.get("OutputPath", "$"), context)

    def _task(self, path: _Path, state: dict, raw: object, effective: object, context: dict,
              then: Callable) -> list[_Path]:
        resource = state["Resource"]
        service, operation, integration = integration_of(resource)
        parameters = asl.resolve(state["Parameters"], effective, context) \
            if "Parameters" in state else effective
        request = {"FunctionName": resource, "Payload": parameters} \
            if integration == "lambda" else parameters
        self._record(path.state, resource, service, operation, integration, request)
        world = {**path.world, operation: request}
        results: list[tuple[object, int]] = []
        if integration == "lambda":
            results.append((self._invoke(resource, request), 0))
        else:
            for index, outcome in enumerate(OUTCOMES.get((service, operation), [None])):
                if index and path.deviations >= MAX_DEVIATIONS:
                    break
                shape = operation_output_shape(service, operation, integration)
                example = example_output(shape, request)
                produced = outcome(request, world) if outcome else {}
                if produced is None:  # an outcome of another kind of request
                    continue
                results.append((produced if isinstance(produced, Failure)
                                else {**example, **produced}, int(index > 0)))
        if path.deviations < MAX_DEVIATIONS and state.get("Catch"):
            results.append((FAILURE, 1))
            kind = "aws-sdk" if integration == "aws-sdk" else "optimized"
            if (kind, service) in THROTTLED:
                # Spends what is left of the path's deviations: the call made again then takes
                # the default outcomes, which reaches every retry state at a fraction of the
                # paths a further fork at every later Task would add.
                results.append((THROTTLED[kind, service], MAX_DEVIATIONS - path.deviations))
        forks = []
        for result, deviation in results:
            if isinstance(result, Failure):
                forks += self._catch(state, raw, result, world, deviation, then)
            else:
                forks += then(self._finish(state, raw, result, context), world, deviation)
        return forks

    def _catch(self, state: dict, raw: object, failure: Failure, world: dict, deviation: int,
               then: Callable) -> list[_Path]:
        for catcher in state.get("Catch", []):
            names = catcher["ErrorEquals"]
            if failure.error in names or "States.ALL" in names or (
                    "States.TaskFailed" in names and not failure.error.startswith("States.")):
                error = {"Error": failure.error, "Cause": failure.cause}
                document = asl.put(raw, catcher.get("ResultPath", "$"), error)
                return then(document, world, deviation, target=catcher["Next"])
        return []  # uncaught: the execution fails here

    def _invoke(self, resource: str, request: dict) -> object:
        invoke = next((fn for key, fn in self.lambdas.items() if key in resource),
                      _default_lambda)
        payload = json.loads(json.dumps(request["Payload"]))
        try:
            result = invoke({**request, "Payload": payload})
        except asl.Unsupported:
            raise
        except Exception as error:  # an unhandled function error, as Step Functions names it
            verdict = f"{type(error).__name__}: {error}"
            self.rendering.verdicts.setdefault((self.machine, self.scenario), verdict)
            return Failure(type(error).__name__, json.dumps({
                "errorType": type(error).__name__, "errorMessage": str(error)}))
        self.rendering.verdicts.setdefault((self.machine, self.scenario), "accepted")
        return json.loads(json.dumps(result))

    def _record(self, state: str, resource: str, service: str, operation: str,
                integration: str, request: dict) -> None:
        key = (state, json.dumps(request, sort_keys=True))
        if key in self.seen:
            return
        self.seen.add(key)
        self.rendering.tasks.append(RenderedTask(
            self.stage, self.machine, state, resource, service, operation, integration,
            self.scenario, request))
