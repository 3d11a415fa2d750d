"""The cross-validation pipeline's first state against the defaults and platform values the
CDK side builds for every use case of every stage config: what it accepts, derives and
refuses (with the key and the allowed values), before any job is paid for."""

from __future__ import annotations

import dataclasses

import pytest

from config import available_stages, load_stage_config
from ml_constructs import pipeline_defaults
from runtime_scripts.common.manifest import ManifestError, Resampling, SpreadLimit, load_manifest
from runtime_scripts.pipeline_input import InvalidPipelineInput, resolve
from runtime_scripts.pipeline_input import names as job_names

from .events import IMAGE_SPECIFICATION, PLATFORM, event

RAW = "mlplatform-dev-raw-123456789012"
LONGEST = "nightly-" + "x" * 72  # 80 characters: Step Functions' longest execution name


def _documents(stage: str, use_case: str) -> tuple[dict, dict]:
    config = load_stage_config(stage)
    chosen = config.use_case(use_case)
    return (pipeline_defaults.cross_validation_defaults(config, chosen, raw_bucket=RAW),
            {**pipeline_defaults.cross_validation_platform(
                config, chosen, artifacts_bucket=PLATFORM["artifacts_bucket"]),
             **IMAGE_SPECIFICATION})


def _resolve(given: dict, *, use_case: str = "churn", name: str = "cv-1",
             platform: dict | None = None) -> dict:
    defaults, built = _documents("dev", use_case)
    return resolve({**event("cross-validation", given, defaults=defaults,
                            platform=platform or built), "execution_name": name})


STAGE_USE_CASES = [(stage, use_case.name) for stage in available_stages()
                   for use_case in load_stage_config(stage).use_cases
                   if use_case.manifest.cross_validation.allowed]


@pytest.mark.parametrize(("stage", "use_case"), STAGE_USE_CASES)
def test_every_stage_config_gives_valid_defaults(stage, use_case):
    defaults, platform = _documents(stage, use_case)
    out = resolve(event("cross-validation", {}, defaults=defaults, platform=platform))
    gate = out["quality_gate"]["arguments"]
    manifest = load_manifest(use_case)
    # The use case's gate on the means, its manifest's bound on the spread.
    assert [g for g in gate if g != "--gate"] == [
        *(f"{c.metric}:mean{c.comparison}{c.threshold!r}"
          for c in load_stage_config(stage).use_case(use_case).gate),
        *(f"{limit.metric}:std<={limit.max_std!r}"
          for limit in manifest.cross_validation.max_std)]


def test_each_fold_gets_its_own_valid_job_names_and_locations_for_the_longest_name():
    out = _resolve({"cross_validation": {"folds": 20}}, name=LONGEST)
    folds = out["run"]["folds"]
    assert [f["fold"] for f in folds] == list(range(20))
    runs = (out["run"], *folds, out["run"]["final"])  # the final model's jobs too
    for run in runs:  # attempt 1 is the job's name
        assert {k: a["names"][0] for k, a in run["job_attempts"].items()} == run["job_names"]
    names = [n for run in runs for a in run["job_attempts"].values() for n in a["names"]]
    # across folds, the final model, kinds and attempts
    assert len(set(names)) == len(names) == 3 * (2 + 3 * 20 + 2)
    for name in names:
        assert len(name) <= job_names.SAGEMAKER_NAME_MAX
        assert name.startswith(f"{PLATFORM['resource_prefix']}-churn-")
    prefix = out["run"]["prefix"]
    assert folds[7]["s3"]["holdout"] == f"{prefix}folds/7/holdout/"
    assert folds[7]["s3"]["evaluation"] == f"{prefix}evaluations/7/"
    assert out["cross_validation"]["split_arguments"] == [
        "--folds", "20", "--seed", "42", "--data-uri", f"s3://{RAW}/churn/"]


def test_a_fold_reads_what_the_training_pipelines_jobs_read():
    """Each fold's `run` has the training pipeline's keys, so its request builders serve it."""
    training = resolve(event("training", {}, defaults=pipeline_defaults.training_defaults(
        load_stage_config("dev"), load_stage_config("dev").use_case("churn"), raw_bucket=RAW,
        curated_bucket=RAW), platform={**pipeline_defaults.training_platform(
        load_stage_config("dev"), load_stage_config("dev").use_case("churn"),
        artifacts_bucket=PLATFORM["artifacts_bucket"]), **IMAGE_SPECIFICATION}))
    fold = _resolve({})["run"]["folds"][0]
    needed = {"train", "validation", "test", "baseline", "transform", "model_output",
              "checkpoints", "evaluation", "preprocessing_input"}
    assert needed <= set(fold["s3"]) and needed <= set(training["run"]["s3"])
    assert set(fold["job_names"]) == {"preprocessing", "training", "evaluation"}


def test_the_final_model_trains_on_all_the_data_where_the_training_pipeline_would():
    """`final_model`: a run of the training pipeline's shape under `final/`, whose
    preprocessing reads the data as raw rows and as the holdout (every row trains), whose
    registered metrics document is the aggregate's."""
    out = _resolve({"cross_validation": {"final_model": True}})
    final, prefix = out["run"]["final"], out["run"]["prefix"]
    assert out["cross_validation"]["final_model"] is True
    assert final["s3"]["preprocessing_input"] == final["s3"]["holdout"] == \
        out["data"]["input_s3_uri"]
    assert final["s3"]["train"] == f"{prefix}final/preprocessing/train/"
    assert final["s3"]["dataset_spec"] == f"{prefix}folds/0/config/"
    assert f"s3://{final['s3']['evaluation_bucket']}/{final['s3']['evaluation_key']}" == \
        out["run"]["s3"]["aggregate"] + "cv_evaluation.json"
    assert set(final["job_names"]) == {"preprocessing", "training"}
    # The package records the gate in words (CustomerMetadataProperties has no '<' or '>').
    assert out["quality_gate"]["summary"] == (
        "auc mean at least 0.85 / recall mean at least 0.5 / auc std at most 0.03")
    assert _resolve({})["cross_validation"]["final_model"] is False  # the default


@pytest.mark.parametrize(("given", "key", "says"), [
    ({"cross_validation": {"folds": 1}}, "cross_validation.folds", "(allowed: 2 .. 20)"),
    ({"cross_validation": {"folds": 21}}, "cross_validation.folds", "(allowed: 2 .. 20)"),
    ({"cross_validation": {"group_column": "zip"}}, "cross_validation.group_column",
     "(allowed: churn, customer_id, state, "),
    ({"cross_validation": {"max_concurrency": 0}}, "cross_validation.max_concurrency",
     "(allowed: 1 .. 10000)"),
    ({"cross_validation": {"tolerated_failure_percentage": 101}},
     "cross_validation.tolerated_failure_percentage", "(allowed: 0 .. 100)"),
    ({"quality_gate": {"conditions": [{"metric": "auc", "statistic": "std",
                                       "comparison": ">=", "threshold": 0.01}]}},
     "quality_gate.conditions[0].comparison", "(allowed: <= or <)"),
    ({"quality_gate": {"conditions": [{"metric": "log_loss", "statistic": "mean",
                                       "comparison": ">=", "threshold": 0.1}]}},
     "quality_gate.conditions[0].comparison", "would pass worse models"),
    ({"cross_validation": {"final_model": "yes"}}, "cross_validation.final_model",
     "must be a boolean (true or false)"),
    ({"cross_validation": {"final_model": True}, "registry": {"description": "final \u200d model"}},
     "registry.description", "characters CreateModelPackage rejects"),
])
def test_bad_input_names_the_key_and_the_allowed_values(given, key, says):
    with pytest.raises(InvalidPipelineInput) as error:
        _resolve(given)
    assert key in error.value.keys
    assert says in str(error.value)


def test_a_group_column_is_the_split_jobs_to_check_with_a_spec_of_the_runs_own():
    out = _resolve({"data": {"dataset_spec_s3_uri": "s3://specs-bucket/other.json"},
                    "cross_validation": {"group_column": "household"}})
    assert out["cross_validation"]["split_arguments"][-2:] == ["--group-column", "household"]


def test_a_pipeline_the_manifest_refuses_is_refused_with_its_reason():
    defaults, platform = _documents("dev", "churn")
    refused = {**platform, "refusal": "customers are one snapshot"}
    with pytest.raises(InvalidPipelineInput, match="does not allow cross-validation: customers "
                                                   "are one snapshot"):
        resolve(event("cross-validation", {}, defaults=defaults, platform=refused))


@pytest.mark.parametrize(("resampling", "says"), [
    (Resampling(allowed=False), "give a refusal"),
    (Resampling(refusal="why"), "give a refusal"),
    (Resampling(max_std=(SpreadLimit("nope", 0.1),)), "not one of its gateable metrics"),
    (Resampling(max_std=(SpreadLimit("auc", 0.0),)), "must be a number above 0"),
])
def test_the_manifest_says_why_when_it_refuses_and_bounds_real_metrics(resampling, says):
    manifest = dataclasses.replace(load_manifest("churn"), cross_validation=resampling)
    with pytest.raises(ManifestError, match=says):
        manifest.validate()
    assert "time column" in load_manifest("churn").backtest.refusal


def test_each_fold_writes_one_train_shard_per_training_instance():
    """What the fold's preprocessing is told (ML_TRAIN_SHARDS): its ShardedByS3Key train
    channel over two instances needs two objects to hand out."""
    assert _resolve({"training": {"instance_count": 2}})["training"]["train_shards"] == "2"
