"""A distributed Map state's Map Run, run locally as Step Functions runs it.

moto 5.2.5 reads the items (ItemReader) and starts one worker thread per item (MaxConcurrency
0) but swallows every child failure (the item's result becomes null and the Map succeeds) and
ignores ToleratedFailureCount/Percentage. This module replaces its map run
(`DistributedIterationComponent._map_run`):
- each item is a child workflow execution with an execution of its own (`$$.Execution.*`
  inside the iteration names the child, as on AWS), its input the ItemSelector's result
  (evaluated against the Map state's input, with `$$.Map.Item.Index`/`Value`), batched by
  ItemBatcher when the state has one (map_definition.py);
- at most min(MaxConcurrency, the local worker bound) children run at once, on threads; a
  SageMaker job inside a child is a subprocess, so the bound is the machine's cores;
- AWS: the Map Run fails with States.ExceedToleratedFailureThreshold when the failed or timed
  out items exceed ToleratedFailureCount, or their share of all items exceeds
  ToleratedFailurePercentage; with neither declared, one failure fails it. Once exceeded no new
  child starts (AWS may run a few more first); the cause names each failed item's index, error
  and cause;
- AWS: without a ResultWriter the Map's result is each child's output in item order, and a
  failed child's entry is its execution record unchanged (Error and Cause included).
The children and their records are kept on the Map state's environment for the ResultWriter
(map_results.py), which exports them also when the Map Run fails.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
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
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import (
    ProgramError,
    ProgramStopped,
    ProgramTimedOut,
)
from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData

from local_runner.api_common import now
from local_runner.map_definition import batch_items

EXCEEDED = StatesErrorNameType.StatesExceedToleratedFailureThreshold
# Where the Map state's environment keeps its LocalMapRun and its input (after InputPath), which
# ItemSelector and BatchInput read (map_state.py records it on entering the state).
MAP_RUN_ATTRIBUTE = "local_map_run"
MAP_INPUT_ATTRIBUTE = "local_map_input"
FAILURE_STATUSES = ("FAILED", "TIMED_OUT")
# The failure's cause names this many failed items, each cause clipped to this length (a failed
# SageMaker job's cause is its whole describe output; AWS caps a cause at 32768 characters).
ITEMS_NAMED = 10
CAUSE_CHARS_PER_ITEM = 600


@dataclass
class ChildExecution:
    """One item's child workflow execution; `record()` is AWS's result-file entry for it."""

    index: int
    name: str
    arn: str
    state_machine_arn: str
    input: object
    status: str = "PENDING"  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    output: object = None
    error: str | None = None
    cause: str | None = None
    start: str | None = None
    stop: str | None = None

    def record(self) -> dict:
        """The child as ResultWriter's NONE transformation reports it: Input and Output as JSON
        text, Error and Cause for a failed one; a PENDING child only has its input."""
        record: dict = {"Input": json.dumps(self.input), "InputDetails": {"Included": True},
                        "Status": self.status}
        if self.status == "PENDING":
            return record
        record.update({"ExecutionArn": self.arn, "Name": self.name,
                       "StateMachineArn": self.state_machine_arn,
                       "StartDate": self.start, "StopDate": self.stop})
        if self.status == "SUCCEEDED":
            record.update({"Output": json.dumps(self.output), "OutputDetails": {"Included": True}})
        else:
            record.update({k: v for k, v in (("Error", self.error), ("Cause", self.cause))
                           if v is not None})
        return dict(sorted(record.items()))


@dataclass
class LocalMapRun:
    arn: str
    children: list[ChildExecution] = field(default_factory=list)


@dataclass(frozen=True)
class Tolerance:
    count: int | None  # None: not declared
    percentage: float | None

    def exceeded(self, failed: int, total: int) -> bool:
        if self.count is None and self.percentage is None:
            return failed > 0
        return ((self.count is not None and failed > self.count)
                or (self.percentage is not None and total > 0
                    and failed * 100.0 / total > self.percentage))


def map_run(worker_bound: Callable[[], int]):
    """The replacement for `DistributedIterationComponent._map_run`; `worker_bound()` is the
    most children the machine runs at once."""

    def _map_run(component, env, eval_input) -> None:
        items = env.stack.pop()
        record = eval_input.map_run_record
        tolerance = Tolerance(eval_input.tolerated_failure_count,
                              eval_input.tolerated_failure_percentage)
        # DescribeMapRun reports 0 for an undeclared tolerance (map_definition marks it None).
        record.tolerated_failure_count = tolerance.count or 0
        record.tolerated_failure_percentage = tolerance.percentage or 0.0
        inputs = batch_items(component, env,
                             [_selected_input(env, eval_input, i, v) for i, v in enumerate(items)])
        run = LocalMapRun(arn=record.map_run_arn, children=_children(env, record, inputs))
        setattr(env, MAP_RUN_ATTRIBUTE, run)
        record.item_counter.total.count(len(run.children))
        record.execution_counter.total.count(len(run.children))
        concurrency = record.max_concurrency or len(run.children)
        _run_children(env, component._get_iteration_program(), run.children, record, tolerance,
                      max(1, min(concurrency, len(run.children), worker_bound())))
        failed = [c for c in run.children if c.status in FAILURE_STATUSES]
        if tolerance.exceeded(len(failed), len(run.children)):
            raise _exceeded(env, failed, len(run.children), tolerance)
        env.stack.append([c.output if c.status == "SUCCEEDED" else c.record()
                          for c in run.children])

    return _map_run


def _selected_input(env, eval_input, index: int, value: object) -> object:
    """ItemSelector (or the legacy Parameters) evaluated on the Map state's input with
    `$$.Map.Item`; without either, the item itself."""
    selector = eval_input.item_selector or eval_input.parameters
    if selector is None:
        return value
    frame = env.open_inner_frame()
    try:
        map_input = getattr(env, MAP_INPUT_ATTRIBUTE)
        frame.states.context_object.context_object_data["Map"] = MapData(
            Item=ItemData(Index=index, Value=value))
        frame.states.reset(input_value=map_input)
        frame.stack.append(map_input)
        selector.eval(frame)
        return frame.stack[-1]
    finally:
        env.delete_frame(frame)


def _children(env, record, inputs: list) -> list[ChildExecution]:
    # A child's ARN follows its Map Run's: arn:...:execution:<machine>/<label>:<child name>.
    head, _, _ = record.map_run_arn.rpartition(":")
    execution_prefix = head.replace(":mapRun:", ":execution:", 1)
    machine = head.replace(":mapRun:", ":stateMachine:", 1)
    children = []
    for index, value in enumerate(inputs):
        name = str(uuid.uuid4())
        children.append(ChildExecution(index=index, name=name, arn=f"{execution_prefix}:{name}",
                                       state_machine_arn=machine, input=value))
    return children


def _run_children(env, program, children: list[ChildExecution], record, tolerance: Tolerance,
                  workers: int) -> None:
    lock = threading.Lock()
    pending = iter(children)
    stop = threading.Event()
    failures = [0]

    def work() -> None:
        while not stop.is_set() and env.is_running():
            with lock:
                child = next(pending, None)
            if child is None:
                return
            _run_child(env, program, child, record)
            with lock:
                failures[0] += child.status in FAILURE_STATUSES
                if tolerance.exceeded(failures[0], len(children)):
                    stop.set()

    threads = [threading.Thread(target=work, name=f"map-run-{i}", daemon=True)
               for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _run_child(env, program, child: ChildExecution, record) -> None:
    frame = env.open_inner_frame()
    context = frame.states.context_object.context_object_data
    parent = context["Execution"]
    child.start, child.status = now(), "RUNNING"
    context["Execution"] = {"Id": child.arn, "Input": child.input, "Name": child.name,
                            "RoleArn": parent.get("RoleArn"), "StartTime": child.start}
    context["StateMachine"] = {"Id": child.state_machine_arn,
                               "Name": child.state_machine_arn.rpartition(":")[2]}
    record.item_counter.running.count()
    record.execution_counter.running.count()
    try:
        frame.states.reset(input_value=child.input)
        program.eval(frame)
        _settle(child, frame)
    except EvalTimeoutError:
        child.status, child.error = "TIMED_OUT", StatesErrorNameType.StatesTimeout.to_name()
    except FailureEventException as failure:
        child.status = "FAILED"
        child.error, child.cause = failure.extract_error_cause_pair() or (None, None)
    except Exception as error:  # an interpreter fault: the child fails with it, named
        child.status, child.error = "FAILED", StatesErrorNameType.StatesRuntime.to_name()
        child.cause = f"{type(error).__name__}: {error}"
    finally:
        child.stop = now()
        env.delete_frame(frame)
        _count(record, child.status)


def _settle(child: ChildExecution, frame) -> None:
    state = frame.program_state()
    if isinstance(state, ProgramError):
        child.status = "FAILED"
        child.error, child.cause = (state.error or {}).get("error"), (state.error or {}).get(
            "cause")
    elif isinstance(state, ProgramTimedOut):
        child.status, child.error = "TIMED_OUT", StatesErrorNameType.StatesTimeout.to_name()
    elif isinstance(state, ProgramStopped):
        child.status = "ABORTED"
    else:
        child.status, child.output = "SUCCEEDED", frame.states.get_input()


def _count(record, status: str) -> None:
    counters = {"SUCCEEDED": "succeeded", "FAILED": "failed", "TIMED_OUT": "timed_out",
                "ABORTED": "aborted"}
    for counter in (record.item_counter, record.execution_counter):
        counter.running.offset(-1)
        getattr(counter, counters[status]).count()
        if status == "SUCCEEDED":
            counter.results_written.count()


def _reason(cause: str) -> str:
    """A task's cause that is a describe output (a failed `.sync` job's) reads as its
    FailureReason; any other cause as it is."""
    try:
        described = json.loads(cause)
    except ValueError:
        return cause
    reason = described.get("FailureReason") if isinstance(described, dict) else None
    return str(reason) if reason else cause


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _exceeded(env, failed: list[ChildExecution], total: int,
              tolerance: Tolerance) -> FailureEventException:
    allowed = []
    if tolerance.count is not None:
        allowed.append(f"ToleratedFailureCount {tolerance.count}")
    if tolerance.percentage is not None:
        allowed.append(f"ToleratedFailurePercentage {tolerance.percentage:g}%")
    named = [f"item {c.index}: {c.error or 'failed'}"
             + (f": {_clip(_reason(c.cause), CAUSE_CHARS_PER_ITEM)}" if c.cause else "")
             for c in failed[:ITEMS_NAMED]]
    more = len(failed) - len(named)
    items = "; ".join(named) + (f"; and {more} more" if more else "")
    cause = (f"The specified tolerated failure threshold was exceeded: {len(failed)} of {total} "
             f"items failed ({len(failed) * 100.0 / total:g}%), more than "
             f"{' or '.join(allowed) or 'none (no tolerated failure declared)'} allows. {items}")
    return FailureEventException(FailureEvent(
        env=env, error_name=StatesErrorName(typ=EXCEEDED), event_type=HistoryEventType.MapRunFailed,
        event_details=EventDetails(executionFailedEventDetails=ExecutionFailedEventDetails(
            error=EXCEEDED.to_name(), cause=cause))))
