"""Every committed stage file is synthesized by the session's checks: dev, prod and cicd by
fixtures of their own, any other (config/stages/forecast.json) through the 'every' variant,
which deploys each of its use cases as that stage does. Config loads only: no synth here."""

from __future__ import annotations

import dataclasses

import pytest

from config import StageConfig, available_stages, load_stage_config
from config.use_cases import OVERRIDABLE
from tests.conftest import (
    EVERY_USE_CASE,
    STAGE_NAMES,
    SYNTHESIZED_STAGE_FILES,
    write_every_use_case_stage,
)

# Stage-wide fields that name the stage rather than shape what it deploys.
NAMING = ("stage", "cost_centre", "owner", "notification_email", "account", "cicd")
OTHERS = [s for s in available_stages() if s not in SYNTHESIZED_STAGE_FILES]


@pytest.fixture(scope="module")
def every(tmp_path_factory) -> StageConfig:
    return load_stage_config(STAGE_NAMES[EVERY_USE_CASE],
                             write_every_use_case_stage(tmp_path_factory.mktemp("every")))


def test_a_stage_file_deploying_a_use_case_beside_the_synthesized_ones_exists():
    assert "forecast" in OTHERS  # else this module checks nothing


@pytest.mark.parametrize("stage", OTHERS)
def test_the_every_variant_deploys_each_use_case_of_the_stage_as_the_stage_does(stage, every):
    config = load_stage_config(stage)  # loads and validates, as `cdk synth` would
    deployed = {u.name: u for u in every.use_cases}
    for use_case in config.use_cases:
        assert deployed[use_case.name] == use_case, (
            f"{stage}.json deploys {use_case.name} otherwise than the 'every' variant: "
            "tests/conftest.py's committed_stage_entry folds its sections in")
    # What it sets stage-wide, the 'every' variant (dev's stage-wide sections) sets too.
    for field in dataclasses.fields(StageConfig):
        if field.name in (*NAMING, *OVERRIDABLE, "use_cases"):
            continue
        ours = getattr(every, field.name)
        if field.name == "lake_formation":  # its readers' grants are grants in addition
            ours = dataclasses.replace(ours, readers=config.lake_formation.readers)
        assert getattr(config, field.name) == ours, (
            f"{stage}.json's {field.name} differs from dev's: the 'every' variant does not "
            "synthesize it; give the stage a synth variant of its own")


def test_the_forecast_stage_turns_on_scheduled_batch_forecasts_which_dev_leaves_off(every):
    forecast = next(u for u in load_stage_config("forecast").use_cases if u.name == "demand")
    dev = load_stage_config("dev")
    assert forecast.batch_inference.schedule and not dev.batch_inference.schedule
    assert forecast.manifest.batch_predictions is not None  # into its catalog table
