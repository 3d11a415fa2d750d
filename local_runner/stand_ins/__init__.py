"""Stand-ins for AWS-owned images whose entry point is built in and which this machine cannot
run (no Docker, and the images are AWS's). A processing job that names no ContainerEntrypoint
runs the stand-in registered here for its image's ECR repository, as a labelled emulation: it
keeps the image's directory contract (inputs and outputs where the request puts them) and says
what it does instead of the real container, in the job's log and its ExitMessage. An image with
no stand-in fails the job, as before."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # what the stand-ins import from

# How every stand-in's ExitMessage starts: `mlplatform run` prints those messages.
EMULATED = "EMULATED:"
# ECR repository name -> the module run as the stand-in's entry point.
STAND_INS = {"sagemaker-data-wrangler-container": "local_runner.stand_ins.data_wrangler"}
# Training images: a training job whose TrainingImage is one of these built-in algorithms runs
# the scikit-learn emulation of it (builtin_training.py) instead of the image's `train`.
TRAINING_STAND_IN = "local_runner.stand_ins.builtin_training"
EMULATED_TRAINING = ("linear-learner", "kmeans", "pca", "xgboost")  # their SDK names
# What a local DescribeTrainingJob adds for a job a stand-in ran (training has no ExitMessage).
TRAINING_LABEL_KEY = "LocalEmulation"
# ECR repository name -> the module run as a model's server (batch transform) instead of the
# image's `serve`: the serving image the AutoML stand-in's candidates name (automl.py).
SERVING_STAND_INS = {"sagemaker-sklearn-automl": "local_runner.stand_ins.automl_serving"}
# Built-in algorithms' inference containers (their SDK names): a model served from one runs the
# numpy emulation of its answers (builtin_serving.py) on its model_algo-1.
SERVING_STAND_IN = "local_runner.stand_ins.builtin_serving"
EMULATED_SERVING = ("linear-learner", "kmeans", "pca")


def repository(image_uri: str) -> str:
    """'<registry>/<repository>:<tag>' -> '<repository>'."""
    path = image_uri.split("/", 1)[-1]
    return path.split("@", 1)[0].split(":", 1)[0]


def _module_command(module: str, *args: str) -> list[str]:
    """This runner's interpreter (warm: executors/warm_python.py) running `module`."""
    from local_runner.executors import warm_python

    return [warm_python.interpreter(), "-m", module, *args]


def stand_in_command(image_uri: str) -> list[str] | None:
    module = STAND_INS.get(repository(image_uri))
    return None if module is None else _module_command(module)


def training_stand_in_command(image_uri: str) -> list[str] | None:
    from runtime_scripts.common import builtin_algorithms

    spec = builtin_algorithms.by_repository(repository(image_uri))
    if spec is None or spec.framework not in EMULATED_TRAINING:
        return None
    return _module_command(TRAINING_STAND_IN, spec.framework)


def emulated_jobs(processing_jobs: dict[str, dict],
                  training_jobs: dict[str, dict] | None = None) -> dict[str, str]:
    """name -> the label of the jobs (DescribeProcessingJob / DescribeTrainingJob documents, by
    name) a stand-in ran: a processing job's ExitMessage, a training job's LocalEmulation."""
    labels = {name: job.get("ExitMessage", "") for name, job in processing_jobs.items()}
    labels.update({name: job.get(TRAINING_LABEL_KEY, "")
                   for name, job in (training_jobs or {}).items()})
    return {name: label for name, label in labels.items() if str(label).startswith(EMULATED)}


def training_label(outcome) -> str:
    """A training job's label: its stand-in's (the job's exit message), and the channels this
    machine emulated (a Pipe channel's FIFO, say); '' when it ran as on SageMaker."""
    parts = [outcome.exit_message] if outcome.exit_message else []
    if outcome.emulations:
        parts.append(f"{EMULATED} " + "; ".join(outcome.emulations))
    return " / ".join(parts)


def serving_stand_in_command(image_uri: str) -> list[str] | None:
    from runtime_scripts.common import builtin_algorithms

    module = SERVING_STAND_INS.get(repository(image_uri))
    if module is not None:
        return _module_command(module)
    spec = builtin_algorithms.by_repository(repository(image_uri))
    if spec is None or spec.framework not in EMULATED_SERVING:
        return None
    return _module_command(SERVING_STAND_IN, spec.framework)


def stand_in_environment() -> dict[str, str]:
    return {"PYTHONPATH": str(PROJECT_ROOT)}
