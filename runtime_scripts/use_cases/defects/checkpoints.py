"""Checkpoints of the PyTorch training loop, for managed spot: one file per epoch,
`checkpoint-<epoch>.pt` (model, optimiser, schedule, scaler, early-stopping state), written
atomically; resuming takes the newest readable one. Where a job keeps them, and which a tuning
trial may resume, is the shared rule (common/checkpoint.py `Store`): a trial only its own under
`<dir>/<job name>/`; a fingerprint of the hyperparameters and the data refuses someone else's.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from pathlib import Path
from typing import Any

from runtime_scripts.common.checkpoint import KEEP, Store
from runtime_scripts.common.jobio import JobError, write_atomic
from runtime_scripts.use_cases.defects.hparams import NOT_FINGERPRINTED, TrainingHyperparameters

FILE_PATTERN = re.compile(r"^checkpoint-(\d+)\.pt$")
log = logging.getLogger("jobs.checkpoint")


def fingerprint(hp: TrainingHyperparameters, data_files: list[Path]) -> str:
    digest = hashlib.sha256()
    shaping = {k: v for k, v in hp.as_dict().items() if k not in NOT_FINGERPRINTED}
    digest.update(json.dumps(shaping, sort_keys=True).encode())
    for path in data_files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _candidates(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir()
             if (m := FILE_PATTERN.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def save(store: Store, state: dict[str, Any]) -> Path:
    import torch

    buffer = io.BytesIO()
    torch.save({**state, "job_name": store.job_name}, buffer)
    path = store.directory / f"checkpoint-{state['epoch']:04d}.pt"
    write_atomic(path, buffer.getvalue())
    for old in _candidates(store.directory)[KEEP:]:
        old.unlink(missing_ok=True)
    return path


def load_latest(store: Store, expected: str) -> dict[str, Any] | None:
    import torch

    for path in _candidates(store.directory):
        try:
            state = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu",
                               weights_only=False)
        except Exception as exc:  # a file cut short while syncing: the one before it
            log.warning("skipping unreadable checkpoint %s: %s", path, exc)
            continue
        if store.own_only and state.get("job_name") != store.job_name:
            log.warning("ignoring checkpoint %s: written by training job %s, not this one",
                        path, state.get("job_name"))
            continue
        if state.get("fingerprint") != expected:
            raise JobError(f"checkpoint {path} was written for other hyperparameters or data "
                           f"(fingerprint {state.get('fingerprint')}, this job {expected}): "
                           "give the job an empty checkpoint location or delete the old ones")
        log.info("resuming from %s after %d epochs", path, state["epoch"])
        return state
    return None
