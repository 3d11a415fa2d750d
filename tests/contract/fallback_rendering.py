"""The requests each Task state sends, built from the synthesized Parameters: the first state's
real output (runtime_scripts/pipeline_input over the Validate input payload the definition
carries) plus the representative results of earlier states, with `.$` paths and the intrinsics
the definitions use resolved. Same API as the contract renderer (tests/contract/rendering.py on
the request-contract branch), which supersedes it where present.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass

from runtime_scripts.pipeline_input import resolve

EXECUTION = "june-retrain"
GIVEN_PACKAGE = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlplatform-{stage}-churn/7"
PIPELINES = {"training": "training", "batch-inference": "batch", "deployment": "deployment"}
# Execution inputs per pipeline: the defaults ({}), and the branches that change requests.
SCENARIOS = {
    "training": {"defaults": {}, "tuning": {"tuning": {"enabled": True}}},
    "batch": {"defaults": {}, "given package": {"model_package_arn": GIVEN_PACKAGE}},
    "deployment": {"defaults": {}, "given package": {"model_package_arn": GIVEN_PACKAGE}},
}


@dataclass(frozen=True)
class RenderedTask:
    stage: str
    state_machine: str
    state: str
    resource: str
    service: str
    operation: str
    integration: str  # "sync", "request", "sdk" or "lambda"
    scenario: str
    request: dict


def parse_resource(resource: str) -> tuple[str, str, str]:
    """(service, operation, integration) of a Task's Resource."""
    if ":lambda:" in resource and ":function:" in resource:
        return "lambda", "invoke", "lambda"
    integration_part = resource.split(":::", 1)[1]
    if integration_part.startswith("aws-sdk:"):
        _, service, operation = integration_part.split(":")
        return service, operation, "sdk"
    service, operation = integration_part.split(":", 1)
    if operation.endswith(".sync"):
        return service, operation.removesuffix(".sync"), "sync"
    return service, operation.removesuffix(".waitForTaskToken"), "request"


# --- JSONPath and intrinsics ----------------------------------------------------------------------
def path_value(path: str, state: dict, context: dict):
    root, rest = (context, path[2:]) if path.startswith("$$") else (state, path[1:])
    value = root
    for key, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", rest):
        if key:
            if not isinstance(value, dict) or key not in value:
                raise KeyError(path)
            value = value[key]
        else:
            value = value[int(index)]
    return value


def _split_args(text: str) -> list[str]:
    args, depth, quoted, current = [], 0, False, ""
    for char in text:
        if char == "'" and not current.endswith("\\"):
            quoted = not quoted
        if not quoted and char == "," and depth == 0:
            args.append(current.strip())
            current = ""
            continue
        depth += (char == "(") - (char == ")") if not quoted else 0
        current += char
    return [*args, current.strip()] if current.strip() else args


def evaluate(expression: str, state: dict, context: dict):
    expression = expression.strip()
    if expression.startswith("$"):
        try:
            return path_value(expression, state, context)
        except (KeyError, IndexError, TypeError):
            # A result this rendering does not model (notifications, errors): a visible token,
            # which no ARN pattern of a permission check would match by accident.
            return f"<unresolved {expression}>"
    if expression.startswith("'"):
        return expression[1:-1].replace("\\'", "'")
    if re.fullmatch(r"-?\d+", expression):
        return int(expression)
    name, _, inner = expression.partition("(")
    args = [evaluate(a, state, context) for a in _split_args(inner[:-1])]
    if name == "States.Format":
        template, *values = args
        parts = template.split("{}")
        return "".join(p + (str(values[i]) if i < len(values) else "")
                       for i, p in enumerate(parts))
    if name == "States.Array":
        return list(args)
    if name == "States.JsonToString":
        return json.dumps(args[0])
    if name == "States.StringToJson":
        return json.loads(args[0])
    if name == "States.ArrayLength":
        return len(args[0]) if isinstance(args[0], list) else 0
    if name == "States.MathAdd":
        return args[0] + args[1]
    if name == "States.ArrayGetItem":
        items, index = args
        return items[index] if isinstance(items, list) and -len(items) <= index < len(items) \
            else f"<unresolved item {index}>"
    raise ValueError(f"intrinsic {name} is not implemented here")


def fill(template, state: dict, context: dict):
    if isinstance(template, list):
        return [fill(v, state, context) for v in template]
    if not isinstance(template, dict):
        return template
    result = {}
    for key, value in template.items():
        if key.endswith(".$"):
            result[key[:-2]] = evaluate(value, state, context)
        else:
            result[key] = fill(value, state, context)
    return result


def _set(state: dict, path: str, value) -> None:
    keys = path[2:].split(".")
    target = state
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = value


# --- representative results of earlier states ----------------------------------------------------
def _results(state: dict, region: str, account: str) -> dict[str, object]:
    run = state.get("run", {})
    names, s3 = run.get("job_names", {}), run.get("s3", {})
    group = state.get("platform", {}).get("model_package_group")
    package = state.get("model_package_arn") or \
        f"arn:aws:sagemaker:{region}:{account}:model-package/{group}/1"
    training_job = names.get("training", "trial")
    return {
        "$.model": {"training_job_name": training_job, "hyperparameters": {},
                    "artifacts": f"{s3.get('model_output', '')}{training_job}/output/model.tar.gz"},
        "$.tuning_result": {"name": names.get("tuning"),
                            "best_training_job": f"{names.get('tuning')}-001-0123abcd"},
        "$.package": {"arn": package},
        "$.latest": {"packages": [{"ModelPackageArn": package}]},
        "$.package_description": {"ModelApprovalStatus": "Approved",
                                  "CustomerMetadataProperties": {"execution": EXECUTION}},
        "$.scaling": {"targets": [{"MinCapacity": 1, "MaxCapacity": 2}]},
    }


def _apply_passes(asl: dict, state: dict, context: dict) -> None:
    """Pass states that build request pieces (inputs lists, tuning config, baseline source)."""
    for definition in asl["States"].values():
        if definition["Type"] == "Pass" and "Parameters" in definition \
                and definition.get("ResultPath", "$") not in ("$", "$.error", None):
            result = fill(definition["Parameters"], state, context)
            # A branch this scenario does not take (it reads a null or an absent value).
            if "null" not in json.dumps(result) and "<unresolved" not in json.dumps(result):
                _set(state, definition["ResultPath"], result)


def render_requests(stage: str, definitions: dict[str, dict], *, region: str, account: str
                    ) -> list[RenderedTask]:
    rendered = []
    for name, asl in definitions.items():
        pipeline = next((p for suffix, p in PIPELINES.items() if name.endswith(f"-{suffix}")),
                        None)
        scenarios = SCENARIOS.get(pipeline, {"defaults": {}})
        for scenario, execution_input in scenarios.items():
            execution_input = json.loads(json.dumps(execution_input).replace("{stage}", stage))
            context = {"Execution": {"Name": EXECUTION, "Input": execution_input,
                                     "Id": f"arn:aws:states:{region}:{account}:execution:"
                                           f"{name}:{EXECUTION}"}}
            state = _first_state(asl, execution_input, context)
            for key, value in _results(state, region, account).items():
                _set(state, key, value) if key[2:] not in state else None
            _apply_passes(asl, state, context)
            _apply_passes(asl, state, context)  # passes that read other passes' results
            for state_name, definition in asl["States"].items():
                if definition["Type"] != "Task":
                    continue
                service, operation, integration = parse_resource(definition["Resource"])
                request = fill(definition.get("Parameters", {}), state, context)
                rendered.append(RenderedTask(stage, name, state_name, definition["Resource"],
                                             service, operation, integration, scenario,
                                             request))
    return rendered


def _first_state(asl: dict, execution_input: dict, context: dict) -> dict:
    first = asl["States"][asl["StartAt"]]
    if first.get("Type") != "Task" or "pipeline" not in first.get("Parameters", {}):
        return {"alarm": "drift-alarm", "time": "2026-11-23T12:00:00Z"}  # an event's input
    event = fill(copy.deepcopy(first["Parameters"]), {}, context)
    event["input"] = execution_input
    return resolve(event)
