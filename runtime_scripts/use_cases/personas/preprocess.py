"""`process preprocess` for personas: raw customer rows -> the splits K-Means trains on.

Inputs: processing/input/raw (CSV files with the dataset spec's id and feature columns; other
columns are ignored), processing/input/config (optional: another dataset spec).
Outputs (processing/output/<name>/):
    train, validation, test   data.csv: the features standardised with the training split's
                              mean and scale, no header and no label column (the CSV of an
                              unsupervised built-in algorithm: `text/csv;label_size=0`);
                              test also raw.csv, its rows as they came (ids and features);
                              train and validation as data.rec (RecordIO-protobuf, no label)
                              when ML_TRAINING_INPUT_FORMAT asks for it (built-in K-Means)
    baseline                  baseline.csv: raw features of up to `baseline_rows` training rows
    transform                 transform.json (the standardisation) and dataset.json
Prints one JSON line: rows per split, the features, rows dropped for empty values.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

from runtime_scripts import contract
from runtime_scripts.common import recordio_protobuf
from runtime_scripts.common.jobio import JobError, atomic_outputs, run_job
from runtime_scripts.use_cases.personas.bundle import (
    Segmenter,
    dataset_spec,
    feature_matrix,
    read_rows,
)

SPLITS = ("train", "validation", "test")


def split_positions(count: int, fractions: dict, seed: int) -> dict[str, np.ndarray]:
    order = np.random.default_rng(seed).permutation(count)
    train = int(round(count * fractions["train"]))
    validation = int(round(count * fractions["validation"]))
    parts = {"train": order[:train], "validation": order[train:train + validation],
             "test": order[train + validation:]}
    small = [name for name, rows in parts.items() if len(rows) < 2]
    if small:
        raise JobError(f"{count} rows leave the {', '.join(small)} split with fewer than 2 "
                       "rows: give more data or other split fractions")
    return parts


def _csv(matrix: np.ndarray) -> str:
    return "\n".join(",".join(f"{v:.8g}" for v in row) for row in matrix) + "\n"


def preprocess(ml: contract.MlPaths) -> dict:
    spec = dataset_spec(ml.processing_input(contract.PROCESSING_INPUT_CONFIG))
    features = list(spec["features"])
    ids = list(spec.get("id_columns", []))
    rows = read_rows(ml.processing_input(contract.PROCESSING_INPUT_RAW))
    before = len(rows)
    rows = rows.dropna(subset=[c for c in features if c in rows.columns]).reset_index(drop=True)
    raw = feature_matrix(rows, features, "the raw data")
    split = spec.get("split", {"train": 0.7, "validation": 0.15, "test": 0.15, "seed": 42})
    parts = split_positions(len(rows), split, int(split.get("seed", 42)))
    scaling = Segmenter.fit_scaling(raw[parts["train"]], features)
    targets = {name: ml.processing_output(name) for name in (
        *SPLITS, contract.PROCESSING_OUTPUT_BASELINE, contract.PROCESSING_OUTPUT_TRANSFORM)}
    with atomic_outputs(targets) as out:
        for name in SPLITS:
            scaled = scaling.scaled(raw[parts[name]])
            if recordio_protobuf.writes_recordio(os.environ, name):  # built-in, unlabelled
                recordio_protobuf.write(out[name] / contract.RECORDIO_SPLIT_FILE, scaled)
            else:
                (out[name] / contract.SPLIT_FILE).write_text(_csv(scaled))
        rows.iloc[parts["test"]][ids + features].to_csv(out["test"] / contract.RAW_TEST_FILE,
                                                        index=False)
        baseline = rows.iloc[parts["train"][:int(spec.get("baseline_rows", 500))]]
        baseline[features].to_csv(out["baseline"] / contract.BASELINE_FILE, index=False)
        (out["transform"] / contract.TRANSFORM_FILE).write_text(scaling.to_json())
        (out["transform"] / contract.DATASET_SPEC_FILE).write_text(json.dumps(spec, indent=1))
    return {"rows": {name: len(parts[name]) for name in SPLITS}, "features": len(features),
            "dropped_empty": before - len(rows)}


def main() -> int:
    ml = contract.MlPaths.from_env()

    def job() -> None:
        print(json.dumps(preprocess(ml)), flush=True)

    return run_job(job, ml.exit_message, "preprocessing")


if __name__ == "__main__":
    sys.exit(main())
