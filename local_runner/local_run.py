"""A local run: the synthesized app deployed into an emulated account, executions started and
followed state by state. Used by `mlplatform run` and by the tests; knows no pipeline and no
use case: a state machine is found by its tags (`<use case>:<pipeline>`, definitions.find)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from moto import mock_aws

from local_runner import engine
from local_runner.assembly import PROJECT_ROOT, read_stacks
from local_runner.definitions import find, state_machines
from local_runner.emulated_account import ACCOUNT, EmulatedAccount, provision
from local_runner.errors import RunnerError
from local_runner.executors import LocalProgram
from local_runner.local_events import Delivery, LocalEvents
from local_runner.local_glue import LocalGlue
from local_runner.local_sagemaker import LocalSageMaker
from local_runner.local_seed import Seed
from runtime_scripts.contract import TRACKING_URI_ENV

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# The status is polled soon after the start (most refusals end within a second), then less and
# less often: each poll is an emulated API call that costs the engine's threads CPU.
STATUS_POLL_S = (0.05, 1.5, 0.5)  # first interval, growth, longest interval
HISTORY_POLL_S = 0.5  # when someone watches the states (the CLI's live view)


@dataclass
class StateStep:
    name: str
    # "running" | "succeeded" | "caught" (failed, and a Catch routed on) | "failed" (ended the run)
    status: str
    started: float
    duration: float | None = None
    kind: str = ""  # the state's type: "Task", "Choice", "Fail", ...
    error: str | None = None  # the error of its last failed attempt


@dataclass
class ExecutionResult:
    pipeline: str
    name: str
    arn: str
    status: str
    output: dict | None
    error: str | None
    cause: str | None
    history: list[dict]
    seconds: float
    steps: list[StateStep] = field(default_factory=list)

    @property
    def path(self) -> list[str]:
        """The states entered, in order: what the execution actually did."""
        return [e["stateEnteredEventDetails"]["name"] for e in self.history
                if "stateEnteredEventDetails" in e]


@dataclass(frozen=True)
class _Clients:
    s3: object
    sns: object
    sfn: object
    cloudwatch: object


class LocalPlatform:
    """`with LocalPlatform(assembly_dir) as platform:` an emulated account with the app deployed.

    Everything is in-process: moto intercepts boto3, the jobs run as subprocesses that read and
    write local folders which the executors stage from and to the emulated S3.
    """

    def __init__(self, assembly_dir: Path, *, workdir: Path | None = None,
                 time_scale: float = 0.001, max_local_trials: int = 4,
                 tracking_store: Path | None = None) -> None:
        """`tracking_store`: the folder of an MLflow file store every job logs its run to (the
        stand-in for the stage's tracking server); None: the jobs log nowhere, whatever
        tracking server their requests name (it is not reachable from here)."""
        self.assembly_dir = Path(assembly_dir)
        self.region = os.environ.get("AWS_REGION", "eu-west-1")
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="mlplatform-local-"))
        self.time_scale = time_scale
        self.max_local_trials = max_local_trials
        self.tracking_uri = Path(tracking_store).resolve().as_uri() if tracking_store else ""
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._activation = None

    def __enter__(self) -> LocalPlatform:
        # moto's interpreter logs every caught task error with its whole parse tree; the run's
        # own report says what failed, where and why.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        self._mock.start()
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)  # also deactivates the engine and stops any server
            raise
        return self

    def _start(self) -> None:
        def client(service):
            return boto3.client(service, region_name=self.region)

        self.clients = _Clients(s3=client("s3"), sns=client("sns"), sfn=client("stepfunctions"),
                                cloudwatch=client("cloudwatch"))
        program = LocalProgram(bin_dir=PROJECT_ROOT / "runtime_scripts" / "bin",
                               environment={TRACKING_URI_ENV: self.tracking_uri})
        self.sagemaker = LocalSageMaker(s3=self.clients.s3, program=program,
                                        workdir=self.workdir / "jobs", region=self.region,
                                        max_local_trials=self.max_local_trials,
                                        alarm_states=self.alarm_states,
                                        time_scale=self.time_scale)
        self.glue = LocalGlue({}, self.clients.s3, self.workdir)
        services = engine.LocalServices(sagemaker=self.sagemaker, glue=self.glue,
                                        time_scale=self.time_scale)
        # Active before the state machines are created: moto picks task integrations then.
        self._activation = engine.activate(services)
        self._activation.__enter__()
        stacks = read_stacks(self.assembly_dir)
        self.definitions = state_machines(stacks)
        self.account: EmulatedAccount = provision(
            stacks, self.assembly_dir, region=self.region, clients=self.clients,
            sagemaker=self.sagemaker)
        self.glue.jobs.update(self.account.glue_jobs)
        services.lambdas.update(self.account.lambdas)
        self.events = LocalEvents(self.account.rules, self.clients.sfn, region=self.region,
                                  account=ACCOUNT)

    def __exit__(self, *exc) -> None:
        try:
            if getattr(self, "sagemaker", None) is not None:
                self.sagemaker.close()  # endpoint servers are processes: never leave one behind
            if self._activation is not None:
                self._activation.__exit__(*exc)
        finally:
            self._mock.stop()
            if self._own_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def set_alarm_state(self, name: str, state: str, reason: str = "set locally") -> list[Delivery]:
        """An alarm of the app changes state, as CloudWatch would have it: the new state (metric
        alarms; moto has no composite ones), then the "CloudWatch Alarm State Change" event to
        the EventBridge rules. The rules' deliveries (LocalEvents.Delivery) are returned."""
        if name not in self.account.alarms:
            raise RunnerError(f"no alarm named {name!r} in the app",
                              f"alarms: {', '.join(sorted(self.account.alarms))}")
        states = self.alarm_states([name])
        if name in states:  # a metric alarm (composite ones exist only as names and ARNs)
            self.clients.cloudwatch.set_alarm_state(AlarmName=name, StateValue=state,
                                                    StateReason=reason)
        previous = states.get(name, "INSUFFICIENT_DATA")
        return self.events.put_event(
            "aws.cloudwatch", "CloudWatch Alarm State Change",
            {"alarmName": name, "state": {"value": state, "reason": reason},
             "previousState": {"value": previous}}, resources=[self.account.alarms[name]])

    def alarm_states(self, names: Sequence[str]) -> dict[str, str]:
        """CloudWatch's state of each named alarm that exists (what blue/green rollback watches)."""
        found = self.clients.cloudwatch.describe_alarms(AlarmNames=list(names))
        return {a["AlarmName"]: a["StateValue"]
                for kind in ("MetricAlarms", "CompositeAlarms") for a in found.get(kind, [])}

    # --- data ------------------------------------------------------------------------------------
    def seed(self, seed: Seed | Path) -> list[str]:
        """Upload what a seed lists (local_seed.py), each file to the bucket a stack output
        names: the S3 URIs written."""
        seed = (Seed.from_file(seed) if isinstance(seed, Path) else seed).check()
        uploaded = []
        for upload in seed.uploads:
            bucket = self.account.output(upload.bucket_output)
            self.clients.s3.upload_file(str(upload.file), bucket, upload.key)
            uploaded.append(f"s3://{bucket}/{upload.key}")
        return uploaded

    def seed_inputs(self, seed: Seed | Path) -> dict[str, dict]:
        """The execution inputs a seed gives per pipeline, with `${Name}` in any string
        replaced by the stack output Name (the uploads' bucket, say)."""
        seed = Seed.from_file(seed) if isinstance(seed, Path) else seed

        def resolve(value):
            if isinstance(value, dict):
                return {k: resolve(v) for k, v in value.items()}
            if isinstance(value, list):
                return [resolve(v) for v in value]
            if isinstance(value, str):
                return _PLACEHOLDER.sub(lambda m: self.account.output(m.group(1)), value)
            return value

        return resolve(seed.inputs)

    # --- executions ------------------------------------------------------------------------------
    def state_machine_arn(self, pipeline: str) -> str:
        """The ARN of `<use case>:<pipeline>` (or a bare pipeline only one use case has)."""
        return self.account.state_machines[find(self.definitions, pipeline).name]

    def run(self, pipeline: str, execution_input: dict | None = None, *, name: str,
            on_step: Callable[[StateStep], None] | None = None,
            on_tick: Callable[[StateStep | None], None] | None = None,
            timeout_seconds: float = 1800) -> ExecutionResult:
        """Start and follow an execution: `on_step` when a state starts and ends, `on_tick`
        with the running state (or None) each time the execution is polled."""
        arn = self.start(pipeline, execution_input, name=name)
        return self._follow(pipeline, name, arn, on_step, timeout_seconds, on_tick)

    def start(self, pipeline: str, execution_input: dict | None = None, *, name: str) -> str:
        """Start an execution without waiting for it: its ARN (follow it with `wait`)."""
        return self.clients.sfn.start_execution(
            stateMachineArn=self.state_machine_arn(pipeline), name=name,
            input=json.dumps(execution_input or {}))["executionArn"]

    def wait(self, execution_arn: str, *, timeout_seconds: float = 1800) -> ExecutionResult:
        """Follow an execution, however it was started (`start`, a rule, another state
        machine), to its end; its `pipeline` is the state machine's name."""
        _, machine, name = execution_arn.rsplit(":", 2)
        return self._follow(machine, name, execution_arn, None, timeout_seconds)

    def _follow(self, pipeline: str, name: str, arn: str, on_step, timeout_seconds: float,
                on_tick=None):
        started = time.monotonic()
        steps: dict[str, StateStep] = {}
        seen = 0
        # The whole history is served on every call (the emulation pages nothing) and costs far
        # more than the status: read it only for a watcher, at most every HISTORY_POLL_S.
        watched = on_step is not None or on_tick is not None
        history_read = float("-inf")
        interval, growth, longest = STATUS_POLL_S
        while True:
            if watched and time.monotonic() - history_read >= HISTORY_POLL_S:
                history_read = time.monotonic()
                history = self.clients.sfn.get_execution_history(
                    executionArn=arn, maxResults=1000)["events"]
                for event in history[seen:]:
                    _track(event, steps, on_step)
                seen = len(history)
            described = self.clients.sfn.describe_execution(executionArn=arn)
            if described["status"] in TERMINAL:
                break
            if time.monotonic() - started > timeout_seconds:
                raise RunnerError(f"execution {name} did not finish in {timeout_seconds:.0f} s")
            if on_tick is not None:
                on_tick(next((s for s in reversed(steps.values()) if s.duration is None), None))
            time.sleep(interval)
            interval = min(longest, interval * growth)
        history = self.clients.sfn.get_execution_history(executionArn=arn,
                                                         maxResults=1000)["events"]
        for event in history[seen:]:
            _track(event, steps, on_step)
        failed = next((e["executionFailedEventDetails"] for e in reversed(history)
                       if "executionFailedEventDetails" in e), {})
        output = described.get("output")
        return ExecutionResult(
            pipeline=pipeline, name=name, arn=arn, status=described["status"],
            output=json.loads(output) if output else None,
            error=failed.get("error"), cause=failed.get("cause"), history=history,
            seconds=time.monotonic() - started, steps=list(steps.values()))

    def in_progress(self) -> list[dict]:
        """What SageMaker is running now (describe outputs): a long state's progress."""
        return self.sagemaker.in_progress()

    def tuning_jobs(self) -> dict[str, tuple[dict, list]]:
        """Every tuning job run so far: its describe output and its trials, in order."""
        state = self.sagemaker.state
        return {name: (describe, list(state.tuning_trials.get(name, [])))
                for name, describe in dict(state.jobs.get("tuning-job", {})).items()}

    # --- artefacts -------------------------------------------------------------------------------
    def download_run(self, execution_name: str, destination: Path) -> list[Path]:
        """Every object whose key holds the execution's name as a folder, into `destination`
        at the key's part below that folder (`runs/<name>/evaluation/report.html` becomes
        `<destination>/evaluation/report.html`); a part that two objects share keeps its
        bucket and whole key."""
        found: list[tuple[str, str, str]] = []  # bucket, key, part below the execution's folder
        for bucket in self.account.buckets.values():
            paginator = self.clients.s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket):
                for item in page.get("Contents", []):
                    _, marker, below = f"/{item['Key']}".partition(f"/{execution_name}/")
                    if marker and below:
                        found.append((bucket, item["Key"], below))
        parts = [below for _, _, below in found]
        written = []
        for bucket, key, below in found:
            target = destination / (below if parts.count(below) == 1 else f"{bucket}/{key}")
            target.parent.mkdir(parents=True, exist_ok=True)
            self.clients.s3.download_file(bucket, key, str(target))
            written.append(target)
        return written

    def read_json(self, uri: str) -> dict:
        bucket, _, key = uri[5:].partition("/")
        return json.loads(self.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


FAILED_EVENTS = ("TaskFailed", "LambdaFunctionFailed", "TaskTimedOut", "LambdaFunctionTimedOut")
SUCCEEDED_EVENTS = ("TaskSucceeded", "LambdaFunctionSucceeded")


def _track(event: dict, steps: dict[str, StateStep], on_step) -> None:
    """Follow one history event. A state is reported when it is entered and once when it ends:
    failed if its last attempt failed (a caught error also exits the state), else succeeded."""
    entered = event.get("stateEnteredEventDetails")
    exited = event.get("stateExitedEventDetails")
    now = event["timestamp"].timestamp() if hasattr(event["timestamp"], "timestamp") \
        else time.time()
    running = next((s for s in reversed(list(steps.values())) if s.duration is None), None)
    if entered:
        step = StateStep(entered["name"], "running", now,
                         kind=event["type"].removesuffix("StateEntered"))
        steps[f"{entered['name']}#{len(steps)}"] = step
        _report(step, on_step)
    elif exited and running is not None and running.name == exited["name"]:
        # A state that exits after its last attempt failed had the error caught: its Catch
        # routed the execution on (the execution's end says whether that was a failure).
        running.status = "caught" if running.status == "failed" else "succeeded"
        running.duration = now - running.started
        _report(running, on_step)
    elif running is not None and event["type"] in FAILED_EVENTS:
        running.status = "failed"  # reported when the state ends; a retry may still succeed
        details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
        running.error = details.get("error")
    elif running is not None and event["type"] in SUCCEEDED_EVENTS:
        running.status = "running"
    elif running is not None and event["type"] == "ExecutionFailed":
        running.status = "failed"
        running.duration = now - running.started
        _report(running, on_step)


def _report(step: StateStep, on_step) -> None:
    if on_step:
        on_step(step)
