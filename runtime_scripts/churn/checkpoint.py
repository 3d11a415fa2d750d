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

from runtime_scripts.churn.jobio import JobError, write_atomic

if TYPE_CHECKING:
    import xgboost

    from runtime_scripts.churn.hyperparameters import Hyperparameters

STATE_ATTR = "churn_training_state"
FILE_PATTERN = re.compile(r"^checkpoint-(\d+)\.ubj$")
KEEP = 2  # the newest, plus one in case the newest was cut short while syncing from S3
# Hyperparameters that do not change the trees of the rounds already trained.
NOT_FINGERPRINTED = ("num_round", "metrics_frequency", "decision_threshold", "nthread")

log = logging.getLogger("churn.checkpoint")


@dataclass
class TrainingState:
    fingerprint: str
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


def fingerprint(hp: Hyperparameters, data_files: list[Path]) -> str:
    digest = hashlib.sha256()
    shaping = {k: v for k, v in hp.as_dict().items() if k not in NOT_FINGERPRINTED}
    digest.update(json.dumps(shaping, sort_keys=True).encode())
    for path in data_files:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def save(directory: Path, booster: xgboost.Booster, state: TrainingState) -> Path:
    booster.set_attr(**{STATE_ATTR: json.dumps(dataclasses.asdict(state))})
    path = directory / f"checkpoint-{state.rounds_done:06d}.ubj"
    write_atomic(path, bytes(booster.save_raw(raw_format="ubj")))
    for old in _candidates(directory)[KEEP:]:
        old.unlink(missing_ok=True)
    return path


def _candidates(directory: Path) -> list[Path]:
    """Checkpoint files, newest first."""
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir()
             if (m := FILE_PATTERN.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def load_latest(directory: Path, expected: str) -> tuple[xgboost.Booster, TrainingState] | None:
    """The newest readable checkpoint, or None; a foreign checkpoint is an error."""
    import xgboost

    for path in _candidates(directory):
        try:
            booster = xgboost.Booster(model_file=bytearray(path.read_bytes()))
            raw: dict[str, Any] = json.loads(booster.attr(STATE_ATTR) or "")
            state = TrainingState(**raw)
        except (xgboost.core.XGBoostError, ValueError, TypeError) as exc:
            log.warning("skipping unreadable checkpoint %s: %s", path, str(exc).splitlines()[0])
            continue
        if state.fingerprint != expected:
            raise JobError(
                f"checkpoint {path} was written for other hyperparameters or data "
                f"(fingerprint {state.fingerprint}, this job {expected}): give the job an empty "
                "checkpoint location or delete the old checkpoints"
            )
        log.info("resuming from %s after %d rounds", path, state.rounds_done)
        return booster, state
    return None
