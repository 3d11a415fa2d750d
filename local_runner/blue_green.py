"""SageMaker's blue/green deployment guardrails, as UpdateEndpoint applies them: which shares of
traffic go to the new (green) fleet, in what steps, and the baking period after each step during
which the rollback alarms are watched. Pure logic: the endpoint emulation moves the traffic.

Per the SageMaker developer guide ("Blue/Green Deployments"): ALL_AT_ONCE shifts everything, then
bakes; CANARY shifts the canary, bakes, shifts the rest, bakes; LINEAR shifts one step at a time,
baking after each. An alarm in ALARM during any baking period rolls the update back. After the
last bake the old fleet stays `TerminationWaitInSeconds`, then goes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

ALARM = "ALARM"
# How often a local baking period looks at the alarms (real seconds, not scaled).
ALARM_POLL_S = 0.05


class PolicyError(ValueError):
    """A DeploymentConfig SageMaker would reject (ValidationException)."""


@dataclass(frozen=True)
class Plan:
    shares: tuple[float, ...]  # the green fleet's share of traffic after each step; last is 1.0
    wait_seconds: float  # baking after each step (unscaled)
    termination_wait_seconds: float  # the old fleet's grace after the last bake (unscaled)
    routing: str  # CANARY | LINEAR | ALL_AT_ONCE


def plan(policy: dict | None, instance_count: int) -> Plan:
    """The steps of a BlueGreenUpdatePolicy; without one, UpdateEndpoint swaps all at once and
    bakes nothing (no guardrails)."""
    if not policy:
        return Plan((1.0,), 0, 0, "ALL_AT_ONCE")
    routing = policy["TrafficRoutingConfiguration"]
    kind = routing["Type"]
    wait = float(routing.get("WaitIntervalInSeconds", 0))
    termination = float(policy.get("TerminationWaitInSeconds", 0))
    if kind == "ALL_AT_ONCE":
        return Plan((1.0,), wait, termination, kind)
    if kind not in ("CANARY", "LINEAR"):
        raise PolicyError(f"TrafficRoutingConfiguration.Type {kind!r} is not one of "
                          "ALL_AT_ONCE, CANARY, LINEAR")
    key = "CanarySize" if kind == "CANARY" else "LinearStepSize"
    if key not in routing:
        raise PolicyError(f"TrafficRoutingConfiguration.{key} is required for {kind}")
    size = routing[key]
    if size["Type"] == "CAPACITY_PERCENT":
        share = size["Value"] / 100
    else:  # INSTANCE_COUNT, of the fleet being replaced
        share = size["Value"] / max(instance_count, 1)
    if not 0 < share <= 0.5:
        # A canary or a linear step is at most half the fleet (UpdateEndpoint's own limit).
        raise PolicyError(f"{key} {size['Value']} {size['Type']} is {share:.0%} of the fleet: "
                          "it must be more than 0 and at most 50%")
    if kind == "CANARY":
        return Plan((share, 1.0), wait, termination, kind)
    steps = int(1 / share - 1e-9) + 1  # the last step takes what is left
    shares = tuple(min(1.0, share * (i + 1)) for i in range(steps - 1)) + (1.0,)
    return Plan(shares, wait, termination, kind)


def check_alarms(alarms: Sequence[str],
                 states: Callable[[Sequence[str]], dict[str, str]] | None) -> None:
    """UpdateEndpoint takes alarm names on trust; checking them locally catches a state machine
    that names alarms the app does not create (they could never roll anything back)."""
    if not alarms:
        return
    if states is None:
        raise PolicyError("AutoRollbackConfiguration names alarms, but there is no CloudWatch "
                          "to watch them")
    missing = sorted(set(alarms) - set(states(alarms)))
    if missing:
        raise PolicyError(f"AutoRollbackConfiguration: alarm(s) {', '.join(missing)} do not "
                          "exist")


def bake(seconds: float, alarms: Sequence[str],
         states: Callable[[Sequence[str]], dict[str, str]]) -> list[str]:
    """Watch `alarms` for `seconds` (already scaled to the local clock), looking at least once:
    the names found in ALARM, or [] when the period passed quietly."""
    deadline = time.monotonic() + seconds
    while True:
        fired = sorted(name for name, state in states(alarms).items() if state == ALARM) \
            if alarms else []
        left = deadline - time.monotonic()
        if fired or left <= 0:
            return fired
        time.sleep(min(ALARM_POLL_S, left))


def rollback_reason(fired: Sequence[str], step: int, plan_: Plan) -> str:
    """The endpoint's FailureReason after an alarm rollback (SageMaker's wording is not
    documented; this says the same things: rolled back, which alarms, when)."""
    phase = ("canary" if plan_.routing == "CANARY" and step == 0 else
             f"step {step + 1} of {len(plan_.shares)}" if plan_.routing == "LINEAR" else "final")
    return (f"Endpoint update rolled back: CloudWatch alarm(s) {', '.join(fired)} in ALARM "
            f"during the {phase} baking period ({plan_.shares[step]:.0%} of traffic on the new "
            "endpoint config)")


class Router:
    """Smooth weighted round robin (nginx's upstream balancing): deterministic, and over any run
    of requests each target's count stays within one of its share."""

    def __init__(self, weights: Sequence[float]) -> None:
        self.weights = list(weights)
        self._credit = [0.0] * len(self.weights)

    def pick(self) -> int:
        total = sum(self.weights)
        for i, weight in enumerate(self.weights):
            self._credit[i] += weight
        best = max(range(len(self.weights)), key=lambda i: self._credit[i])
        self._credit[best] -= total
        return best
