"""Training checkpoints for managed spot: save every N rounds, resume from the latest.

A checkpoint is one file, `checkpoint-<rounds>.ubj`: the booster (binary UBJSON, which round-trips
floats exactly) with the training-loop state stored as a booster attribute, so model and state
can never disagree. Files are written atomically because SageMaker syncs this directory to S3
while training runs. The state carries a fingerprint of the tree-shaping hyperparameters and the
training data; resuming someone else's checkpoint fails instead of silently mixing two models.

Why resuming reproduces an uninterrupted run: XGBoost re-initialises its samplers whenever a
Booster is created, so the training loop starts a fresh Booster at every checkpoint boundary
(seeded with `seed + round`) whether or not the process was interrupted. Resuming from a
checkpoint at round k therefore replays exactly what the uninterrupted run did after round k.

Whose checkpoints: a hyperparameter tuning job gives all its trials the one CheckpointConfig of
its training job definition, and SageMaker documents no per-trial location: the API reference
calls it the output location for checkpoint data, and the developer guide says the checkpoint
configuration is a single S3 location "without additional suffixes or prefixes" (of a job's
instances; nothing is said to be added per trial). SageMaker copies everything under that
location into the checkpoint directory when a job starts and mirrors the directory back while
it runs, deletions included. So a trial (SageMaker adds `_tuning_objective_metric` to every trial's
hyperparameters) keeps its checkpoints under `<checkpoint dir>/<training job name>/`, resumes
only checkpoints that record its own job name, and never deletes another trial's files, as
SageMaker's own TensorFlow container does (`<path>/<job name>/checkpoints` inside a tuning job).
A job of its own keeps them in the checkpoint directory itself, where a new job may resume them
on purpose (the documented way to resume: a new job on the same S3 URI); the fingerprint
refuses a checkpoint of other hyperparameters or data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime_scripts.common.jobio import JobError, write_atomic

if TYPE_CHECKING:
    import xgboost

    from runtime_scripts.common.tabular.hyperparameters import Hyperparameters

STATE_ATTR = "training_state"
FILE_PATTERN = re.compile(r"^checkpoint-(\d+)\.ubj$")
JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")  # CreateTrainingJob's pattern
KEEP = 2  # the newest, plus one in case the newest was cut short while syncing from S3
# Hyperparameters that do not change the trees of the rounds already trained.
NOT_FINGERPRINTED = ("num_round", "metrics_frequency", "decision_threshold", "nthread")

log = logging.getLogger("jobs.checkpoint")


@dataclass
class TrainingState:
    fingerprint: str
    job_name: str | None = None  # the training job that wrote it (TRAINING_JOB_NAME)
    rounds_done: int = 0
    best_iteration: int = -1
    best_score: float | None = None
    best_metrics: dict[str, float] = field(default_factory=dict)
    last_metrics: dict[str, float] = field(default_factory=dict)
    stopped_early: bool = False

    def record(self, iteration: int, metrics: dict[str, float], hp: Hyperparameters) -> None:
        """Account for one finished round: best-so-far and early stopping, like XGBoost's."""
        score = metrics[f"validation:{hp.eval_metric}"]
        better = self.best_score is None or (
            score > self.best_score if hp.maximize else score < self.best_score)
        patience = hp.early_stopping_rounds
        if better:
            self.best_iteration, self.best_score, self.best_metrics = iteration, score, metrics
        elif patience and iteration - self.best_iteration >= patience:
            self.stopped_early = True
        self.last_metrics = metrics
        self.rounds_done = iteration + 1


def fingerprint(hp: Hyperparameters, data_files: list[Path | bytes]) -> str:
    """Of the hyperparameters and the data: files, or the bytes a Pipe channel streamed."""
    digest = hashlib.sha256()
    shaping = {k: v for k, v in hp.as_dict().items() if k not in NOT_FINGERPRINTED}
    digest.update(json.dumps(shaping, sort_keys=True).encode())
    for path in data_files:
        if isinstance(path, bytes):
            digest.update(path)
            continue
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Store:
    """Where one training job keeps and finds its checkpoints (see the module docstring)."""

    directory: Path
    job_name: str | None  # this job's name, recorded in every checkpoint it writes
    own_only: bool  # a tuning trial: resume only checkpoints this job wrote

    @classmethod
    def for_job(cls, root: Path, job_name: str | None, *, tuning_trial: bool) -> Store:
        if job_name is not None and not JOB_NAME.match(job_name):
            raise JobError(f"TRAINING_JOB_NAME {job_name!r} is not a SageMaker job name "
                           "(letters, digits and '-'): unset it or name the job like SageMaker")
        if tuning_trial and job_name:
            return cls(root / job_name, job_name, own_only=True)
        return cls(root, job_name, own_only=False)

    def new_state(self, fingerprint: str) -> TrainingState:
        return TrainingState(fingerprint, job_name=self.job_name)

    def save(self, booster: xgboost.Booster, state: TrainingState) -> Path:
        booster.set_attr(**{STATE_ATTR: json.dumps(dataclasses.asdict(state))})
        path = self.directory / f"checkpoint-{state.rounds_done:06d}.ubj"
        write_atomic(path, bytes(booster.save_raw(raw_format="ubj")))
        for old in _candidates(self.directory)[KEEP:]:
            old.unlink(missing_ok=True)
        return path

    def load_latest(self, expected: str) -> tuple[xgboost.Booster, TrainingState] | None:
        """The newest readable checkpoint of this job, or None; one of other hyperparameters or
        data is an error (someone reused the location)."""
        import xgboost

        for path in _candidates(self.directory):
            try:
                booster = xgboost.Booster(model_file=bytearray(path.read_bytes()))
                raw: dict[str, Any] = json.loads(booster.attr(STATE_ATTR) or "")
                state = TrainingState(**raw)
            except (xgboost.core.XGBoostError, ValueError, TypeError) as exc:
                log.warning("skipping unreadable checkpoint %s: %s", path,
                            str(exc).splitlines()[0])
                continue
            if self.own_only and state.job_name != self.job_name:
                log.warning("ignoring checkpoint %s: written by training job %s, not this one",
                            path, state.job_name)
                continue
            if state.fingerprint != expected:
                raise JobError(
                    f"checkpoint {path} was written for other hyperparameters or data "
                    f"(fingerprint {state.fingerprint}, this job {expected}): give the job an "
                    "empty checkpoint location or delete the old checkpoints"
                )
            log.info("resuming from %s after %d rounds", path, state.rounds_done)
            return booster, state
        return None


def _candidates(directory: Path) -> list[Path]:
    """Checkpoint files, newest first."""
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir()
             if (m := FILE_PATTERN.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]
