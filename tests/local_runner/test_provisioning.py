"""Every stage's synthesized app can be deployed into the emulated account (no runs here)."""

from __future__ import annotations

import pytest

from local_runner.local_run import LocalPlatform


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_stage_deploys_into_the_emulated_account(synthesized, tmp_path, stage):
    with LocalPlatform(synthesized[stage].outdir, workdir=tmp_path) as platform:
        names = set(platform.account.state_machines)
        assert {f"mlplatform-{stage}-training", f"mlplatform-{stage}-batch-inference",
                f"mlplatform-{stage}-deployment"} <= names
        assert f"mlplatform-{stage}-pipeline-input" in platform.account.lambdas
        assert platform.account.model_package_groups == [f"mlplatform-{stage}-churn"]
        assert platform.seed()  # the sample data lands in the stage's raw bucket
