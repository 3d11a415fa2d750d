"""A state machine's definition stored as an S3 asset, not inline in its stack's template.

Definitions are most of a pipelines stack's template (a use case's training state machine alone
is some 80 KB), and CloudFormation refuses a template over 1 MB: inline, a stage could deploy
five use cases at most. Stored as an asset (`DefinitionS3Location`, which CloudFormation reads
when it creates or updates the state machine), a definition costs the template a few hundred
bytes, whatever its size. Its references to other resources (ARNs, bucket names, account and
region) become `${name}` placeholders in the file, resolved by CloudFormation from
`DefinitionSubstitutions`, so the asset's content (and hash) changes only when the states do.

The local engine reads the same file (`aws:asset:path` metadata) and applies the same
substitutions (local_runner/definitions.py).
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn

# A CDK token inside a string, as Python sees it before synthesis: `${Token[NAME.123]}`.
_TOKEN = re.compile(r"\$\{Token\[[^\]]+\]\}")
PLACEHOLDER_PREFIX = "ref"
DEFINITION_FILE = "definition.asl.json"
_REFERENCE = object()  # what `not_text` answers for a token CloudFormation resolves


@dataclass(frozen=True)
class RenderedDefinition:
    text: str  # the ASL document, references as ${ref<N>} placeholders
    substitutions: dict[str, str]  # placeholder -> the token CloudFormation resolves


def _is_plain(value) -> bool:
    """A value without references: JSON that needs nothing from CloudFormation."""
    if isinstance(value, dict):
        return not any(key == "Ref" or key.startswith("Fn::") for key in value) and \
            all(_is_plain(item) for item in value.values())
    if isinstance(value, list):
        return all(_is_plain(item) for item in value)
    return not isinstance(value, str) or not cdk.Token.is_unresolved(value)


def _literal_number(node, stack: cdk.Stack):
    """A number as it is, or the value of a number token (a reference cannot be one)."""
    if not isinstance(node, (int, float)) or isinstance(node, bool) or \
            not cdk.Token.is_unresolved(node):
        return node
    value = stack.resolve(node)
    if not isinstance(value, (int, float)):
        raise ValueError("a state machine definition holds a number that is a reference; "
                         "give the state a literal number")
    return value


def render(graph: sfn.StateGraph, stack: cdk.Stack) -> RenderedDefinition:
    """The graph's ASL with every token in a string replaced by a numbered placeholder, numbered
    in order of first appearance (so the text does not depend on CDK's internal token numbers),
    and resolved by CloudFormation, late: a name may hash what aspects change at synth time. A
    token that stands for a value that is not text (a discarded result path is JSON null) is
    written as that value."""
    placeholders: dict[str, str] = {}  # token text -> placeholder name

    def in_text(match: re.Match) -> str:
        token = match.group(0)
        if token not in placeholders:
            placeholders[token] = f"{PLACEHOLDER_PREFIX}{len(placeholders)}"
        return f"${{{placeholders[token]}}}"

    def not_text(token: str):
        value = stack.resolve(token)
        if value is None or isinstance(value, (bool, int, float)) or \
                (isinstance(value, (dict, list)) and _is_plain(value)):
            return value
        return _REFERENCE

    def walk(node):
        if isinstance(node, str):
            if "${" in _TOKEN.sub("", node):
                # Step Functions would read it as a placeholder of its own.
                raise ValueError(f"a state machine definition holds '${{' in {node!r}: "
                                 "placeholders are reserved for references")
            if _TOKEN.fullmatch(node) is not None:
                value = not_text(node)
                if value is not _REFERENCE:
                    return value
            return _TOKEN.sub(in_text, node)
        if isinstance(node, dict):
            return {walk(key): walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return _literal_number(node, stack)

    document = walk(graph.to_graph_json())
    document = {key: value for key, value in document.items() if value is not None}
    return RenderedDefinition(text=json.dumps(document, separators=(",", ":")),
                              substitutions={name: token for token, name in placeholders.items()})


def stored_state_machine(scope, construct_id: str, *, definition: sfn.IChainable,
                         timeout: cdk.Duration, **props) -> sfn.StateMachine:
    """`sfn.StateMachine(definition_body=DefinitionBody.from_chainable(definition))`, with the
    rendered definition as an asset: the same states, role policies and timeout."""
    graph = sfn.StateGraph(definition.start_state, "State Machine definition")
    graph.timeout = timeout
    rendered = render(graph, cdk.Stack.of(scope))
    with tempfile.TemporaryDirectory(prefix="state-machine-") as directory:
        path = Path(directory) / DEFINITION_FILE
        path.write_text(rendered.text)
        # The asset is staged (copied into the cloud assembly) by the constructor.
        state_machine = sfn.StateMachine(
            scope, construct_id, definition_body=sfn.DefinitionBody.from_file(str(path)),
            definition_substitutions=rendered.substitutions or None, **props)
    # What StateMachine does for a chainable definition: each task's permissions on the role,
    # and the distributed maps' (none today: the fan-out is a CustomState with its own grants).
    for statement in graph.policy_statements:
        state_machine.add_to_role_policy(statement)
    graph.bind(state_machine)
    asset = state_machine.node.find_child("DefinitionBody")
    asset.add_resource_metadata(state_machine.node.default_child, "DefinitionS3Location")
    return state_machine
