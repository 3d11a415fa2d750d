"""Stage configuration of serving and monitoring: the stage files load, and every kind of wrong
value names its key and what is allowed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import ConfigError, load_stage_config

SERVERLESS = {"serving": {"serverless": {"memory_size_mb": 2048, "max_concurrency": 5}},
              "monitoring": {"enabled": False}}


def _load(tmp_path: Path, overrides: dict):
    """A stage file of `overrides`, deploying churn with the stage's serving and monitoring."""
    path = tmp_path / "stage.json"
    path.write_text(json.dumps({"use_cases": [{"name": "churn"}], **overrides}))
    return load_stage_config("test", path)


def test_dev_and_prod_serving_and_monitoring():
    dev, prod = load_stage_config("dev"), load_stage_config("prod")
    assert dev.serving.serverless is None
    assert dev.serving.deployment.traffic_routing == "ALL_AT_ONCE"
    assert dev.serving.data_capture_percentage == 100 and dev.monitoring.enabled
    assert prod.serving.initial_instance_count == 2
    assert prod.serving.deployment.traffic_routing == "CANARY"
    assert prod.serving.deployment.step_type == "INSTANCE_COUNT"
    assert prod.serving.autoscaling.min_capacity == 2 and prod.serving.autoscaling.max_capacity == 6
    assert prod.serving.autoscaling.scale_in_cooldown_seconds == 900
    assert prod.monitoring.schedule == "cron(0 * ? * * *)"
    assert prod.monitoring.min_hours_between_retraining == 24


def test_a_serverless_stage_is_valid(tmp_path):
    use_case = _load(tmp_path, SERVERLESS).use_cases[0]
    assert use_case.serving.serverless.memory_size_mb == 2048
    assert not use_case.monitoring.enabled


def test_a_use_case_serves_serverless_beside_the_stages_instances(tmp_path):
    config = _load(tmp_path, {"use_cases": [{"name": "churn", **SERVERLESS}]})
    assert config.serving.serverless is None and config.monitoring.enabled
    assert config.use_cases[0].serving.serverless.max_concurrency == 5


def test_serving_rules_between_sections_name_the_use_case(tmp_path):
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, {"network": {"isolate": True},
                         "use_cases": [{"name": "churn", **SERVERLESS}]})
    assert error.value.key == "use_cases[0].serving.serverless"
    assert "null (instances) when network.isolate" in str(error.value)


@pytest.mark.parametrize("schedule", ["cron(0 * ? * * *)", "cron(0 12 ? * * *)",
                                      "cron(0 0/6 ? * * *)", "cron(0 17/12 ? * * *)"])
def test_model_monitor_schedules_are_accepted(tmp_path, schedule):
    assert _load(tmp_path, {"monitoring": {"schedule": schedule}}).monitoring.schedule == schedule


@pytest.mark.parametrize(
    ("overrides", "key", "allowed"),
    [
        ({"serving": {"instance_type": "ml.m5d.large"}}, "serving.instance_type", "EBS-backed"),
        ({"serving": {"instance_type": "m5.large"}}, "serving.instance_type", "ml.m5.xlarge"),
        ({"serving": {"initial_instance_count": 3}}, "serving.initial_instance_count", "1 .. 2"),
        ({"serving": {"data_capture_percentage": 101}}, "serving.data_capture_percentage",
         "0 .. 100"),
        ({"serving": {"poll_interval_seconds": 5}}, "serving.poll_interval_seconds", "10 .. 600"),
        ({"serving": {"serverless": {"memory_size_mb": 1500}}, "monitoring": {"enabled": False}},
         "serving.serverless.memory_size_mb", "1024, 2048, 3072, 4096, 5120, 6144"),
        ({"serving": {"serverless": {"max_concurrency": 201}}, "monitoring": {"enabled": False}},
         "serving.serverless.max_concurrency", "1 .. 200"),
        ({"serving": {"serverless": {}}}, "monitoring.enabled", "false with serving.serverless"),
        ({**SERVERLESS, "network": {"isolate": True}}, "serving.serverless",
         "null (instances) when network.isolate"),
        ({"serving": {"autoscaling": {"min_capacity": 3, "max_capacity": 2}}},
         "serving.autoscaling.max_capacity", ">= 3"),
        ({"serving": {"autoscaling": {"scale_in_cooldown_seconds": 4000}}},
         "serving.autoscaling.scale_in_cooldown_seconds", "0 .. 3600"),
        ({"serving": {"autoscaling": {"disable_scale_in": "yes"}}},
         "serving.autoscaling.disable_scale_in", None),
        ({"serving": {"deployment": {"traffic_routing": "BLUE"}}},
         "serving.deployment.traffic_routing", "CANARY, LINEAR, ALL_AT_ONCE"),
        ({"serving": {"deployment": {"step_size": 60}}}, "serving.deployment.step_size", "1 .. 50"),
        ({"serving": {"deployment": {"traffic_routing": "LINEAR", "step_size": 5}}},
         "serving.deployment.step_size", "10 .. 50"),
        ({"serving": {"initial_instance_count": 2,
                      "autoscaling": {"max_capacity": 2},
                      "deployment": {"step_type": "INSTANCE_COUNT", "step_size": 2}}},
         "serving.deployment.step_size", "1 .. 1"),
        ({"serving": {"deployment": {"step_type": "INSTANCE_COUNT", "step_size": 1}}},
         "serving.deployment.step_size", "CAPACITY_PERCENT, or more instances"),
        ({"serving": {"serverless": {}, "deployment": {"step_type": "INSTANCE_COUNT"}},
          "monitoring": {"enabled": False}}, "serving.deployment.step_type", "CAPACITY_PERCENT"),
        ({"serving": {"deployment": {"wait_interval_seconds": 3600}}},
         "serving.deployment.max_execution_timeout_seconds", "> 3900"),
        ({"serving": {"deployment": {"max_execution_timeout_seconds": 300}}},
         "serving.deployment.max_execution_timeout_seconds", "600 .. 28800"),
        ({"serving": {"alarms": {"max_latency_p99_ms": 0}}}, "serving.alarms.max_latency_p99_ms",
         "1 .. 60000"),
        ({"serving": {"alarms": {"max_5xx": 3}}}, "serving.alarms.max_5xx",
         "serving.alarms.max_5xx_errors_per_minute"),
        ({"monitoring": {"schedule": "rate(1 hour)"}}, "monitoring.schedule",
         "hourly cron(0 * ? * * *)"),
        ({"monitoring": {"schedule": "cron(0 3 * * * *)"}}, "monitoring.schedule",
         "cron(0 3 * * ? *)"),
        ({"monitoring": {"schedule": "cron(15 * ? * * *)"}}, "monitoring.schedule",
         "every N hours cron(0 H/N ? * * *)"),
        ({"monitoring": {"max_runtime_seconds": 7200}}, "monitoring.max_runtime_seconds",
         "60 .. 3600"),
        ({"monitoring": {"drift_threshold": 0}}, "monitoring.drift_threshold", "0 < threshold"),
        ({"monitoring": {"ground_truth_s3_uri": "labels/"}}, "monitoring.ground_truth_s3_uri",
         "s3://bucket/prefix/"),
        ({"monitoring": {"model_quality_metric": "rmse"}},
         "use_cases[0].monitoring.model_quality_metric", "auc, pr_auc, accuracy, precision"),
        ({"monitoring": {"model_quality_metric": "log_loss", "model_quality_threshold": -1}},
         "use_cases[0].monitoring.model_quality_threshold", "0.0 .. inf"),
        ({"monitoring": {"min_hours_between_retraining": 0}},
         "monitoring.min_hours_between_retraining", "1 .. 720"),
    ],
)
def test_wrong_values_name_the_key_and_allowed_values(tmp_path, overrides, key, allowed):
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, overrides)
    assert error.value.key == key, str(error.value)
    assert f"'{key}'" in str(error.value)
    if allowed:
        assert allowed in str(error.value)
