"""A synthesized cloud assembly (cdk.out) read back as one account would hold it: every template of
every stack, and CloudFormation values rendered to the strings CloudFormation would produce.

References become realistic values (a role's `Arn` is `arn:aws:iam::<account>:role/<name>`, a
topic's `Ref` its ARN, a key's `Arn` a key ARN), the same in every stack that names them, so an
ARN in a state machine's request matches the ARN in a policy exactly as it would in AWS.
Cross-stack references (`Fn::GetStackOutput`, `Fn::ImportValue`) resolve through the producing
stack's outputs. An intrinsic this module does not know raises: nothing is silently guessed.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ACCOUNT = "123456789012"
PSEUDO = {"AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
          "AWS::NoValue": None}


@dataclass
class Stack:
    name: str
    template: dict
    region: str
    directory: Path  # its cloud assembly, where its assets are staged

    @property
    def resources(self) -> dict:
        return self.template.get("Resources", {})

    def of_type(self, kind: str) -> dict[str, dict]:
        return {lid: r for lid, r in self.resources.items() if r["Type"] == kind}


# How each resource type answers Ref and Fn::GetAtt: (name property, ARN template, Ref is ARN).
# `{name}` is the physical name (the property, else a generated one), `{p}`, `{r}`, `{a}` the
# partition, region and account.
_KINDS = {
    "AWS::IAM::Role": ("RoleName", "arn:{p}:iam::{a}:role/{name}", False),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", "arn:{p}:iam::{a}:policy/{name}", True),
    "AWS::KMS::Key": (None, "arn:{p}:kms:{r}:{a}:key/{name}", False),
    "AWS::Lambda::Function": ("FunctionName", "arn:{p}:lambda:{r}:{a}:function:{name}", False),
    "AWS::SNS::Topic": ("TopicName", "arn:{p}:sns:{r}:{a}:{name}", True),
    "AWS::Logs::LogGroup": ("LogGroupName", "arn:{p}:logs:{r}:{a}:log-group:{name}:*", False),
    "AWS::StepFunctions::StateMachine": ("StateMachineName",
                                         "arn:{p}:states:{r}:{a}:stateMachine:{name}", True),
    "AWS::S3::Bucket": ("BucketName", "arn:{p}:s3:::{name}", False),
    "AWS::Glue::Database": (None, "arn:{p}:glue:{r}:{a}:database/{name}", False),
    "AWS::CodeBuild::Project": ("Name", "arn:{p}:codebuild:{r}:{a}:project/{name}", False),
    "AWS::ECR::Repository": ("RepositoryName", "arn:{p}:ecr:{r}:{a}:repository/{name}", False),
    "AWS::Events::Rule": ("Name", "arn:{p}:events:{r}:{a}:rule/{name}", False),
    "AWS::CloudWatch::Alarm": ("AlarmName", "arn:{p}:cloudwatch:{r}:{a}:alarm:{name}", False),
    "AWS::SQS::Queue": ("QueueName", "arn:{p}:sqs:{r}:{a}:{name}", False),
}


@dataclass
class Assembly:
    """All stacks of one cloud assembly directory (nested stage assemblies with `nested`)."""

    stacks: list[Stack] = field(default_factory=list)

    @classmethod
    def read(cls, outdir: Path, *, nested: bool = False) -> Assembly:
        assembly = cls()
        assembly._read(Path(outdir), nested)
        return assembly

    def _read(self, outdir: Path, nested: bool) -> None:
        manifest = json.loads((outdir / "manifest.json").read_text())
        for artifact in manifest.get("artifacts", {}).values():
            props = artifact.get("properties", {})
            if artifact["type"] == "aws:cloudformation:stack":
                region = artifact["environment"].rsplit("/", 1)[-1]
                template = json.loads((outdir / props["templateFile"]).read_text())
                self.stacks.append(Stack(props["stackName"], template, region, outdir))
            elif artifact["type"] == "cdk:cloud-assembly" and nested:
                self._read(outdir / props["directoryName"], nested)

    def stack(self, name: str) -> Stack:
        (found,) = [s for s in self.stacks if s.name == name]
        return found

    # --- rendering ------------------------------------------------------------------------------
    def render(self, stack: Stack, value):
        """A property value with every intrinsic rendered (lists and objects recursively)."""
        if isinstance(value, list):
            return [self.render(stack, v) for v in value]
        if isinstance(value, dict):
            if len(value) == 1 and (next(iter(value)).startswith("Fn::") or "Ref" in value):
                return self._intrinsic(stack, *next(iter(value.items())))
            return {k: self.render(stack, v) for k, v in value.items()}
        return value

    def _intrinsic(self, stack: Stack, name: str, arg):
        if name == "Ref":
            return self.ref(stack, arg)
        if name == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.get_att(stack, logical_id, attribute)
        if name == "Fn::Join":
            separator, parts = arg
            return separator.join(str(self.render(stack, p)) for p in self.render(stack, parts))
        if name == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            return self._sub(stack, text, {k: self.render(stack, v) for k, v in variables.items()})
        if name == "Fn::Select":
            index, items = arg
            return self.render(stack, items)[int(self.render(stack, index))]
        if name == "Fn::Split":
            separator, text = arg
            return str(self.render(stack, text)).split(separator)
        if name == "Fn::GetStackOutput":
            producer = self.stack(arg["StackName"])
            return self.render(producer, producer.template["Outputs"][arg["OutputName"]]["Value"])
        if name == "Fn::ImportValue":
            return self._import(self.render(stack, arg))
        raise ValueError(f"{stack.name}: cannot render intrinsic {name} {arg!r}")

    def _sub(self, stack: Stack, text: str, variables: dict) -> str:
        def one(match: re.Match) -> str:
            token = match.group(1)
            if token in variables:
                return str(variables[token])
            if "." in token:
                return str(self.get_att(stack, *token.split(".", 1)))
            return str(self.ref(stack, token))
        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def _import(self, export: str):
        for stack in self.stacks:
            for output in stack.template.get("Outputs", {}).values():
                if self.render(stack, output.get("Export", {}).get("Name")) == export:
                    return self.render(stack, output["Value"])
        raise ValueError(f"no stack exports {export!r}")

    def ref(self, stack: Stack, name: str):
        if name == "AWS::Region":
            return stack.region
        if name in PSEUDO:
            return PSEUDO[name]
        if name == "AWS::StackName":
            return stack.name
        if name == "AWS::StackId":  # names per stack incarnation end in its uuid
            stack_uuid = uuid.uuid5(uuid.NAMESPACE_URL, stack.name)
            return (f"arn:aws:cloudformation:{stack.region}:{ACCOUNT}:stack/{stack.name}/"
                    f"{stack_uuid}")
        if name in stack.template.get("Parameters", {}):
            return stack.template["Parameters"][name].get("Default", f"<parameter {name}>")
        resource = stack.resources[name]
        kind = _KINDS.get(resource["Type"])
        if kind and kind[2]:
            return self.get_att(stack, name, "Arn")
        return self.physical_name(stack, name)

    def get_att(self, stack: Stack, logical_id: str, attribute: str) -> str:
        resource = stack.resources[logical_id]
        kind = _KINDS.get(resource["Type"])
        if kind and attribute in ("Arn", "TopicArn"):
            return kind[1].format(p="aws", r=stack.region, a=ACCOUNT,
                                  name=self.physical_name(stack, logical_id))
        if attribute == "Name":
            return self.physical_name(stack, logical_id)
        # Any other attribute: a stable token naming it (security group ids, endpoint URLs, ...).
        return f"<{stack.name}.{logical_id}.{attribute}>"

    def physical_name(self, stack: Stack, logical_id: str) -> str:
        resource = stack.resources[logical_id]
        kind = _KINDS.get(resource["Type"])
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Glue::Database":
            return self.render(stack, props["DatabaseInput"]["Name"])
        if kind and kind[0] and kind[0] in props:
            return str(self.render(stack, props[kind[0]]))
        # CloudFormation generates the name from the stack name and the logical id.
        generated = f"{stack.name}-{logical_id}"[:60]
        return generated.lower() if resource["Type"] == "AWS::S3::Bucket" else generated
