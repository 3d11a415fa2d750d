"""The `automl` section of the training input: SageMaker Autopilot (CreateAutoMLJobV2 with a
TabularJobConfig) in place of the use case's own training, where the stage deploys the AutoML
branch (`training.algorithm: "automl"`, ml_constructs/automl_branch.py).

Declared per execution over the stage's defaults: `automl: {"mode": "ENSEMBLING",
"objective_metric": "AUC", "max_candidates": 10, "max_runtime_seconds": 14400,
"max_runtime_per_training_job_seconds": null}` (docs/pipeline-inputs.md). The problem type and
the target attribute are the use case's (its manifest and dataset spec), fixed per state
machine in `platform.automl`; a state machine without the branch has `platform.automl` null
and ignores the section (its keys are still type-checked).
"""

from __future__ import annotations

from typing import Any

from .. import contract
from .errors import Problem, render
from .schema import Enum, Int, Nullable, Obj, Str

MAX_RUNTIME = Int(contract.AUTOML_MIN_RUNTIME_SECONDS, contract.AUTOML_MAX_RUNTIME_SECONDS)
SCHEMA = Obj({
    "mode": Enum(contract.AUTOML_MODES),
    # null: Autopilot's default objective for the problem type (the first allowed one).
    "objective_metric": Nullable(Str(max_len=64)),
    "max_candidates": Int(1, contract.AUTOML_MAX_CANDIDATES),
    "max_runtime_seconds": MAX_RUNTIME,
    "max_runtime_per_training_job_seconds": Nullable(Int(contract.JOB_MIN_RUNTIME_SECONDS,
                                                         contract.AUTOML_MAX_RUNTIME_SECONDS)),
})
PLATFORM_FIELDS = {
    "automl": Nullable(Obj({
        "problem_type": Enum(tuple(contract.AUTOML_PROBLEM_TYPES.values())),
        "target": Str(max_len=255),
    })),
}


def allowed_metrics(platform: dict[str, Any]) -> tuple[str, ...]:
    return contract.AUTOML_OBJECTIVE_METRICS[platform["automl"]["problem_type"]]


def check(doc: dict[str, Any], platform: dict[str, Any], out: list[Problem]) -> None:
    if platform["automl"] is None:
        return
    section = doc["automl"]
    allowed = allowed_metrics(platform)
    metric = section["objective_metric"]
    if metric is not None and metric not in allowed:
        out.append(Problem("automl.objective_metric", f"{render(metric)} is not an Autopilot "
                           f"objective for {platform['automl']['problem_type']} (the use case "
                           f"{render(platform['use_case'])}'s problem type)", ", ".join(allowed)))
    per_job = section["max_runtime_per_training_job_seconds"]
    if per_job is not None and per_job > section["max_runtime_seconds"]:
        out.append(Problem("automl.max_runtime_per_training_job_seconds",
                           f"{per_job} exceeds max_runtime_seconds "
                           f"({section['max_runtime_seconds']}): no candidate could use it",
                           f"<= {section['max_runtime_seconds']}, or null"))


def derive(doc: dict[str, Any], platform: dict[str, Any], run_prefix: str) -> dict[str, Any]:
    """The `automl` section as the CreateAutoMLJobV2 request's parts, and where its output and
    its candidate's test predictions go."""
    section = doc["automl"]
    if platform["automl"] is None:
        return {**section, "enabled": False}
    criteria = {"MaxCandidates": section["max_candidates"],
                "MaxAutoMLJobRuntimeInSeconds": section["max_runtime_seconds"]}
    if section["max_runtime_per_training_job_seconds"] is not None:
        criteria["MaxRuntimePerTrainingJobInSeconds"] = \
            section["max_runtime_per_training_job_seconds"]
    classifier = platform["automl"]["problem_type"] != "Regression"
    output = {contract.AUTOML_INFERENCE_OUTPUT_ENV: contract.AUTOML_CLASSIFIER_OUTPUT}
    return {
        **section,
        "enabled": True,
        "classifier": classifier,
        "tabular_job_config": {
            "ProblemType": platform["automl"]["problem_type"],
            "TargetAttributeName": platform["automl"]["target"],
            "Mode": section["mode"],
            "CompletionCriteria": criteria,
        },
        "objective": {"MetricName": section["objective_metric"] or allowed_metrics(platform)[0]},
        "output_s3_uri": f"{run_prefix}automl/output/",
        "predictions_s3_uri": f"{run_prefix}automl/predictions/",
        # What the candidate's containers answer (contract.AUTOML_CLASSIFIER_OUTPUT): the
        # algorithm container's output, and the label transform's input and output too.
        "inference_output": output if classifier else {},
        "inference_input_output": ({**output, contract.AUTOML_INFERENCE_INPUT_ENV:
                                    contract.AUTOML_CLASSIFIER_OUTPUT} if classifier else {}),
    }
