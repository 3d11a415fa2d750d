"""What a use case's example notebook runs (runtime_scripts/use_cases/<name>/notebooks/): the
curated data, then a first model built by the very functions the pipeline's jobs run (the
preprocessing job's `preprocess`, the training job's `train`) under the same directory
contract, so that the notebook and the pipeline cannot drift apart.

In SageMaker Studio the data is the curated table, queried through the stage's Athena
workgroup (its coordinates are in ~/.mlplatform/lake.json, written by the domain's lifecycle
configuration); elsewhere it is the use case's bundled sample."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from runtime_scripts import contract
from runtime_scripts.common import checkpoint
from runtime_scripts.common.manifest import USE_CASE_ENV, load_manifest
from runtime_scripts.common.tabular import hyperparameters
from runtime_scripts.common.tabular.dataset import DatasetSpec
from runtime_scripts.common.tabular.preprocess import preprocess
from runtime_scripts.common.tabular.train import Objective, TrainPaths, train

LAKE_FILE = Path.home() / ".mlplatform" / "lake.json"
PARTITION_COLUMNS = ("ingest_date",)  # the ETL's partition key, not a column of the raw data
QUERY_POLL_SECONDS = 1.0


def lake_coordinates(path: Path = LAKE_FILE) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def load_curated(use_case: str, *, limit: int = 100_000, lake: dict | None = None,
                 athena: Any = None, s3: Any = None) -> tuple[pd.DataFrame, str]:
    """The use case's data and where it came from: the curated table through Athena when the
    lake's coordinates are known (`lake`, default ~/.mlplatform/lake.json), else the bundled
    sample. Lake Formation decides which columns a query returns."""
    lake = lake if lake is not None else lake_coordinates()
    manifest = load_manifest(use_case)
    if lake is None:
        path = manifest.path(manifest.sample_data)
        return pd.read_csv(path), f"bundled sample {path.name}"
    import boto3

    athena = athena or boto3.client("athena", region_name=lake["region"])
    s3 = s3 or boto3.client("s3", region_name=lake["region"])
    table = f'"{lake["glue_database"]}"."{lake["tables"][use_case]}"'
    started = athena.start_query_execution(QueryString=f"SELECT * FROM {table} LIMIT {limit}",
                                           WorkGroup=lake["athena_workgroup"])
    while True:
        execution = athena.get_query_execution(
            QueryExecutionId=started["QueryExecutionId"])["QueryExecution"]
        state = execution["Status"]["State"]
        if state not in ("QUEUED", "RUNNING"):
            break
        time.sleep(QUERY_POLL_SECONDS)
    if state != "SUCCEEDED":
        raise RuntimeError(f"Athena query of {table} {state}: "
                           f"{execution['Status'].get('StateChangeReason', '')}")
    bucket, _, key = execution["ResultConfiguration"]["OutputLocation"][5:].partition("/")
    frame = pd.read_csv(s3.get_object(Bucket=bucket, Key=key)["Body"])
    return frame.drop(columns=[c for c in PARTITION_COLUMNS if c in frame]), f"Athena {table}"


def first_model(use_case: str, data: pd.DataFrame, workdir: Path,
                **overrides: str) -> dict[str, Any]:
    """Preprocess `data` and train on it exactly as the pipeline's jobs do (`overrides`:
    hyperparameters over the manifest's, e.g. num_round="30"). Returns both jobs' summaries."""
    os.environ[USE_CASE_ENV] = use_case  # what every job's request sets
    manifest = load_manifest(use_case)
    spec = DatasetSpec.load(manifest.path(manifest.dataset_spec))
    paths = contract.MlPaths(Path(workdir))
    raw = paths.processing_input(contract.PROCESSING_INPUT_RAW)
    raw.mkdir(parents=True, exist_ok=True)
    data.to_csv(raw / "data.csv", index=False)
    prepared = preprocess(paths, spec)

    # The training job's channels are the preprocessing job's outputs.
    output = paths.processing_output
    train_paths = TrainPaths(
        train=output(contract.PROCESSING_OUTPUT_TRAIN),
        validation=output(contract.PROCESSING_OUTPUT_VALIDATION),
        transform=output(contract.PROCESSING_OUTPUT_TRANSFORM),
        model=paths.model, output_data=paths.output_data, checkpoints=paths.checkpoints,
        hyperparameters=paths.hyperparameters, failure=paths.failure)
    objective = Objective.of(manifest)
    hp = hyperparameters.parse({**manifest.hyperparameters, **overrides}, objective.task)
    objective.check(hp)
    store = checkpoint.Store.for_job(paths.checkpoints, None, tuning_trial=False)
    return {"preprocess": prepared, "train": train(train_paths, hp, objective, store)}
