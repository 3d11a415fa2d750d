"""One small run of the use case's jobs, shared by its tests: a generated sample (two products,
four classes, 32-pixel images plus one corrupt and one too-small file), preprocessed to 24
pixels in several shards, trained for two epochs, evaluated. Each job runs through bin/ as the
image runs it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime_scripts import contract
from runtime_scripts.use_cases.defects import generate
from runtime_scripts.use_cases.testing import (
    make_model_archive,
    ok,
    run_entry,
    stage_evaluation,
    stage_training,
)

USE_CASE = "defects"
SPEC = {"name": "tiny", "image": {"size": 24, "channels": 3}, "min_side": 8,
        "max_invalid_fraction": 0.1, "shard_size": 16, "baseline_images": 20,
        "split": {"train": 0.6, "validation": 0.2, "test": 0.2, "seed": 3}}
HYPERPARAMETERS = {"epochs": "2", "batch_size": "16", "width": "8", "threads": "1",
                   "learning_rate": "0.01", "patience": "0"}
PRODUCTS = ("fabric", "metal")
PER_CLASS = 10


@dataclass
class Run:
    root: Path
    raw: Path
    preprocess: object
    train: object
    evaluate: object

    @property
    def ml(self) -> contract.MlPaths:
        return contract.MlPaths(self.root)

    @property
    def summary(self) -> dict:
        return json.loads(self.preprocess.stdout.strip().splitlines()[-1])

    @property
    def evaluation(self) -> dict:
        folder = self.ml.processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
        return json.loads((folder / contract.EVALUATION_FILE).read_text())


def write_spec(root: Path, spec: dict) -> None:
    config = contract.MlPaths(root).processing_input(contract.PROCESSING_INPUT_CONFIG)
    config.mkdir(parents=True, exist_ok=True)
    (config / "dataset.json").write_text(json.dumps(spec))


@pytest.fixture(scope="session")
def run(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("defects")
    ml = contract.MlPaths(root)
    raw = ml.processing_input(contract.PROCESSING_INPUT_RAW)
    generate.write(raw, size=32, per_class=PER_CLASS, products=PRODUCTS, seed=1,
                   corrupt=1, tiny=1)
    write_spec(root, SPEC)
    preprocess = ok(run_entry("process", "preprocess", root=root, use_case=USE_CASE))
    stage_training(root, root, HYPERPARAMETERS)
    train = ok(run_entry("train", root=root, use_case=USE_CASE))
    archive = make_model_archive(ml.model, root / "staged-model")
    stage_evaluation(root, archive, ml.processing_output(contract.PROCESSING_OUTPUT_TEST))
    evaluate = ok(run_entry("process", "evaluate", "--gate", "accuracy>=0.0", "--gate",
                            "served_accuracy_drop<=1", "--latency-repeats", "3", root=root,
                            use_case=USE_CASE))
    return Run(root, raw, preprocess, train, evaluate)
