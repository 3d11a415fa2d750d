"""EventBridge rules, emulated for local runs: an event put on the default bus is matched against
the app's rules (provisioned from the templates, EmulatedAccount.rules) and delivered to their
Step Functions targets with the target's Input, InputPath or InputTransformer applied, so a rule's
pattern and input template run as deployed. moto's EventBridge cannot deliver to state machines.

Patterns: exact values, nested objects, arrays (any element), and the `prefix`, `exists` and
`anything-but` filters; anything else raises RunnerError rather than match wrongly.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from local_runner.errors import RunnerError

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


@dataclass(frozen=True)
class Delivery:
    rule: str
    target: str  # the target's ARN
    execution_arn: str | None  # the execution started; None for a target type not emulated


class LocalEvents:
    def __init__(self, rules: list[dict], sfn, *, region: str, account: str) -> None:
        self.rules, self.sfn, self.region, self.account = rules, sfn, region, account
        self.delivered: list[Delivery] = []

    def put_event(self, source: str, detail_type: str, detail: dict,
                  resources: list[str] | None = None) -> list[Delivery]:
        """PutEvents of one event: the deliveries it caused (none when no rule matches)."""
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type,
                 "source": source, "account": self.account,
                 "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "region": self.region, "resources": resources or [], "detail": detail}
        deliveries = []
        for rule in self.rules:
            if rule.get("State", "ENABLED") != "ENABLED" or "EventPattern" not in rule or \
                    not matches(rule["EventPattern"], event):
                continue
            for target in rule.get("Targets", []):
                deliveries.append(self._deliver(rule["Name"], target, event))
        self.delivered += deliveries
        return deliveries

    def _deliver(self, rule: str, target: dict, event: dict) -> Delivery:
        arn = target["Arn"]
        if ":states:" not in arn or ":stateMachine:" not in arn:
            return Delivery(rule, arn, None)
        # Named as EventBridge names them (a UUID); moto would name every one "None".
        execution = self.sfn.start_execution(stateMachineArn=arn, name=str(uuid.uuid4()),
                                             input=json.dumps(target_input(target, event)))
        return Delivery(rule, arn, execution["executionArn"])


def matches(pattern: dict, event: dict) -> bool:
    for key, expected in pattern.items():
        present = key in event
        value = event.get(key)
        if isinstance(expected, dict):
            if not isinstance(value, dict) or not matches(expected, value):
                return False
        elif not isinstance(expected, list) or \
                not any(_value_matches(e, value, present) for e in expected):
            return False
    return True


def _value_matches(expected, value, present: bool) -> bool:
    if isinstance(value, list):  # an array matches when any of its elements does
        return any(_value_matches(expected, v, True) for v in value)
    if not isinstance(expected, dict):
        return present and expected == value
    kind, operand = next(iter(expected.items()))
    if kind == "exists":
        return present == operand
    if kind == "prefix":
        return isinstance(value, str) and value.startswith(operand)
    if kind == "anything-but":
        excluded = operand if isinstance(operand, list) else [operand]
        return present and value not in excluded
    raise RunnerError(f"event pattern filter {kind!r} is not emulated locally",
                      "use exact values, prefix, exists or anything-but")


def _path(event: dict, path: str):
    value = event
    for part in path.removeprefix("$").strip(".").split(".") if path != "$" else []:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def target_input(target: dict, event: dict):
    """What the target receives: Input (constant JSON), InputPath, InputTransformer, or the
    whole event."""
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        return _path(event, target["InputPath"])
    transformer = target.get("InputTransformer")
    if transformer is None:
        return event
    values = {name: _path(event, path)
              for name, path in transformer.get("InputPathsMap", {}).items()}
    template = transformer["InputTemplate"]
    out, in_string, last = [], False, 0
    for match in _PLACEHOLDER.finditer(template):
        # Quotes before the placeholder (escaped ones aside) say whether it sits in a string.
        in_string ^= template[last:match.start()].replace('\\"', "").count('"') % 2 == 1
        value = values.get(match.group(1))
        text = json.dumps(value) if not in_string else \
            json.dumps(value if isinstance(value, str) else json.dumps(value))[1:-1]
        out += [template[last:match.start()], text]
        last = match.end()
    return json.loads("".join(out) + template[last:])
