"""One emulated account per test module, with the dev app deployed and the sample data seeded."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def local_seed(synthesized):
    """What `mlplatform run` uploads for dev: each of its use cases' local-run data."""
    from local_runner.local_seed import Seed

    return Seed.for_use_cases(synthesized["dev"].config.use_cases)


@pytest.fixture(scope="module")
def platform(synthesized, local_seed, tmp_path_factory):
    from local_runner.local_run import LocalPlatform

    with LocalPlatform(synthesized["dev"].outdir,
                       workdir=tmp_path_factory.mktemp("local-run"), max_local_trials=2) as local:
        local.seed(local_seed)
        yield local


@pytest.fixture(scope="module")
def trained(platform):
    """The success path of the training pipeline with the stage defaults, but for the input
    modes of two channels: the training split streamed (Pipe, emulated with a FIFO) and the
    validation split in FastFile mode (staged as File)."""
    return platform.run("churn:training", {"training": {"channels": PIPE_AND_FAST_FILE}},
                        name="session-training")


PIPE_AND_FAST_FILE = {"train": {"input_mode": "Pipe"}, "validation": {"input_mode": "FastFile"}}
