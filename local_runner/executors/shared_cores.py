"""What local jobs get because they share this machine's cores, where a SageMaker job owns its
instance's: OpenMP's worker threads (XGBoost, scikit-learn, PyTorch) sleep when they run out of
work instead of spinning first. A spinning thread holds a core another job or the runner needs,
and a parallel region waits for every thread, so on busy cores a job ran several times slower:
a tabular XGBoost training job took 20-27 s spinning and 3 s passive, at a load of 5 on 2 cores
(2026-12-02). A job, its image or its request may still set the variable itself."""

from __future__ import annotations

from collections.abc import Mapping

SHARED_CORES_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


def sharing_cores(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with the shared-core defaults under it (what `env` sets wins)."""
    return {**SHARED_CORES_ENV, **env}
