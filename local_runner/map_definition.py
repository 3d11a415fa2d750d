"""What moto 5.2.5's ASL parser misses in a distributed Map state's definition, filled in.

- `ToleratedFailurePercentage: 10` (an integer, which CDK writes and AWS accepts) is a syntax
  error for moto's grammar, which wants a decimal point: it is rewritten as 10.0.
- ItemBatcher is not in moto's grammar: it is taken out before parsing and attached to the
  Map's iteration component afterwards; `batch_items` applies it. AWS: each child then gets
  `{"Items": [<selected items>], "BatchInput": <BatchInput>}`, at most MaxItemsPerBatch items
  and MaxInputBytesPerBatch bytes of items per batch (the `...Path` forms read the Map input).
- an undeclared ToleratedFailureCount/Percentage is marked (None), so that map_run.py can apply
  only what is declared, as AWS does (moto defaults both to 0, indistinguishable from a 0).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from moto.stepfunctions.parser.asl.component.state.exec.state_map import state_map
from moto.stepfunctions.parser.asl.component.state.exec.state_map.tolerated_failure import (
    ToleratedFailureCountDecl,
    ToleratedFailureCountInt,
    ToleratedFailurePercentage,
    ToleratedFailurePercentageDecl,
)
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

BATCHER_ATTRIBUTE = "local_item_batcher"
MAP_INPUT_ATTRIBUTE = "local_map_input"  # map_run.py: the Map state's input
BATCHER_FIELDS = ("MaxItemsPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatch",
                  "MaxInputBytesPerBatchPath", "BatchInput")
# AWS: MaxInputBytesPerBatch is at most 256 KiB, the default when only a count is given.
MAX_BATCH_BYTES = 256 * 1024

_original_parse = AmazonStateLanguageParser.parse
_original_from_state_props = state_map.StateMap.from_state_props


def parse(definition: str):
    """`AmazonStateLanguageParser.parse` for definitions moto's grammar does not take as is."""
    try:
        document = json.loads(definition)
    except ValueError:
        return _original_parse(definition)  # moto reports the syntax error
    batchers = _take_batchers(document)
    program, tree = _original_parse(positional_json(document))
    for path, batcher in batchers.items():
        _state_at(program, path).iteration_component.__dict__[BATCHER_ATTRIBUTE] = \
            _ItemBatcher(batcher)
    return program, tree


# A JSON string, or a number in exponent form (what json.dumps writes for 0.00001: 1e-05).
_STRING_OR_EXPONENT = re.compile(r'"(?:\\.|[^"\\])*"|-?\d+(?:\.\d+)?[eE][+-]?\d+')


def positional_json(document) -> str:
    """json.dumps, with every number in positional notation: moto's ASL grammar refuses an
    exponent (a tuning range's 1e-05), which AWS accepts and CDK never writes."""
    def positional(match: re.Match) -> str:
        token = match.group()
        return token if token.startswith('"') else format(Decimal(token), "f")
    return _STRING_OR_EXPONENT.sub(positional, json.dumps(document))


def _take_batchers(document: dict, path: tuple = ()) -> dict[tuple, dict]:
    """Remove every ItemBatcher (keyed by the state's path) and fix integer percentages."""
    found = {}
    for name, state in (document.get("States") or {}).items():
        if not isinstance(state, dict):
            continue
        here = (*path, name)
        if state.get("Type") == "Map":
            if isinstance(state.get("ToleratedFailurePercentage"), int):
                state["ToleratedFailurePercentage"] = float(state["ToleratedFailurePercentage"])
            if "ItemBatcher" in state:
                found[here] = state.pop("ItemBatcher")
            body = state.get("ItemProcessor") or state.get("Iterator") or {}
            found.update(_take_batchers(body, here))
        for i, branch in enumerate(state.get("Branches") or []):
            found.update(_take_batchers(branch, (*here, i)))
    return found


def _state_at(program, path: tuple):
    states, state = program.states.states, None
    for step in path:
        if isinstance(step, int):
            states = state.branches.programs[step].states.states
            continue
        state = states[step]
        if hasattr(state, "iteration_component"):
            states = state.iteration_component._states.states
    return state


def from_state_props(self, state_props) -> None:
    _original_from_state_props(self, state_props)
    if state_props.get(ToleratedFailureCountDecl) is None:
        self.tolerated_failure_count_decl = ToleratedFailureCountInt(None)
    if state_props.get(ToleratedFailurePercentageDecl) is None:
        self.tolerated_failure_percentage_decl = ToleratedFailurePercentage(None)


class _ItemBatcher:
    def __init__(self, spec: dict) -> None:
        unknown = set(spec) - set(BATCHER_FIELDS)
        if unknown:
            raise ValueError(f"ItemBatcher has unknown fields {sorted(unknown)}; AWS accepts "
                             f"{', '.join(BATCHER_FIELDS)}")
        self.spec = spec
        # BatchInput is a payload template, as Parameters are: moto's own parser builds it.
        template = {k: v for k, v in spec.items() if k != "BatchInput" and k.endswith("Path")}
        template = {f"{k}.$": v for k, v in template.items()}
        if "BatchInput" in spec:
            template["BatchInput"] = spec["BatchInput"]
        self.template = _original_parse(json.dumps({"StartAt": "B", "States": {"B": {
            "Type": "Pass", "Parameters": template, "End": True}}}))[0].states.states[
            "B"].parameters if template else None

    def batches(self, env, items: list) -> list:
        values = self._values(env)
        count = values.get("MaxItemsPerBatchPath", self.spec.get("MaxItemsPerBatch"))
        size = values.get("MaxInputBytesPerBatchPath",
                          self.spec.get("MaxInputBytesPerBatch", MAX_BATCH_BYTES))
        batches: list[list] = []
        used = 0
        for item in items:
            length = len(json.dumps(item))
            if not batches or (count and len(batches[-1]) >= int(count)) \
                    or used + length > int(size):
                batches.append([])
                used = 0
            batches[-1].append(item)
            used += length
        extra = {"BatchInput": values["BatchInput"]} if "BatchInput" in values else {}
        return [{**extra, "Items": batch} for batch in batches]

    def _values(self, env) -> dict:
        if self.template is None:
            return {}
        frame = env.open_inner_frame()
        try:
            map_input = getattr(env, MAP_INPUT_ATTRIBUTE)
            frame.states.reset(input_value=map_input)
            frame.stack.append(map_input)  # what the template's paths read
            self.template.eval(frame)
            return {k.removesuffix(".$"): v for k, v in frame.stack[-1].items()}
        finally:
            env.delete_frame(frame)


def batch_items(component, env, inputs: list) -> list:
    """The children's inputs: `inputs` batched by the component's ItemBatcher, if any."""
    batcher = component.__dict__.get(BATCHER_ATTRIBUTE)
    return inputs if batcher is None else batcher.batches(env, inputs)


PATCHES = [(AmazonStateLanguageParser, "parse", staticmethod(parse)),
           (state_map.StateMap, "from_state_props", from_state_props)]
