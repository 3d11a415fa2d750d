"""Split job (`process split`): the use case's data dealt into K folds for cross-validation.

Inputs (processing job layout, root redirectable with ML_ROOT):
    processing/input/raw/**.csv|.parquet   the data, as the preprocessing job reads it
    processing/input/config/*.json         optional dataset spec (else the use case's bundled)
Outputs:
    folds/<k>/train/data.csv       every row not held out in fold k (all input columns, header)
    folds/<k>/holdout/data.csv     the rows fold k holds out
    folds/<k>/config/dataset.json  the dataset spec the fold's preprocessing reads
    folds/folds.json               the fold list: the distributed Map's items, in fold order
    folds/data_profile.json        rows, class counts, groups (also under `profile`, where the
                                   next execution's first states read it: data_profile.py)
`--folds K --seed S [--group-column C] [--data-uri S3_URI]`. Rows without a target and exact
duplicates are dropped first, as preprocessing drops them, so that no row is both trained on and
held out.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from runtime_scripts import contract
from runtime_scripts.common.jobio import (
    JobError,
    atomic_outputs,
    find_data_files,
    read_table,
    run_job,
)
from runtime_scripts.common.resampling.data_profile import profile_of
from runtime_scripts.common.resampling.folds import FoldError, assign_folds
from runtime_scripts.common.tabular.dataset import DatasetSpec, bundled_spec_path
from runtime_scripts.common.tabular.preprocess import as_text, load_spec
from runtime_scripts.common.tabular.task import task_for

log = logging.getLogger("resampling.split")
PROFILE_OUTPUT = "profile"


def read_rows(raw_dir: Path, spec: DatasetSpec, group_column: str | None) -> pd.DataFrame:
    """Every input file's rows, all their columns; the spec's columns (and the group column)
    must be in each file."""
    frames, problems = [], []
    needed = [spec.target, *spec.features, *([group_column] if group_column else [])]
    for path in find_data_files(raw_dir):
        frame = read_table(path)
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            problems.append(f"{path.name}: columns missing: {', '.join(missing)}")
        frames.append(frame)
    if problems:
        raise JobError(f"input does not match dataset spec {spec.name!r}: {'; '.join(problems)}")
    data = pd.concat(frames, ignore_index=True)
    target = data[spec.target]
    keep = target.notna() & (target.astype(str).str.strip() != "")
    keep &= ~data[[spec.target, *spec.features]].duplicated(keep="first")
    log.info("read %d rows; %d without a target or duplicated are left out", len(data),
             int((~keep).sum()))
    data = data[keep].reset_index(drop=True)
    if data.empty:
        raise JobError(f"no rows with a {spec.target!r} value under {raw_dir}")
    return data


def spec_file(paths: contract.MlPaths) -> Path:
    channel = paths.processing_input(contract.PROCESSING_INPUT_CONFIG)
    found = sorted(channel.rglob("*.json")) if channel.is_dir() else []
    return found[0] if found else bundled_spec_path()


def split(paths: contract.MlPaths, folds: int, seed: int, group_column: str | None,
          data_s3_uri: str | None = None) -> dict:
    spec = load_spec(None, paths)
    group_column = group_column or spec.group_column
    if group_column and group_column not in spec.columns:
        raise JobError(f"cross_validation.group_column {group_column!r} is not a column of "
                       f"dataset spec {spec.name!r} (allowed: {', '.join(spec.columns)})")
    data = read_rows(paths.processing_input(contract.PROCESSING_INPUT_RAW), spec, group_column)
    task = task_for(spec.problem_type)
    labels = as_text(data[spec.target]).to_numpy() if task.stratified else None
    groups = as_text(data[group_column]).to_numpy() if group_column else None
    try:
        fold_of = assign_folds(folds, seed, n_rows=len(data), labels=labels, groups=groups)
    except FoldError as exc:
        raise JobError(str(exc)) from None
    profile = profile_of(len(data), labels, groups, data_s3_uri, group_column)
    items = []
    targets = {contract.PROCESSING_OUTPUT_FOLDS:
               paths.processing_output(contract.PROCESSING_OUTPUT_FOLDS),
               PROFILE_OUTPUT: paths.processing_output(PROFILE_OUTPUT)}
    with atomic_outputs(targets) as out:
        root = out[contract.PROCESSING_OUTPUT_FOLDS]
        spec_text = spec_file(paths).read_text()
        for fold in range(folds):
            held = fold_of == fold
            for name, rows in ((contract.FOLD_TRAIN_DIR, ~held), (contract.FOLD_HOLDOUT_DIR, held)):
                (root / str(fold) / name).mkdir(parents=True)
                data[rows].to_csv(root / str(fold) / name / contract.SPLIT_FILE, index=False)
            (root / str(fold) / contract.FOLD_CONFIG_DIR).mkdir()
            (root / str(fold) / contract.FOLD_CONFIG_DIR / contract.DATASET_SPEC_FILE
             ).write_text(spec_text)
            item = {"fold": fold, "train_rows": int((~held).sum()),
                    "holdout_rows": int(held.sum())}
            if labels is not None:
                item["holdout_classes"] = profile_of(int(held.sum()), labels[held],
                                                     None)["class_counts"]
            items.append(item)
        (root / contract.FOLD_LIST_FILE).write_text(json.dumps(items))
        for target in (root, out[PROFILE_OUTPUT]):
            (target / contract.DATA_PROFILE_FILE).write_text(json.dumps(profile))
    return {"dataset": spec.name, "folds": items, "group_column": group_column, "seed": seed,
            "profile": profile}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="process split", description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--group-column", default=None)
    parser.add_argument("--data-uri", default=None,
                        help="where the data was read from: the profile records it")
    args = parser.parse_args(argv)
    paths = contract.MlPaths.from_env()

    def job() -> None:
        print(json.dumps(split(paths, args.folds, args.seed, args.group_column or None,
                                     args.data_uri)),
              flush=True)

    return run_job(job, paths.exit_message, "split")


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
