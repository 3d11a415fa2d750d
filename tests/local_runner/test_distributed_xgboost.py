"""Distributed XGBoost, run locally: preprocessing writes the train split as one shard per
instance, the train channel is ShardedByS3Key, and a 2-instance job runs as 2 `train`
processes joined by XGBoost's collective (runtime_scripts/common/tabular/distributed.py). The
model they train together scores as the single-instance model trained on the same shards."""

from __future__ import annotations

import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest
from moto import mock_aws
from sklearn.metrics import roc_auc_score

from benchmarks.distributed_xgboost import ROWS, parse_args, training_request
from local_runner import executors
from local_runner.executors import LocalProgram
from runtime_scripts import contract
from runtime_scripts.common.tabular.dataset import DatasetSpec
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN
from tests.runtime.conftest import REPO

BUCKET = "ml-data"
SHARDS = 2


@pytest.fixture(scope="module")
def splits(tmp_path_factory) -> contract.MlPaths:
    """The churn sample preprocessed for a 2-instance job (in-process: the job's code as is)."""
    from runtime_scripts.common.tabular import preprocess

    paths = contract.MlPaths(tmp_path_factory.mktemp("prep"))
    raw = paths.processing_input(contract.PROCESSING_INPUT_RAW)
    raw.mkdir(parents=True)
    (raw / "data.csv").write_bytes(CHURN.path(CHURN.sample_data).read_bytes())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(contract.TRAIN_SHARDS_ENV, str(SHARDS))
        preprocess.preprocess(paths, DatasetSpec.load(CHURN.path(CHURN.dataset_spec)))
    return paths


@pytest.fixture(scope="module")
def s3(splits):
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET,
                             CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        for name in ("train", "validation", "transform"):
            for path in sorted(splits.processing_output(name).iterdir()):
                client.upload_file(str(path), BUCKET, f"data/{name}/{path.name}")
        yield client


def _request(name: str, count: int) -> dict:
    return training_request(name, count, bucket=BUCKET, max_runtime_seconds=300,
                            hyperparameters={"nthread": "1", "num_round": "60",
                                             "early_stopping_rounds": "0"})


def _auc(s3, artifacts: str, splits: contract.MlPaths, into: Path) -> float:
    import xgboost

    archive = into / "model.tar.gz"
    s3.download_file(BUCKET, artifacts.split(f"{BUCKET}/", 1)[1], str(archive))
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    booster = xgboost.Booster(model_file=str(into / contract.MODEL_FILE))
    test = pd.read_csv(splits.processing_output("test") / contract.SPLIT_FILE, header=None,
                       dtype=np.float32).to_numpy()
    return float(roc_auc_score(test[:, 0], booster.predict(xgboost.DMatrix(test[:, 1:]))))


def test_preprocessing_writes_one_shuffled_shard_per_instance(splits):
    shards = sorted(p.name for p in splits.processing_output("train").iterdir())
    assert shards == [contract.shard_file(i) for i in range(SHARDS)]


def test_two_instances_train_one_model_as_good_as_one_instance(s3, splits, tmp_path):
    program = LocalProgram(bin_dir=REPO / "runtime_scripts" / "bin")
    with ThreadPoolExecutor(2) as pool:  # the two jobs at once, as two SageMaker jobs would
        single, double = pool.map(
            lambda job: executors.run_training_job(_request(job[0], job[1]), s3, program,
                                                   tmp_path / job[0]),
            (("one", 1), ("two", 2)))
    assert single.completed, single.failure_reason
    assert double.completed, double.failure_reason + double.log_tail
    # Each host read its own shard only, and both joined one collective of two workers.
    for host, shard in (("algo-1", 0), ("algo-2", 1)):
        staged = tmp_path / "two" / host / "ml" / "input" / "data" / "train"
        assert [p.name for p in staged.rglob("*.csv")] == [contract.shard_file(shard)]
    log = (tmp_path / "two" / "algo-2" / "logs" / "training.log").read_text()
    assert "worker 1 of 2" in log
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = _auc(s3, single.model_artifacts, splits, tmp_path / "a")
    two = _auc(s3, double.model_artifacts, splits, tmp_path / "b")
    print(f"test AUC: one instance {one:.4f}, two instances {two:.4f}")
    assert abs(one - two) <= 0.01, (one, two)
    assert two > 0.85


def test_the_benchmark_explains_itself_and_refuses_a_bad_row_count(capsys):
    with pytest.raises(SystemExit) as done:
        parse_args(["--help"])
    assert done.value.code == 0 and "rows of the generated data set" in capsys.readouterr().out
    assert parse_args([]).rows == ROWS and parse_args(["2000"]).rows == 2000
    with pytest.raises(SystemExit):
        parse_args(["12"])
    assert "give a whole number of rows >= 1000" in capsys.readouterr().err
