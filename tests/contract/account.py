"""One synthesized stage as the account IAM would see after `cdk deploy`: each role with the
identity policies attached to it, key policies, bucket policies and encryption, topics and their
keys, and the state machines with their roles and rendered definitions. `can` asks the evaluator
(iam_eval.py) whether a principal may make one request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from local_runner.definitions import definition_text
from tests.contract.cfn_render import ACCOUNT, Assembly, Stack
from tests.contract.iam_eval import Decision, Request, as_list, authorize

ACCOUNT_ROOT = f"arn:aws:iam::{ACCOUNT}:root"
# What every SDK request over HTTPS carries (the buckets deny anything else).
TRANSPORT = {"aws:SecureTransport": "true", "s3:TlsVersion": 1.2}


@dataclass
class StateMachine:
    name: str
    stack: Stack
    role_arn: str
    asl: dict


@dataclass
class Account:
    assembly: Assembly
    identity: dict[str, list[dict]] = field(default_factory=dict)  # role ARN -> statements
    unknown_managed: dict[str, list[str]] = field(default_factory=dict)  # role ARN -> ARNs
    key_policies: dict[str, list[dict]] = field(default_factory=dict)  # key ARN -> statements
    bucket_policies: dict[str, list[dict]] = field(default_factory=dict)  # bucket -> statements
    bucket_keys: dict[str, str | None] = field(default_factory=dict)  # bucket -> default key
    topic_keys: dict[str, str | None] = field(default_factory=dict)  # topic ARN -> key ARN
    state_machines: list[StateMachine] = field(default_factory=list)

    @classmethod
    def read(cls, outdir: Path) -> Account:
        account = cls(Assembly.read(outdir))
        for stack in account.assembly.stacks:
            account._read_stack(stack)
        return account

    def render(self, stack: Stack, value):
        return self.assembly.render(stack, value)

    def _read_stack(self, stack: Stack) -> None:
        render = self.assembly.render
        roles_by_name = {}
        for lid, role in stack.of_type("AWS::IAM::Role").items():
            arn = self.assembly.get_att(stack, lid, "Arn")
            roles_by_name[self.assembly.physical_name(stack, lid)] = arn
            props = role["Properties"]
            statements = self.identity.setdefault(arn, [])
            for inline in props.get("Policies", []):
                statements += render(stack, inline["PolicyDocument"])["Statement"]
            for managed in render(stack, props.get("ManagedPolicyArns", [])):
                self.unknown_managed.setdefault(arn, []).append(managed)
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for policy in stack.of_type(kind).values():
                props = policy["Properties"]
                for name in render(stack, props.get("Roles", [])):
                    arn = roles_by_name.get(name) or f"arn:aws:iam::{ACCOUNT}:role/{name}"
                    self.identity.setdefault(arn, []).extend(
                        render(stack, props["PolicyDocument"])["Statement"])
        for lid, key in stack.of_type("AWS::KMS::Key").items():
            self.key_policies[self.assembly.get_att(stack, lid, "Arn")] = \
                render(stack, key["Properties"]["KeyPolicy"])["Statement"]
        for lid, bucket in stack.of_type("AWS::S3::Bucket").items():
            rules = bucket["Properties"].get("BucketEncryption", {}).get(
                "ServerSideEncryptionConfiguration", [])
            keys = [r["ServerSideEncryptionByDefault"].get("KMSMasterKeyID") for r in rules]
            self.bucket_keys[self.assembly.physical_name(stack, lid)] = \
                render(stack, keys[0]) if keys and keys[0] else None
        for policy in stack.of_type("AWS::S3::BucketPolicy").values():
            props = policy["Properties"]
            self.bucket_policies[render(stack, props["Bucket"])] = \
                render(stack, props["PolicyDocument"])["Statement"]
        for lid, topic in stack.of_type("AWS::SNS::Topic").items():
            self.topic_keys[self.assembly.ref(stack, lid)] = \
                render(stack, topic["Properties"].get("KmsMasterKeyId"))
        for lid, machine in stack.of_type("AWS::StepFunctions::StateMachine").items():
            props = machine["Properties"]
            self.state_machines.append(StateMachine(
                name=self.assembly.physical_name(stack, lid), stack=stack,
                role_arn=render(stack, props["RoleArn"]),
                asl=json.loads(definition_text(machine, stack.directory,
                                               lambda node, s=stack: render(s, node)))))

    def state_machine(self, name: str) -> StateMachine:
        (found,) = [m for m in self.state_machines if m.name == name]
        return found

    def resources(self, kind: str) -> list[tuple[Stack, str, dict]]:
        """(stack, logical id, rendered properties) of every resource of `kind`."""
        return [(stack, lid, self.render(stack, r.get("Properties", {})))
                for stack in self.assembly.stacks for lid, r in stack.of_type(kind).items()]

    # --- decisions ------------------------------------------------------------------------------
    def can(self, principal: str, action: str, resource: str,
            context: dict | None = None) -> Decision:
        if principal in self.unknown_managed:
            raise ValueError(f"{principal} has managed policies this evaluator cannot read: "
                             f"{self.unknown_managed[principal]}")
        identity = self.identity.get(principal, [])
        if not principal.startswith("service:") and principal not in self.identity:
            return Decision(False, f"no role {principal} in this account")
        request = Request(principal, action, resource, {**TRANSPORT, **(context or {})})
        service = action.split(":", 1)[0].lower()
        if service == "kms":
            if resource not in self.key_policies:
                return Decision(False, f"no key {resource} in this account")
            return authorize(request, identity, self.key_policies[resource],
                             account_root=ACCOUNT_ROOT, resource_policy_required=True)
        policy = None
        if service == "s3" and resource.startswith("arn:aws:s3:::"):
            policy = self.bucket_policies.get(resource.removeprefix("arn:aws:s3:::")
                                              .split("/", 1)[0])
        return authorize(request, identity, policy, account_root=ACCOUNT_ROOT)

    def statements(self) -> list[tuple[str, dict]]:
        """(role ARN, statement) of every identity policy statement in the account."""
        return [(arn, s) for arn, statements in self.identity.items() for s in statements]


def actions(statement: dict) -> list[str]:
    return as_list(statement.get("Action", statement.get("NotAction", [])))
