"""What `mlplatform run` uploads for a use case, read from its manifest: its training rows, the
rows its batch inference scores and their labels, each where its pipelines read them."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from config import UseCaseConfig
from local_runner.local_seed import Seed, merge
from runtime_scripts.common.manifest import available_use_cases, load_manifest


@pytest.mark.parametrize("name", available_use_cases())
def test_a_local_run_never_scores_rows_it_trained_on(name):
    """The training rows (sample_data) hold none of the rows to score (local_batch), by the
    dataset spec's ids: the batch's metrics are a hold-out's. A use case whose data has no row
    ids (a spec without id_columns) checks this in its own tests."""
    manifest = load_manifest(name)
    if manifest.local_batch is None:
        pytest.skip(f"{name} has no local batch")
    ids = json.loads(manifest.path(manifest.dataset_spec).read_text()).get("id_columns")
    if not ids:  # images, say: no row ids to compare; its own tests hold the rule
        pytest.skip(f"{name}'s dataset spec has no id_columns")
    train = pd.read_csv(manifest.path(manifest.sample_data), dtype=str, usecols=ids)
    batch = pd.read_csv(manifest.path(manifest.local_batch), dtype=str, usecols=ids)
    assert len(batch) and not set(map(tuple, batch.values)) & set(map(tuple, train.values))


def test_the_seed_puts_each_file_where_its_pipeline_reads_it():
    use_case = UseCaseConfig(name="churn", data_prefix="telco/churn/")
    seed = Seed.for_use_cases([use_case])
    assert [(u.file.name, u.bucket_output, u.key) for u in seed.uploads] == [
        ("mlc_churn_train.csv", "RawBucketName", "telco/churn/mlc_churn_train.csv"),
        ("holdout.csv", "RawBucketName", "batch/input/telco/churn/holdout.csv"),
        ("holdout_labels.csv", "RawBucketName", "batch/labels/telco/churn/holdout_labels.csv")]
    assert seed.inputs == {
        "churn:training": {"data": {"raw_s3_uri": "s3://${RawBucketName}/telco/churn/"}},
        "churn:batch-inference": {"data": {
            "input_s3_uri": "s3://${RawBucketName}/batch/input/telco/churn/",
            "labels_s3_uri": "s3://${RawBucketName}/batch/labels/telco/churn/"}}}
    only_training = Seed.for_use_cases([use_case], ["churn:training"])
    assert [u.key for u in only_training.uploads] == ["telco/churn/mlc_churn_train.csv"]


def test_a_batch_that_cannot_score_labels_is_seeded_without_them():
    """Served from the built-in's own container (config/stages/pricing.json's ames), the
    batch's first state refuses labels: a local run starts it with the rows alone."""
    from config import load_stage_config

    (ames,) = load_stage_config("pricing").use_cases
    assert not ames.batch_labels_scored
    seed = Seed.for_use_cases([ames])
    assert [u.file.name for u in seed.uploads] == ["ames_train.csv", "holdout.csv"]
    assert seed.inputs["ames:batch-inference"] == {"data": {
        "input_s3_uri": "s3://${RawBucketName}/batch/input/ames/"}}


def test_an_input_is_merged_over_the_seeds_input():
    seeded = {"data": {"raw_s3_uri": "s3://raw/churn/"}, "tuning": {"enabled": False}}
    given = {"data": {"run_glue": True}, "tuning": {"enabled": True, "max_jobs": 2}}
    assert merge(seeded, given) == {"data": {"raw_s3_uri": "s3://raw/churn/", "run_glue": True},
                                    "tuning": {"enabled": True, "max_jobs": 2}}
