"""A SageMaker Data Wrangler flow (`.flow` file), read without Data Wrangler: its nodes, the
outputs it can be run for, the S3 dataset an output reads, and the columns it writes where the
flow records them. Standard library only: the input validator (a Lambda) imports it.

The format, as Data Wrangler exports it and AWS's generated export notebooks read it: a JSON
object with `metadata` and `nodes`; each node has `node_id`, `type` (SOURCE, TRANSFORM,
DESTINATION, VISUALIZATION), `operator` (e.g. `sagemaker.s3_source_0.1`), `parameters`, optional
`trained_parameters`, `inputs` ([{"name", "node_id", "output_name"}]) and `outputs`
([{"name": "default"}]). A processing job runs one output, named `<node id>.<output name>`
(`<node id>.default`); an S3 source's `parameters.dataset_definition.name` is the name of the
processing input the job reads that dataset from. The infer-and-cast-type transform records the
schema it produced (`trained_parameters.schema`: column -> type).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

S3_SOURCE = "sagemaker.s3_source_0.1"
MANAGE_COLUMNS = "sagemaker.spark.manage_columns_0.1"
SOURCE, DESTINATION = "SOURCE", "DESTINATION"


class FlowError(ValueError):
    """The flow cannot be used; the message names the problem and the fix."""


@dataclass(frozen=True)
class Node:
    node_id: str
    type: str
    operator: str
    parameters: dict
    trained_parameters: dict
    upstream: tuple[str, ...]  # node ids of its inputs, in order
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class Flow:
    nodes: dict[str, Node]

    @property
    def output_names(self) -> list[str]:
        """Every `<node id>.<output name>` a processing job could run (visualizations excluded:
        they write reports, not data)."""
        return [f"{n.node_id}.{o}" for n in self.nodes.values() if n.type != "VISUALIZATION"
                for o in n.outputs]

    def output_node(self, output: str) -> Node:
        node_id, _, name = output.rpartition(".")
        node = self.nodes.get(node_id)
        if node is None or name not in node.outputs or node.type == "VISUALIZATION":
            raise FlowError(f"the flow has no output {output!r}; its outputs: "
                            f"{', '.join(self.output_names) or 'none'}")
        return node

    def lineage(self, output: str) -> list[Node]:
        """The output's node and every node upstream of it, each once."""
        seen: dict[str, Node] = {}
        pending = [self.output_node(output).node_id]
        while pending:
            node_id = pending.pop()
            if node_id in seen:
                continue
            node = self.nodes.get(node_id)
            if node is None:
                raise FlowError(f"a node's input names node {node_id!r}, which the flow lacks")
            seen[node_id] = node
            pending.extend(node.upstream)
        return list(seen.values())

    def source(self, output: str) -> Node:
        """The one S3 dataset the output reads: the pipeline feeds it the run's data."""
        sources = [n for n in self.lineage(output) if n.type == SOURCE]
        if len(sources) != 1 or sources[0].operator != S3_SOURCE:
            found = ", ".join(f"{n.node_id} ({n.operator})" for n in sources) or "none"
            raise FlowError(f"output {output!r} must read exactly one S3 source (the pipeline "
                            f"feeds it the run's data), found: {found}")
        return sources[0]

    def columns(self, output: str) -> list[str] | None:
        """The output's columns from the nearest recorded schema upstream, with the
        manage-columns drops and renames after it applied; None where the flow does not say
        (no schema, a join, or a transform whose effect on columns is not known here)."""
        node, after = self.output_node(output), []
        while "schema" not in node.trained_parameters:
            if len(node.upstream) != 1 or node.type == SOURCE:
                return None
            if node.type != DESTINATION:
                after.append(node)
            node = self.nodes[node.upstream[0]]
        schema = node.trained_parameters["schema"]
        if not isinstance(schema, dict):
            return None
        columns = [str(c) for c in schema]
        for step in reversed(after):
            columns = _managed(columns, step)
            if columns is None:
                return None
        return columns


def _managed(columns: list[str], node: Node) -> list[str] | None:
    if node.operator != MANAGE_COLUMNS:
        return None
    operation = node.parameters.get("operator")
    if operation == "Drop column":
        dropped = node.parameters.get("drop_column_parameters", {}).get("column_to_drop")
        dropped = [dropped] if isinstance(dropped, str) else list(dropped or [])
        return [c for c in columns if c not in dropped]
    if operation == "Rename column":
        rename = node.parameters.get("rename_column_parameters", {})
        old, new = rename.get("input_column"), rename.get("new_name")
        return [new if c == old else c for c in columns]
    if operation == "Move column":
        return columns  # the order changes; the set, which is what is checked, does not
    return None


def parse(text: str) -> Flow:
    """The flow in `text`, or FlowError naming what is wrong with it."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FlowError(f"is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): "
                        "export the flow from Data Wrangler as a .flow file") from None
    if not isinstance(document, dict) or not isinstance(document.get("nodes"), list):
        raise FlowError("is not a Data Wrangler flow: a JSON object with a 'nodes' list")
    nodes: dict[str, Node] = {}
    for index, raw in enumerate(document["nodes"]):
        if not isinstance(raw, dict) or not isinstance(raw.get("node_id"), str):
            raise FlowError(f"node {index} has no string 'node_id'")
        inputs, outputs = raw.get("inputs", []), raw.get("outputs", [])
        if not isinstance(inputs, list) or not isinstance(outputs, list) or not all(
                isinstance(i, dict) and isinstance(i.get("node_id"), str) for i in inputs) \
                or not all(isinstance(o, dict) and isinstance(o.get("name"), str)
                           for o in outputs):
            raise FlowError(f"node {raw['node_id']!r}: 'inputs' must list objects with a "
                            "'node_id', 'outputs' objects with a 'name'")
        trained = raw.get("trained_parameters") or {}
        nodes[raw["node_id"]] = Node(
            raw["node_id"], str(raw.get("type", "")), str(raw.get("operator", "")),
            raw.get("parameters") if isinstance(raw.get("parameters"), dict) else {},
            trained if isinstance(trained, dict) else {},
            tuple(i["node_id"] for i in inputs), tuple(o["name"] for o in outputs))
    if not nodes:
        raise FlowError("has no nodes")
    return Flow(nodes)


def dataset_name(source: Node) -> str:
    """The processing input name of an S3 source: its dataset definition's name."""
    definition = source.parameters.get("dataset_definition", {})
    name = definition.get("name") if isinstance(definition, dict) else None
    if not isinstance(name, str) or not name:
        raise FlowError(f"source node {source.node_id!r} has no dataset_definition.name")
    return name
