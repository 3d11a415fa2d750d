"""Distributed XGBoost: the wall time of one training job on 1 instance against the same job on
2 instances (2 `train` processes joined by XGBoost's collective, each on its ShardedByS3Key
shard), on a generated churn-shaped data set much larger than the sample.

The data: the bundled churn sample resampled to ROWS rows, its numeric columns jittered by 5%
of their spread (so rows are not copies), the customer ids renumbered. The real entry points run
as the pipeline runs them: `process preprocess` once with ML_TRAIN_SHARDS=2, then the local
runner's CreateTrainingJob (local_runner/executors/training.py) with InstanceCount 1 and 2 over
the same shards, one thread per instance (an "instance" is one core here). Both models are
scored on the same test split (AUC), and the load average is recorded before and after: the
machine is shared, so the speed-up is only as good as the cores that were free.

Run from the repository root: `python -m benchmarks.distributed_xgboost [ROWS]` (`--help`
says the same). Writes benchmarks/results/distributed_xgboost.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
from moto import mock_aws
from sklearn.metrics import roc_auc_score

from local_runner import executors
from local_runner.executors import LocalProgram
from runtime_scripts import contract

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "runtime_scripts" / "bin"
SAMPLE = ROOT / "runtime_scripts" / "use_cases" / "churn" / "sample_data" / "mlc_churn.csv"
RESULTS = ROOT / "benchmarks" / "results" / "distributed_xgboost.json"
ROWS = 400_000
MIN_ROWS = 1_000
BUCKET = "bench"
HYPERPARAMETERS = {"nthread": "1", "num_round": "200", "early_stopping_rounds": "0",
                   "max_depth": "6", "metrics_frequency": "50"}


def generate(rows: int, target: Path) -> None:
    sample = pd.read_csv(SAMPLE)
    rng = np.random.default_rng(7)
    frame = sample.iloc[rng.integers(0, len(sample), rows)].reset_index(drop=True)
    spec = json.loads((SAMPLE.parent.parent / "dataset.json").read_text())
    for column, kind in spec["features"].items():
        if kind == "numeric":
            spread = float(sample[column].std())
            frame[column] = (frame[column] + rng.normal(0, 0.05 * spread, rows)).clip(lower=0)
    frame["customer_id"] = np.arange(1, rows + 1)
    frame.to_csv(target, index=False)


def preprocess(raw: Path, root: Path) -> float:
    inputs = contract.MlPaths(root).processing_input(contract.PROCESSING_INPUT_RAW)
    inputs.mkdir(parents=True)
    (inputs / "data.csv").symlink_to(raw)
    env = {**os.environ, "ML_ROOT": str(root), "PYTHON": sys.executable, "ML_USE_CASE": "churn",
           contract.TRAIN_SHARDS_ENV: "2"}
    started = time.perf_counter()
    result = subprocess.run([str(BIN / "process"), "preprocess"], env=env, capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"preprocess failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def training_request(name: str, count: int, *, bucket: str = BUCKET,
                     hyperparameters: dict[str, str] = HYPERPARAMETERS,
                     max_runtime_seconds: int = 3600) -> dict:
    """A CreateTrainingJob request for churn's script on `count` instances, the train channel
    under s3://<bucket>/data/ sharded across them (the test of the same path uses it too)."""
    def channel(name: str, distribution: str) -> dict:
        return {"ChannelName": name, "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/data/{name}/",
            "S3DataDistributionType": distribution}}}

    return {"TrainingJobName": name, "HyperParameters": hyperparameters,
            "AlgorithmSpecification": {"TrainingImage": "local", "TrainingInputMode": "File"},
            "InputDataConfig": [channel("train", "ShardedByS3Key"),
                                channel("validation", "FullyReplicated"),
                                channel("transform", "FullyReplicated")],
            "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/models/"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": count,
                               "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime_seconds},
            "Environment": {"ML_USE_CASE": "churn"}}


def auc(s3, artifacts: str, test: np.ndarray, into: Path) -> float:
    import xgboost

    into.mkdir()
    s3.download_file(BUCKET, artifacts.split(f"{BUCKET}/", 1)[1], str(into / "model.tar.gz"))
    with tarfile.open(into / "model.tar.gz") as tar:
        tar.extractall(into, filter="data")
    booster = xgboost.Booster(model_file=str(into / contract.MODEL_FILE))
    return float(roc_auc_score(test[:, 0], booster.predict(xgboost.DMatrix(test[:, 1:]))))


def main(rows: int = ROWS) -> dict:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, mock_aws():
        work = Path(tmp)
        generate(rows, work / "raw.csv")
        prep_seconds = preprocess(work / "raw.csv", work / "prep")
        splits = contract.MlPaths(work / "prep")
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket=BUCKET,
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        for name in ("train", "validation", "transform"):
            for path in sorted(splits.processing_output(name).iterdir()):
                s3.upload_file(str(path), BUCKET, f"data/{name}/{path.name}")
        test = pd.read_csv(splits.processing_output("test") / contract.SPLIT_FILE, header=None,
                           dtype=np.float32).to_numpy()
        program = LocalProgram(bin_dir=BIN)
        runs = {}
        for instances in (1, 2):  # one after the other: each job has the machine to itself
            started = time.perf_counter()
            outcome = executors.run_training_job(training_request(f"n{instances}", instances), s3,
                                                 program, work / f"n{instances}")
            seconds = time.perf_counter() - started
            if not outcome.completed:
                raise SystemExit(f"{instances} instance(s) failed: {outcome.failure_reason}")
            runs[instances] = {"seconds": round(seconds, 2), "test_auc": round(
                auc(s3, outcome.model_artifacts, test, work / f"model{instances}"), 4)}
    result = {
        "rows": rows, "train_rows_per_instance_at_2": round(rows * 0.7 / 2),
        "hyperparameters": HYPERPARAMETERS, "preprocess_seconds": round(prep_seconds, 1),
        "one_instance": runs[1], "two_instances": runs[2],
        "speed_up": round(runs[1]["seconds"] / runs[2]["seconds"], 2),
        "auc_difference": round(abs(runs[1]["test_auc"] - runs[2]["test_auc"]), 4),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


def _rows(text: str) -> int:
    if not text.replace("_", "").isdigit() or int(text) < MIN_ROWS:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of rows >= {MIN_ROWS}")
    return int(text)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.distributed_xgboost",
        description="Wall time of churn's training job on 1 instance against 2 (2 local `train` "
                    "processes joined by XGBoost's collective, each on its ShardedByS3Key "
                    "shard), on a generated churn-shaped data set; writes "
                    f"{RESULTS.relative_to(ROOT)}.")
    parser.add_argument("rows", nargs="?", type=_rows, default=ROWS,
                        help=f"rows of the generated data set (default {ROWS:,}; at least "
                             f"{MIN_ROWS:,}, so each of 2 shards has rows of both classes)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    main(parse_args().rows)
