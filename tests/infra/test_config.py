"""Stage configuration: valid stages load, every kind of wrong value names its key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, available_stages, load_stage_config

ROOT = Path(__file__).resolve().parents[2]
CHURN = [{"name": "churn"}]  # a stage deploys at least one use case


def _load(tmp_path: Path, overrides: dict):
    """A stage file of `overrides` (deploying churn unless they list use cases)."""
    path = tmp_path / "stage.json"
    path.write_text(json.dumps({"use_cases": CHURN, **overrides}))
    return load_stage_config("test", path)


def test_dev_and_prod_exist_and_validate():
    assert {"dev", "prod"} <= set(available_stages())
    prod = load_stage_config("prod")
    assert prod.network.isolate and prod.tuning.enabled
    assert prod.resource_prefix == "mlplatform-prod"
    assert prod.tags["cost-centre"] == "ml-platform-prod"


@pytest.mark.parametrize(
    ("overrides", "key", "allowed"),
    [
        ({"training": {"instance_type": "m5.xlarge"}}, "training.instance_type", "ml.m5.xlarge"),
        ({"processing": {"instance_count": -1}}, "processing.instance_count", "1 .. 100"),
        ({"notification_email": "team-at-example"}, "notification_email", "name@example.com"),
        ({"batch_inference": {"schedule": "every day"}}, "batch_inference.schedule", "rate(N"),
        ({"batch_inference": {"schedule": "cron(0 3 * * * *)"}}, "batch_inference.schedule",
         "cron(0 3 * * ? *)"),
        ({"batch_inference": {"schedule": "rate(1 days)"}}, "batch_inference.schedule", "rate("),
        ({"tuning": {"max_jobs": 501}}, "tuning.max_jobs", "1 .. 500"),
        ({"tuning": {"max_parallel_jobs": 11}}, "tuning.max_parallel_jobs", "1 .. 10"),
        ({"tuning": {"strategy": "Genetic"}}, "tuning.strategy", "Bayesian, Random, Hyperband"),
        ({"training": {"use_spot": "yes"}}, "training.use_spot", None),
        ({"training": {"use_spot": True, "max_wait_seconds": 60}}, "training.max_wait_seconds",
         ">= 3600"),
        ({"trainig": {}}, "trainig", "training"),
        ({"storage": {"retention": 3}}, "storage.retention", "storage.noncurrent_version"),
        ({"log_retention_days": 42}, "log_retention_days", "365"),
        ({"account": "12345"}, "account", "12 digits"),
        # CreateTransformJob takes no volume size and no maximum runtime: no such keys.
        ({"batch_inference": {"volume_size_gb": 30}}, "batch_inference.volume_size_gb",
         "unknown key (allowed: batch_inference.instance_type, batch_inference.instance_count"),
        ({"batch_inference": {"max_runtime_seconds": 3600}},
         "batch_inference.max_runtime_seconds", "unknown key"),
        ({"use_cases": [{"name": "churn", "quality_gate": {"conditions": [
            {"metric": "auc", "comparison": ">=", "threshold": 1.5},
            {"metric": "recall", "comparison": ">=", "threshold": 0.5}]}}]},
         "use_cases[0].quality_gate.conditions[0].threshold", "0.0 .. 1.0"),
        ({"network": {"cidr": "10.0.0.0/8"}}, "network.cidr", "/16"),
        ({"training": {"algorithm": "builtin",
                       "hyperparameters": {"num_round": "100", "objective": "reg:squarederror"}}},
         "use_cases[0].training.hyperparameters.objective", "binary:logistic"),
        ({"training": {"algorithm": "xgboost"}}, "training.algorithm", "script, builtin"),
        ({"training": {"algorithm": "automl", "automl": {"objective_metric": "RMSE"}}},
         "use_cases[0].training.automl.objective_metric",
         "F1, Accuracy, AUC, BalancedAccuracy, Precision, Recall"),
        ({"training": {"automl": {"max_candidates": 751}}}, "training.automl.max_candidates",
         "1 .. 750"),
        ({"use_cases": [{"name": "defects", "training": {"algorithm": "automl"}}]},
         "use_cases[0].training.algorithm", "binary_classification, regression"),
        # Autopilot trains its own candidates: no algorithm resource with it.
        ({"training": {"algorithm": "automl", "algorithm_name": "someone-elses-algorithm"}},
         "training.algorithm_name", "algorithm 'script'"),
        ({"training": {"algorithm": "automl", "own_algorithm": True}},
         "training.own_algorithm", "algorithm 'script'"),
        # churn trains on one train shard per instance: a replicated train channel over two
        # instances would hand each every shard.
        ({"training": {"instance_count": 2, "channels": {"train": {
            "s3_data_distribution_type": "FullyReplicated"}}}},
         "use_cases[0].training.channels.train.s3_data_distribution_type",
         "ShardedByS3Key, or instance_count 1"),
        # The built-in algorithm trains on one unsharded train file.
        ({"training": {"algorithm": "builtin", "channels": {"train": {
            "s3_data_distribution_type": "ShardedByS3Key"}}}},
         "use_cases[0].training.channels.train.s3_data_distribution_type", "FullyReplicated"),
        ({"job_retries": {"max_attempts": 0}}, "job_retries.max_attempts", "1 .. 5"),
        ({"job_retries": {"max_attempts": 9}}, "job_retries.max_attempts", "1 .. 5"),
        ({"job_retries": {"backoff_rate": 0.5}}, "job_retries.backoff_rate", "1.0 .. 5.0"),
        ({"job_retries": {"first_interval_seconds": 0}}, "job_retries.first_interval_seconds",
         "1 .. 3600"),
    ],
)
def test_wrong_values_name_the_key_and_allowed_values(tmp_path, overrides, key, allowed):
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, overrides)
    assert error.value.key == key
    assert f"'{key}'" in str(error.value)
    if allowed:
        assert allowed in str(error.value)


def test_job_retry_back_off_grows_by_the_rate_once_per_retry(tmp_path):
    retries = _load(tmp_path, {"job_retries": {"max_attempts": 4, "first_interval_seconds": 60,
                                               "backoff_rate": 2}}).job_retries
    assert retries.wait_seconds == [60, 120, 240]
    assert _load(tmp_path, {"job_retries": {"max_attempts": 1}}).job_retries.wait_seconds == []


def test_valid_schedules_are_accepted(tmp_path):
    for schedule in ("rate(1 day)", "rate(6 hours)", "cron(0 3 * * ? *)", "cron(15 2 ? * MON *)"):
        config = _load(tmp_path, {"batch_inference": {"schedule": schedule}})
        assert config.batch_inference.schedule == schedule


def test_unknown_stage_lists_the_stages():
    allowed = ", ".join(available_stages())
    with pytest.raises(ConfigError, match=rf"unknown stage 'qa' \(allowed: {allowed};"):
        load_stage_config("qa")


def test_synth_stops_with_one_readable_line_on_a_bad_stage():
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"stage": "qa"}),
           "CDK_OUTDIR": "/tmp/never-written"}
    result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    assert "Configuration error: config key 'stage': unknown stage 'qa'" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_problem_of_a_stage_file_is_reported_at_once_naming_the_file(tmp_path,
                                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = Path("stage.json")
    path.write_text(json.dumps({
        "use_cases": CHURN,
        "trainig": {},
        "training": {"instance_count": "2", "max_runtime_secs": 5, "use_spot": True,
                     "max_wait_seconds": 60},
        "tuning": {"max_jobs": 501, "strategy": "bayesian"},
        "batch_inference": {"schedule": "every day"},
    }))
    with pytest.raises(ConfigError) as error:
        load_stage_config("test", path)
    message = str(error.value)
    assert message.startswith("stage.json: 7 problems\n")
    assert {p.key for p in error.value.problems} == {
        "trainig", "training.max_runtime_secs", "training.instance_count",
        "training.max_wait_seconds", "tuning.max_jobs", "tuning.strategy",
        "batch_inference.schedule"}
    assert "config key 'trainig': unknown key; did you mean 'training'?" in message
    assert "'training.max_runtime_secs': unknown key; did you mean " \
           "'training.max_runtime_seconds'?" in message
    assert "'tuning.strategy': 'bayesian' is not allowed; did you mean 'Bayesian'?" in message
    assert "config key 'training.instance_count': must be an integer, got '2'" in message


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"training": {"instance_count": "2"}}, "must be an integer, got '2'"),
    ({"training": {"use_spot": 1}}, "must be a boolean, got 1"),
    ({"training": []}, "must be an object, got list"),
])
def test_type_errors_read_as_english(tmp_path, overrides, expected):
    with pytest.raises(ConfigError, match=expected):
        _load(tmp_path, overrides)


def test_a_json_syntax_error_names_the_file_the_line_and_shows_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("stage.json").write_text('{\n  "training": {\n    "instance_count": 2\n'
                                  '    "use_spot": true\n  }\n}\n')
    with pytest.raises(ConfigError) as error:
        load_stage_config("test", Path("stage.json"))
    assert str(error.value) == ("stage.json: not valid JSON at line 4, column 5: Expecting ',' "
                                'delimiter\n    "use_spot": true')


def test_an_unknown_stage_says_how_to_add_one():
    with pytest.raises(ConfigError) as error:
        load_stage_config("prd")
    assert "unknown stage 'prd'; did you mean 'prod'?" in str(error.value)
    assert "to add a stage, create config/stages/prd.json" in str(error.value)
