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
    # One stack id for every emulated stack: names derived from it (ml_constructs/physical_names)
    # only need to be stable within a run.
    "AWS::StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/local/"
                    "00000000-0000-4000-8000-000000000000",
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
    if "Fn::Select" in node:
        index, values = node["Fn::Select"]
        return _render_list(values, substitutions)[int(index)]
    raise RunnerError(f"unsupported intrinsic in a state machine definition: {node!r}")


def _render_list(node, substitutions: dict[str, str]) -> list[str]:
    if isinstance(node, list):
        return [render_intrinsic(item, substitutions) for item in node]
    if "Fn::Split" in node:
        separator, source = node["Fn::Split"]
        return render_intrinsic(source, substitutions).split(separator)
    raise RunnerError(f"unsupported list intrinsic in a template: {node!r}")


def generated_name(stack_name: str, logical_id: str, max_length: int = 63) -> str:
    """A name for a resource the template leaves CloudFormation to name: `<stack>-<logical id>`
    in lowercase, as CloudFormation's generated names begin (without their random suffix)."""
    return f"{stack_name}-{logical_id}".lower()[:max_length].rstrip("-")


def assembly_substitutions(stacks: list[StackTemplate]) -> dict[str, str]:
    """What the templates refer to that needs no account: the generated names of buckets and
    every stack's outputs (what `Fn::GetStackOutput` reads)."""
    subs: dict[str, str] = {}
    for stack in stacks:
        for logical_id, resource in stack.template.get("Resources", {}).items():
            if resource["Type"] == "AWS::S3::Bucket" and \
                    "BucketName" not in resource.get("Properties", {}):
                subs[logical_id] = generated_name(stack.stack_name, logical_id)
    for stack in stacks:
        for name, output in stack.template.get("Outputs", {}).items():
            subs[f"{stack.stack_name}.{name}"] = render_intrinsic(output["Value"], subs)
    return subs


def state_machines(stacks: list[StackTemplate],
                   substitutions: dict[str, str] | None = None) -> list[StateMachineDefinition]:
    subs = substitutions if substitutions is not None else assembly_substitutions(stacks)
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
