"""State machine definitions (ASL) from the synthesized templates in cdk.out.

A definition (inline `DefinitionString`, or the staged asset file with its
`DefinitionSubstitutions`) is JSON text with intrinsics (bucket names, role
ARNs, account ids) that always sit inside JSON strings. Each intrinsic is rendered as a readable
placeholder (or a value from `substitutions`), the parts are joined and parsed: the result is the
ASL document Step Functions would run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from config.problems import nearest
from local_runner.assembly import StackTemplate
from local_runner.errors import RunnerError

# What a state machine is for, as its tags say (the stacks tag every one): the runner finds a
# pipeline by these, never by a list of pipelines or use cases of its own.
USE_CASE_TAG = "use-case"
PIPELINE_TAG = "pipeline"

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
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def use_case(self) -> str | None:
        return self.tags.get(USE_CASE_TAG)

    @property
    def pipeline(self) -> str | None:
        return self.tags.get(PIPELINE_TAG)

    def belongs_to(self, use_case: str) -> bool:
        return self.use_case == use_case

    @property
    def address(self) -> str:
        """`<use case>:<pipeline>`, how the CLI names it (just the pipeline when untagged)."""
        return f"{self.use_case}:{self.pipeline}" if self.use_case else str(self.pipeline)


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


_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def definition_text(resource: dict, assembly_dir: Path, render: Callable[[object], str]) -> str:
    """A state machine resource's definition with every reference rendered by `render`: inline
    (`DefinitionString`) or, as the stacks write it (ml_constructs/stored_definition.py), an
    asset file (`DefinitionS3Location`, staged at its `aws:asset:path` under `assembly_dir`)
    whose `${name}` placeholders CloudFormation fills from `DefinitionSubstitutions`."""
    props = resource["Properties"]
    if "DefinitionString" in props:
        return render(props["DefinitionString"])
    staged = resource.get("Metadata", {}).get("aws:asset:path")
    if staged is None:
        raise RunnerError("a state machine's definition is in S3 and no asset path says where "
                          "the synth staged it",
                          "synthesize with asset metadata on (the CDK CLI's default)")
    substitutions = {name: render(value)
                     for name, value in props.get("DefinitionSubstitutions", {}).items()}

    def substitute(match: re.Match) -> str:
        if match.group(1) not in substitutions:
            raise RunnerError(f"{staged}: the definition's placeholder ${{{match.group(1)}}} "
                              "has no DefinitionSubstitutions entry", "synthesize again")
        return substitutions[match.group(1)]

    return _PLACEHOLDER.sub(substitute, (assembly_dir / staged).read_text())


def state_machines(stacks: list[StackTemplate],
                   substitutions: dict[str, str] | None = None) -> list[StateMachineDefinition]:
    subs = substitutions if substitutions is not None else assembly_substitutions(stacks)
    found = []
    for stack in stacks:
        for logical_id, resource in stack.template.get("Resources", {}).items():
            if resource["Type"] != "AWS::StepFunctions::StateMachine":
                continue
            props = resource["Properties"]
            text = definition_text(resource, stack.directory,
                                   lambda node: render_intrinsic(node, subs))
            try:
                asl = json.loads(text)
            except json.JSONDecodeError as error:
                raise RunnerError(f"{logical_id}: the rendered definition is not JSON: {error}") \
                    from None
            name = render_intrinsic(props.get("StateMachineName", logical_id), subs)
            tags = {tag["Key"]: render_intrinsic(tag["Value"], subs)
                    for tag in props.get("Tags", [])}
            found.append(StateMachineDefinition(logical_id, name, stack.stack_name, asl, tags))
    return found


def split_address(address: str) -> tuple[str | None, str]:
    """`fraud:training` -> ("fraud", "training"); `training` -> (None, "training")."""
    use_case, sep, pipeline = address.rpartition(":")
    return (use_case if sep else None), pipeline


def find(definitions: list[StateMachineDefinition], address: str) -> StateMachineDefinition:
    """The state machine `<use case>:<pipeline>` names, by its tags; a bare `<pipeline>` when
    only one use case has it. A wrong name is told the nearest one that exists."""
    use_case, pipeline = split_address(address)
    use_cases = sorted({d.use_case for d in definitions if d.use_case})
    if use_case is not None and use_cases and use_case not in use_cases:
        guess = nearest(use_case, use_cases)
        raise RunnerError(f"{address}: the app deploys no use case {use_case!r}"
                          + (f"; did you mean {guess}?" if guess else ""),
                          f"use cases with state machines: {', '.join(use_cases)}")
    mine = [d for d in definitions if use_case is None or d.belongs_to(use_case)]
    matches = [d for d in mine if d.pipeline == pipeline]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise RunnerError(f"{address}: {len(matches)} use cases have a {pipeline} pipeline",
                          "name one: " + ", ".join(sorted(d.address for d in matches)))
    known = sorted({d.pipeline for d in mine if d.pipeline})
    guess = nearest(pipeline, known)
    owner = f"use case {use_case!r}" if use_case else "the app"
    raise RunnerError(f"{address}: {owner} has no pipeline {pipeline!r}"
                      + (f"; did you mean {guess}?" if guess else ""),
                      f"pipelines: {', '.join(known) or 'none'}")
