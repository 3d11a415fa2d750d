"""Build a churn model directory in-process from the committed sample data.

The serving benchmark and the serving tests need a model directory in the layout training writes
(`runtime_scripts.contract`), without running the training pipeline: this fits the real
`FittedTransform` on a seeded split of the real sample data and trains a small XGBoost booster.
It takes about a second.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost

from runtime_scripts import contract
from runtime_scripts.common.tabular import preprocess
from runtime_scripts.common.tabular.dataset import DatasetSpec
from runtime_scripts.common.tabular.transform import FittedTransform
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN

CHURN_SPEC = CHURN.path(CHURN.dataset_spec)

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = CHURN.path(CHURN.sample_data)

# Close to what a tuned churn model looks like: a few hundred shallow trees.
PARAMS = {
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "tree_method": "hist",
    "max_depth": 5,
    "eta": 0.1,
    "subsample": 0.9,
    "seed": 7,
    "nthread": 1,  # OpenMP threads spin badly on a busy 2-core machine: 0.3 s vs 8 s here
}
NUM_ROUNDS = 200


@dataclass(frozen=True)
class SampleModel:
    model_dir: Path
    holdout: pd.DataFrame  # raw rows (strings, as read from CSV) the model was not trained on
    spec: DatasetSpec


def read_sample(path: Path = SAMPLE_DATA) -> pd.DataFrame:
    # Strings throughout: the server receives text, so the raw tokens are what it must score.
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def feature_schema(spec: DatasetSpec, record_columns: list[str], threshold: float = 0.5) -> dict:
    """The schema preprocessing writes, plus the threshold training adds."""
    return {**preprocess.feature_schema(spec, record_columns), "decision_threshold": threshold}


def build_sample_model(model_dir: Path, rounds: int = NUM_ROUNDS) -> SampleModel:
    """Write MODEL_FILE, TRANSFORM_FILE and FEATURE_SCHEMA_FILE into `model_dir`."""
    spec = DatasetSpec.load(CHURN_SPEC)
    frame = read_sample()
    rng = np.random.default_rng(spec.split.seed)
    is_train = rng.random(len(frame)) < spec.split.train
    train, holdout = frame[is_train], frame[~is_train].reset_index(drop=True)
    transform = FittedTransform.fit(train, spec)
    labels = (train[spec.target] == spec.positive_label).to_numpy(dtype=np.float32)
    booster = xgboost.train(
        PARAMS, xgboost.DMatrix(transform.transform_frame(train), label=labels), rounds
    )
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model_dir / contract.MODEL_FILE))
    transform.save(model_dir / contract.TRANSFORM_FILE)
    schema = feature_schema(spec, [c for c in frame.columns if c != spec.target])
    (model_dir / contract.FEATURE_SCHEMA_FILE).write_text(json.dumps(schema, indent=2))
    return SampleModel(model_dir=model_dir, holdout=holdout, spec=spec)
