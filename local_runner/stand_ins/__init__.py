"""Stand-ins for AWS-owned images whose entry point is built in and which this machine cannot
run (no Docker, and the images are AWS's). A processing job that names no ContainerEntrypoint
runs the stand-in registered here for its image's ECR repository, as a labelled emulation: it
keeps the image's directory contract (inputs and outputs where the request puts them) and says
what it does instead of the real container, in the job's log and its ExitMessage. An image with
no stand-in fails the job, as before."""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # what the stand-ins import from

# How every stand-in's ExitMessage starts: `mlplatform run` prints those messages.
EMULATED = "EMULATED:"
# ECR repository name -> the module run as the stand-in's entry point.
STAND_INS = {"sagemaker-data-wrangler-container": "local_runner.stand_ins.data_wrangler"}


def repository(image_uri: str) -> str:
    """'<registry>/<repository>:<tag>' -> '<repository>'."""
    path = image_uri.split("/", 1)[-1]
    return path.split("@", 1)[0].split(":", 1)[0]


def stand_in_command(image_uri: str) -> list[str] | None:
    module = STAND_INS.get(repository(image_uri))
    return None if module is None else [sys.executable, "-m", module]


def emulated_jobs(processing_jobs: dict[str, dict]) -> dict[str, str]:
    """name -> ExitMessage of the processing jobs (DescribeProcessingJob documents, by name) a
    stand-in ran."""
    return {name: job["ExitMessage"] for name, job in processing_jobs.items()
            if str(job.get("ExitMessage", "")).startswith(EMULATED)}


def emulated_training(training_jobs: dict[str, dict]) -> dict[str, str]:
    """name -> what ran emulated in each training job (a Pipe channel's FIFO, say)."""
    return {name: f"{EMULATED} " + "; ".join(job["LocalEmulations"])
            for name, job in training_jobs.items() if job.get("LocalEmulations")}


def stand_in_environment() -> dict[str, str]:
    return {"PYTHONPATH": str(PROJECT_ROOT)}
