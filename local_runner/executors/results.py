"""What the executors return: typed, frozen records with DescribeXJob's facts, and where the
"container" lives on this machine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

COMPLETED = "Completed"
FAILED = "Failed"


@dataclass(frozen=True)
class LocalProgram:
    """The image's programs, as found on this machine."""

    bin_dir: Path  # runtime_scripts/bin of the checkout: the image's entry points (on its PATH)
    # Exported as PYTHON; the bin scripts run their module with it. None: this interpreter,
    # warm (executors/warm_python.py).
    python: str | None = None
    # Set for every job, over its request's Environment: what this machine has instead of an
    # AWS service (the local experiment tracking store, say).
    environment: Mapping[str, str] = field(default_factory=dict)

    def interpreter(self) -> str:
        from local_runner.executors import warm_python

        return self.python or warm_python.interpreter()


@dataclass(frozen=True)
class JobOutcome:
    """One finished job. Executors return one for every job failure; they never raise for it."""

    status: str  # COMPLETED | FAILED
    failure_reason: str | None  # the script's output/failure (or message) text, else stderr's
    log_tail: str  # the last lines of the job's combined stdout and stderr
    final_metrics: dict[str, float]  # training: last value of each MetricDefinitions match
    model_artifacts: str | None  # training: s3 URI of the uploaded model.tar.gz
    output_location: str | None  # transform: TransformOutput.S3OutputPath
    exit_message: str | None = None  # processing: output/message, DescribeProcessingJob's field
    # What ran as a labelled local stand-in for part of the job (a Pipe channel's FIFO, say).
    emulations: tuple[str, ...] = ()

    @property
    def completed(self) -> bool:
        return self.status == COMPLETED


def failed(reason: str, log_tail: str = "") -> JobOutcome:
    """A job that failed before (or instead of) producing anything."""
    return JobOutcome(FAILED, reason, log_tail, {}, None, None)


@dataclass(frozen=True)
class TuningOutcome:
    status: str  # COMPLETED unless every trial failed
    failure_reason: str | None
    best_training_job: str | None
    best_objective: float | None
    # (name, tuned hyperparameters, objective, status), in the order the trials ran
    trials: list[tuple[str, dict[str, str], float | None, str]] = field(default_factory=list)
    warm_started_from: list[str] = field(default_factory=list)  # parent tuning jobs used
