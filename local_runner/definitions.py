"""State machine definitions (ASL) from the synthesized templates in cdk.out.

A template's `DefinitionString` is a `Fn::Join` of JSON text and intrinsics (bucket names, role
ARNs, account ids) that always sit inside JSON strings. Each intrinsic is rendered as a readable
placeholder (or a value from `substitutions`), the parts are joined and parsed: the result is the
ASL document Step Functions would run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from local_runner.assembly import StackTemplate
from local_runner.errors import RunnerError

PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "eu-west-1",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


@dataclass(frozen=True)
class StateMachineDefinition:
    logical_id: str
    name: str
    stack: str
    asl: dict


_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def _sub_variable(name: str, variables: dict, substitutions: dict[str, str]) -> str:
    if name in variables:
        return render_intrinsic(variables[name], substitutions)
    return substitutions.get(name, PSEUDO_PARAMETERS.get(name, f"${{{name}}}"))


def render_intrinsic(node, substitutions: dict[str, str]) -> str:
    """One intrinsic as a string: a substitution when given, else a placeholder."""
    if isinstance(node, str):
        return node
    if "Ref" in node:
        ref = node["Ref"]
        return substitutions.get(ref, PSEUDO_PARAMETERS.get(ref, f"${{{ref}}}"))
    if "Fn::GetAtt" in node:
        key = ".".join(node["Fn::GetAtt"])
        return substitutions.get(key, f"${{{key}}}")
    if "Fn::ImportValue" in node:
        name = render_intrinsic(node["Fn::ImportValue"], substitutions)
        return substitutions.get(name, f"${{import:{name}}}")
    if "Fn::GetStackOutput" in node:  # a cross-stack reference, e.g. the storage stack's key
        output = node["Fn::GetStackOutput"]
        key = f"{output['StackName']}.{output['OutputName']}"
        return substitutions.get(key, f"${{{key}}}")
    if "Fn::Join" in node:
        separator, parts = node["Fn::Join"]
        return separator.join(render_intrinsic(p, substitutions) for p in parts)
    if "Fn::Sub" in node:
        # ${AWS::Region}-style and ${LogicalId[.Attribute]} variables, rendered like Ref/GetAtt.
        text, variables = (node["Fn::Sub"], {}) if isinstance(node["Fn::Sub"], str) \
            else node["Fn::Sub"]
        rendered = _SUB_VARIABLE.sub(
            lambda m: _sub_variable(m.group(1), variables, substitutions), text)
        return rendered.replace("${!", "${")  # ${!Literal} is Fn::Sub's escape
    raise RunnerError(f"unsupported intrinsic in a state machine definition: {node!r}")


def state_machines(stacks: list[StackTemplate],
                   substitutions: dict[str, str] | None = None) -> list[StateMachineDefinition]:
    subs = substitutions or {}
    found = []
    for stack in stacks:
        for logical_id, resource in stack.template.get("Resources", {}).items():
            if resource["Type"] != "AWS::StepFunctions::StateMachine":
                continue
            props = resource["Properties"]
            text = render_intrinsic(props["DefinitionString"], subs)
            try:
                asl = json.loads(text)
            except json.JSONDecodeError as error:
                raise RunnerError(f"{logical_id}: the rendered definition is not JSON: {error}") \
                    from None
            name = render_intrinsic(props.get("StateMachineName", logical_id), subs)
            found.append(StateMachineDefinition(logical_id, name, stack.stack_name, asl))
    return found


def find(definitions: list[StateMachineDefinition], pipeline: str) -> StateMachineDefinition:
    """The definition whose state machine name ends with `-<pipeline>` (e.g. training)."""
    matches = [d for d in definitions if d.name.endswith(f"-{pipeline}")]
    if len(matches) != 1:
        known = ", ".join(sorted(d.name for d in definitions)) or "none"
        raise RunnerError(f"no single state machine for pipeline {pipeline!r} (found: {known})",
                          "use one of the pipeline names: training, batch-inference, "
                          "deployment, retraining-gate")
    return matches[0]
