"""`training.algorithm_name`: train and tune with an algorithm resource instead of the use
case's image. CreateTrainingJob and CreateHyperParameterTuningJob take either a TrainingImage
or an AlgorithmName ("If you specify a value for this parameter, do not specify a value for
TrainingImage", the API reference): the name or ARN of an algorithm the account owns (the
app's own for the use case, when the stage creates it: config `training.own_algorithm`) or has
subscribed to in AWS Marketplace. The algorithm declares its metrics, so no MetricDefinitions go
with it; its tuning objective must be one it declares (SageMaker checks that when the tuning
job is created).
"""

from __future__ import annotations

from typing import Any

from .. import contract
from .errors import Problem, render
from .schema import AnyValue, Nullable, Str

ARN_OR_NAME = contract.ALGORITHM_ARN_OR_NAME
ARN_OR_NAME_HELP = ("an algorithm's name (1-63 letters, digits and '-', not ending in '-') or "
                    "ARN (arn:aws:sagemaker:<region>:<account>:algorithm/<name>)")
FIELD = Nullable(Str(max_len=contract.ALGORITHM_NAME_MAX, pattern=ARN_OR_NAME,
                     pattern_help=ARN_OR_NAME_HELP))
# The request's AlgorithmSpecification with the use case's image (ml_constructs/sagemaker_jobs.py
# builds it: the image, the input mode and its MetricDefinitions), and the name of the app's own
# algorithm resource for the use case, if the stage creates one.
PLATFORM_FIELDS = {"algorithm_specification": AnyValue(object_only=True),
                   "own_algorithm": Nullable(Str(max_len=63))}


def check(training: dict[str, Any], platform: dict[str, Any], out: list[Problem]) -> None:
    name = training["algorithm_name"]
    if name is not None and ":" in name and not name.split(":")[5].startswith("algorithm/"):
        out.append(Problem("training.algorithm_name", f"{render(name)} is not an algorithm's "
                           "ARN", ARN_OR_NAME_HELP))


def external(training: dict[str, Any], platform: dict[str, Any]) -> bool:
    """Whether the jobs train with an algorithm other than the use case's own code: one
    whose metrics and hyperparameters the platform does not know."""
    name = training["algorithm_name"]
    return name is not None and name.rsplit("/", 1)[-1] != platform["own_algorithm"]


def specification(training: dict[str, Any], platform: dict[str, Any]) -> dict[str, Any]:
    """The request's AlgorithmSpecification (training and tuning alike)."""
    name = training["algorithm_name"]
    image = platform["algorithm_specification"]
    if name is None:
        return dict(image)
    return {"AlgorithmName": name, "TrainingInputMode": image["TrainingInputMode"]}
