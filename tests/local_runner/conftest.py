"""One emulated account per test module, with the dev app deployed and the sample data seeded."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def platform(synthesized, tmp_path_factory):
    from local_runner.local_run import LocalPlatform

    with LocalPlatform(synthesized["dev"].outdir,
                       workdir=tmp_path_factory.mktemp("local-run"), max_local_trials=2) as local:
        local.seed()
        yield local


@pytest.fixture(scope="module")
def trained(platform):
    """The success path of the training pipeline with the stage defaults (`{}`)."""
    return platform.run("training", {}, name="session-training")
