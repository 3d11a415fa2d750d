"""Run a small hand-written state machine on the local engine and wait for its end."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

ROLE = "arn:aws:iam::123456789012:role/local"


def execution_runner(sfn, *, timeout_s: float = 20.0) -> Callable[..., dict]:
    """`run(states, input)` creates a state machine of `states` (StartAt: the first), runs it
    and returns describe_execution with the event history under "history"."""

    def run(states: dict, execution_input: dict | None = None) -> dict:
        definition = {"StartAt": next(iter(states)), "States": states}
        arn = sfn.create_state_machine(name=f"canary-{time.time_ns()}", roleArn=ROLE,
                                       definition=json.dumps(definition))["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=arn, name="canary",
                                        input=json.dumps(execution_input or {}))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if described["status"] != "RUNNING":
                history = sfn.get_execution_history(
                    executionArn=execution["executionArn"])["events"]
                return {**described, "history": history}
            time.sleep(0.02)
        raise AssertionError(f"execution did not finish within {timeout_s} s")

    return run
