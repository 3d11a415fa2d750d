"""A use case whose image needs GPU instances (its manifest's image.instance_family) is refused a
CPU training instance early: at synth by the stage config, and by the first state of every
pipeline that trains, before any job is paid for; each naming the key and the families it may
use."""

from __future__ import annotations

import dataclasses
import json

import botocore.session
import pytest

from config import ConfigError, load_stage_config
from ml_constructs import pipeline_defaults
from runtime_scripts import contract
from runtime_scripts.common.manifest import load_manifest
from runtime_scripts.pipeline_input import InvalidPipelineInput
from tests.pipeline_input.events import (
    TRAINING_DEFAULTS,
    TRAINING_PLATFORM,
    error,
    training,
    with_changes,
)

GPU = contract.INSTANCE_FAMILY_PATTERNS["gpu"]


def test_the_gpu_pattern_matches_exactly_the_p_and_g_training_families():
    """Against CreateTrainingJob's own list (botocore's model): every P and G type, nothing
    else (C, M, R, T, Trainium)."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    types = model.shape_for("TrainingInstanceType").enum
    for instance_type in types:
        family = instance_type.split(".")[1]
        assert bool(GPU.match(instance_type)) is (family[0] in "pg"), instance_type
    assert any(t.startswith("ml.trn") for t in types)  # so the list does hold a non-GPU chip


@pytest.fixture
def gpu_manifest(monkeypatch):
    """churn as if its image needed a GPU (the config reads manifests through load_manifest)."""
    import config.use_cases

    manifest = load_manifest("churn")
    gpu = dataclasses.replace(manifest, image=dataclasses.replace(manifest.image,
                                                                  instance_family="gpu"))
    monkeypatch.setattr(config.use_cases, "load_manifest", lambda name: gpu)
    return gpu


def _stage(tmp_path, training: dict | None):
    """A stage of the defaults (training on ml.m5.xlarge) deploying churn, its entry's
    `training` as given."""
    entry = {"name": "churn", **({"training": training} if training else {})}
    path = tmp_path / "stage.json"
    path.write_text(json.dumps({"use_cases": [entry]}))
    return load_stage_config("test", path)


def test_the_stage_config_refuses_a_cpu_training_instance_naming_the_key(tmp_path, gpu_manifest):
    with pytest.raises(ConfigError) as info:
        _stage(tmp_path, None)  # the stage's default, ml.m5.xlarge
    assert info.value.key == "use_cases[0].training.instance_type"
    message = str(info.value)
    assert "'ml.m5.xlarge' has no GPU: use case 'churn' trains on gpu instances" in message
    assert "(allowed: ml.g4dn.*, ml.g5.*" in message
    config = _stage(tmp_path, {"instance_type": "ml.g5.2xlarge"})
    assert config.use_cases[0].training.instance_type == "ml.g5.2xlarge"


def test_a_cpu_use_case_may_train_on_any_instance(tmp_path):
    assert _stage(tmp_path, {"instance_type": "ml.g5.xlarge"}).use_cases[0].name == "churn"


def test_the_platform_values_carry_the_family_to_every_pipeline_that_trains(tmp_path,
                                                                            gpu_manifest):
    config = _stage(tmp_path, {"instance_type": "ml.g5.xlarge"})
    use_case = config.use_cases[0]
    bucket = {"artifacts_bucket": "artifacts"}
    for build in (pipeline_defaults.training_platform,
                  pipeline_defaults.cross_validation_platform,
                  pipeline_defaults.backtest_platform):
        assert build(config, use_case, **bucket)["training_instance_family"] == "gpu"


def test_the_first_state_refuses_a_cpu_training_instance_before_any_job():
    gpu = {"platform": {**TRAINING_PLATFORM, "training_instance_family": "gpu"},
           "defaults": with_changes(TRAINING_DEFAULTS, "training", instance_type="ml.g5.xlarge")}
    exc = error(InvalidPipelineInput, training, {"training": {"instance_type": "ml.m5.2xlarge"}},
                **gpu)
    assert exc.keys == ["training.instance_type"]
    assert "'ml.m5.2xlarge' has no GPU: use case 'churn' trains on gpu instances" in str(exc)
    assert "ml.p4d.*" in str(exc)
    resolved = training({"training": {"instance_type": "ml.p3.2xlarge"}}, **gpu)
    assert resolved["training"]["instance_type"] == "ml.p3.2xlarge"
    assert training({"training": {"instance_type": "ml.m5.2xlarge"}})  # a CPU use case may
