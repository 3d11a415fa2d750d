"""Multi-instance folds and windows: a use case whose script trains on one train shard per
instance (image.sharded_training) gets, in every fold's and window's preprocessing (and the
cross-validation's final model's), the number of shards to write, as its training pipeline's
preprocessing does (ml_constructs/distributed_training.py). Without it the preprocessing writes
one train file, and a ShardedByS3Key channel over two instances leaves the second none."""

from __future__ import annotations

from runtime_scripts import contract
from runtime_scripts.common.manifest import load_manifest
from tests.conftest import EVERY_USE_CASE
from tests.contract.asl import all_states

SUFFIXES = ("-cross-validation", "-backtest")


def _preprocessing_jobs(asl: dict) -> list[dict]:
    return [s["Parameters"] for s in all_states(asl).values()
            if s["Type"] == "Task" and s.get("Parameters", {}).get(
                "AppSpecification", {}).get("ContainerEntrypoint") == ["process", "preprocess"]]


def test_every_fold_and_window_of_a_sharded_use_case_writes_a_shard_per_instance(definitions):
    checked = set()
    for name, asl in definitions[EVERY_USE_CASE].items():
        suffix = next((s for s in SUFFIXES if name.endswith(s)), None)
        if suffix is None:
            continue
        use_case = name.removesuffix(suffix).split("-", 2)[2]
        sharded = load_manifest(use_case).image.sharded_training
        jobs = _preprocessing_jobs(asl)
        assert jobs, name
        for request in jobs:
            told = request["Environment"].get(f"{contract.TRAIN_SHARDS_ENV}.$")
            assert told == ("$.training.train_shards" if sharded else None), name
        checked.add((suffix, sharded))
    assert {("-cross-validation", True), ("-backtest", True)} <= checked
