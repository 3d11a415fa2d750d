"""Preprocessing job: raw tables -> validated, cleaned, encoded train/validation/test splits.

Inputs (processing job layout, root redirectable with ML_ROOT):
    processing/input/raw/**.csv|.parquet   one or many files, read recursively, concatenated
    processing/input/config/dataset.json   optional dataset spec (else `--dataset-spec`, else the
                                           use case's bundled spec)
    processing/input/holdout/**.csv|.parquet  optional: the test split as given (a
                                           cross-validation fold's held-out rows); the raw rows
                                           are then split into train and validation only
Outputs, published together only when every one of them was written:
    train/data.csv, validation/data.csv, test/data.csv   header-less, label first (0/1, or the
                                                         target value of a regression), then the
                                                         encoded features (XGBoost CSV layout);
                                 with ML_TRAIN_SHARDS=N > 1 the train split is N files of
                                 shuffled rows, train/data-00000.csv ... (distributed training);
                                 with ML_TRAINING_INPUT_FORMAT=application/x-recordio-protobuf
                                 (a built-in algorithm's input) train/data.rec and
                                 validation/data.rec instead: RecordIO-protobuf, the same rows
    test/raw.csv                 header-ful raw feature columns + target, for evaluation and
                                 batch inference of raw rows
    baseline/baseline.csv        header-ful sample of raw train feature rows for Model Monitor
    transform/transform.json     the FittedTransform, fitted on the train split only
    transform/feature_schema.json
  with `--automl-splits` also (the training pipeline's AutoML branch, contract.AUTOML_SPLITS):
    automl/train/data.csv, automl/validation/data.csv   header-ful raw feature columns + target
    automl/test/data.csv         header-less, the target first, then the raw feature columns
Prints one JSON summary line (row counts, duplicates dropped) to stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from runtime_scripts import contract
from runtime_scripts.common import recordio_protobuf
from runtime_scripts.common.jobio import (
    JobError,
    atomic_outputs,
    find_data_files,
    read_table,
    run_job,
)
from runtime_scripts.common.manifest import current_use_case
from runtime_scripts.common.tabular.cells import (
    CellError,
    categorical_value,
    numeric_value,
    parse_numeric,
    shown,
)
from runtime_scripts.common.tabular.dataset import DatasetSpec, SplitRatios
from runtime_scripts.common.tabular.task import Task, task_for
from runtime_scripts.common.tabular.transform import FittedTransform

log = logging.getLogger("tabular.preprocess")
OUTPUTS = (
    contract.PROCESSING_OUTPUT_TRAIN,
    contract.PROCESSING_OUTPUT_VALIDATION,
    contract.PROCESSING_OUTPUT_TEST,
    contract.PROCESSING_OUTPUT_BASELINE,
    contract.PROCESSING_OUTPUT_TRANSFORM,
)


def load_spec(cli_path: str | None, paths: contract.MlPaths) -> DatasetSpec:
    """`--dataset-spec`, else the one JSON file of the `config` input, else the bundled spec.
    SageMaker stages an S3 object under its own name (`specs/subscriptions.json` arrives as
    config/subscriptions.json), so the file is found by its suffix, not by a fixed name."""
    path = Path(cli_path) if cli_path else spec_file(paths)
    spec = DatasetSpec.load(path)
    manifest = current_use_case()
    spec.check_problem_type(manifest.problem_type, manifest.name)
    log.info("dataset spec %r from %s", spec.name, path or "the bundled default")
    return spec


def spec_file(paths: contract.MlPaths) -> Path | None:
    """The one JSON file of the `config` input, or None without that input."""
    channel = paths.processing_input(contract.PROCESSING_INPUT_CONFIG)
    if not channel.is_dir():
        return None
    found = sorted(f for f in channel.rglob("*.json") if f.is_file())
    if len(found) != 1:
        names = ", ".join(str(f.relative_to(channel)) for f in found) or "none"
        raise JobError(f"the dataset spec input must hold one JSON file, found {names}: "
                       "point data.dataset_spec_s3_uri at the spec's full key")
    return found[0]


def read_raw(raw_dir: Path, spec: DatasetSpec) -> tuple[pd.DataFrame, int, list[str]]:
    """All input files concatenated; every file must carry the target and feature columns.
    Also the record layout: the first file's columns without the target (see `feature_schema`)."""
    files = find_data_files(raw_dir)
    required = [spec.target, *spec.feature_names]
    frames, problems = [], []
    for path in files:
        frame = read_table(path)
        name = path.relative_to(raw_dir) if path != raw_dir else path.name
        if spec.target not in frame.columns:
            problems.append(f"{name}: target column {spec.target!r} is missing")
        missing = [c for c in spec.feature_names if c not in frame.columns]
        if missing:
            problems.append(f"{name}: feature columns missing: {', '.join(missing)}")
        extra = sorted(set(frame.columns) - set(required) - set(spec.id_columns))
        if extra:
            log.info("%s: ignoring columns not in the spec: %s", name, ", ".join(extra))
        frames.append(frame)
    if problems:
        raise JobError(
            f"input does not match dataset spec {spec.name!r}: {'; '.join(problems)}. "
            "Fix the data or the spec's target/features"
        )
    # Only the spec's columns go on; id columns are dropped here and never reach the model.
    data = pd.concat([f[required] for f in frames], ignore_index=True)
    if data.empty:
        raise JobError(f"the {len(files)} input file(s) under {raw_dir} hold no data rows")
    log.info("read %d rows from %d file(s)", len(data), len(files))
    layout = [str(c) for c in frames[0].columns if c != spec.target]
    return data, len(files), layout


def as_text(values: pd.Series) -> pd.Series:
    """Categorical cells as their level text by the cell policy (`cells.py`), as the inference
    server reads them: 415.0 from Parquet becomes '415', ' KS ' becomes 'KS'."""
    return pd.Series([categorical_value(v) for v in values.tolist()], index=values.index,
                     dtype=object)


def column_kinds(spec: DatasetSpec) -> dict[str, str]:
    """Every column preprocessing reads, with the kind its cells are read as: a regression's
    target is numeric, a classification's categorical."""
    return {**spec.features, spec.target: task_for(spec.problem_type).target_kind}


def cell_problems(data: pd.DataFrame, spec: DatasetSpec,
                  ) -> tuple[dict[str, np.ndarray], list[str]]:
    """Numeric columns as floats (NaN: missing), and per column whose cells the policy rejects
    (`cells.py`), '<column> (<count> rows, e.g. <reason>)'."""
    numeric, problems = {}, []
    for name, kind in column_kinds(spec).items():
        cells = data[name].tolist()
        if kind == "numeric":
            numeric[name], bad = parse_numeric(cells)
            if bad is None:
                continue
        read = numeric_value if kind == "numeric" else categorical_value
        rejected = []
        for value in cells:
            try:
                read(value)
            except CellError as exc:
                rejected.append(exc)
        if rejected:
            first = rejected[0]
            problems.append(f"{name} ({len(rejected)} rows, e.g. {shown(first.value)}: "
                            f"{first.reason})")
    return numeric, problems


def validate_and_type(data: pd.DataFrame, spec: DatasetSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(raw, typed): raw keeps numeric cells as given; typed has float64 numerics.

    Collects every problem before failing so one run reports all offending columns.
    """
    raw, typed = data.copy(), pd.DataFrame(index=data.index)
    problems = []
    empty = [c for c in data.columns if data[c].isna().all()]
    if empty:
        problems.append(f"columns with no values at all: {', '.join(empty)}")
    numeric, rejected = cell_problems(data, spec)
    if rejected:
        problems.append("columns with values the cell policy rejects (non-numeric, infinite, "
                        f"NUL bytes; see runtime_scripts/common/tabular/cells.py): "
                        f"{'; '.join(rejected)}")
        raise JobError(f"input does not match dataset spec {spec.name!r}: {'; '.join(problems)}")
    for name, kind in column_kinds(spec).items():
        if kind == "numeric":
            typed[name] = numeric[name]
        else:
            raw[name] = typed[name] = as_text(data[name])
    if spec.target not in empty:
        problems += task_for(spec.problem_type).target_problems(typed[spec.target], spec)
    if problems:
        raise JobError(f"input does not match dataset spec {spec.name!r}: {'; '.join(problems)}")
    return raw, typed[data.columns]


def split_rows(y: np.ndarray, ratios: SplitRatios, task: Task) -> tuple[np.ndarray, ...]:
    """Seeded train/validation/test row indices; a classification keeps its class balance in
    each split (stratified), a regression's rows are drawn at random.

    scikit-learn's train_test_split, the split most SageMaker examples use: test first, then
    validation out of the rest, both seeded from the spec.
    """
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))
    try:
        rest, test = train_test_split(
            rows, test_size=ratios.test, stratify=y if task.stratified else None,
            random_state=ratios.seed,
        )
        train, validation = train_test_split(
            rest, test_size=ratios.validation / (ratios.train + ratios.validation),
            stratify=y[rest] if task.stratified else None, random_state=ratios.seed,
        )
    except ValueError as exc:
        kind = f"{int(y.sum())} positive" if task.stratified else task.problem_type
        raise JobError(
            f"cannot split {len(y)} rows ({kind}) into {'stratified ' * task.stratified}"
            f"train/validation/test: {exc}. Provide more rows"
            f"{' of each class' * task.stratified}"
        ) from None
    return tuple(np.sort(part) for part in (train, validation, test))


def split_around_holdout(y: np.ndarray, held_out: np.ndarray, ratios: SplitRatios,
                         task: Task) -> tuple[np.ndarray, ...]:
    """Train/validation row indices out of the rows that are not `held_out`, in the spec's
    train:validation proportion (stratified like `split_rows`); the held-out rows are the test
    split as they are."""
    from sklearn.model_selection import train_test_split

    rest = np.flatnonzero(~held_out)
    try:
        train, validation = train_test_split(
            rest, test_size=ratios.validation / (ratios.train + ratios.validation),
            stratify=y[rest] if task.stratified else None, random_state=ratios.seed)
    except ValueError as exc:
        raise JobError(f"cannot split {len(rest)} rows into train/validation: {exc}. Provide "
                       f"more rows{' of each class' * task.stratified}") from None
    if not held_out.any():
        raise JobError("the holdout input holds no rows with a target: it is the test split")
    return tuple(np.sort(part) for part in (train, validation, np.flatnonzero(held_out)))


def write_split(path: Path, labels: np.ndarray, features: np.ndarray) -> None:
    frame = pd.DataFrame(features)
    frame.insert(0, "label", labels)
    # %.9g round-trips float32 exactly: training reads back the very values evaluation encodes.
    frame.to_csv(path, header=False, index=False, float_format="%.9g")


def feature_schema(spec: DatasetSpec, record_columns: list[str]) -> dict[str, object]:
    """What the model serves. `record_columns` is the training data's own layout without the
    target: a batch of new rows in that layout (header, ids, even columns the spec ignores) is
    scored as it is, and its predictions carry its id columns. A classification's schema also
    names its classes (the task's `schema_keys`)."""
    task = task_for(spec.problem_type)
    return {
        "input_columns": spec.feature_names,
        "features": dict(spec.features),
        "target": spec.target,
        **{key: getattr(spec, key) for key in task.schema_keys},
        "id_columns": list(spec.id_columns),
        "record_columns": record_columns,
    }


def write_shards(folder: Path, labels: np.ndarray, features: np.ndarray, shards: int,
                 seed: int) -> None:
    """The train split as `shards` files of shuffled rows (each instance of a ShardedByS3Key
    channel receives whole files: shuffled, every shard is a sample of the whole)."""
    if len(labels) < shards:
        raise JobError(f"{len(labels)} training rows cannot fill {shards} shards (one per "
                       "training instance): train on fewer instances")
    order = np.random.default_rng(seed).permutation(len(labels))
    for index, rows in enumerate(np.array_split(order, shards)):
        rows = np.sort(rows)
        write_split(folder / contract.shard_file(index), labels[rows], features[rows])


def train_shards(env: dict[str, str]) -> int:
    text = env.get(contract.TRAIN_SHARDS_ENV) or "1"
    if not text.isdigit() or int(text) < 1:
        raise JobError(f"{contract.TRAIN_SHARDS_ENV}={text!r}: give the number of training "
                       "instances, a whole number >= 1")
    return int(text)


def write_automl_splits(folder: Path, raw: pd.DataFrame, parts: dict[str, np.ndarray],
                        spec: DatasetSpec) -> None:
    """The same rows as the encoded splits, raw: what Autopilot trains on (by column name, the
    target among them) and what its candidate's batch transform scores."""
    columns = [*spec.feature_names, spec.target]
    for split in contract.AUTOML_SPLITS:
        rows = raw.iloc[parts[split]]
        (folder / split).mkdir()
        if split == contract.PROCESSING_OUTPUT_TEST:
            rows[[spec.target, *spec.feature_names]].to_csv(
                folder / split / contract.SPLIT_FILE, header=False, index=False)
        else:
            rows[columns].to_csv(folder / split / contract.SPLIT_FILE, index=False)


def preprocess(paths: contract.MlPaths, spec: DatasetSpec,
               automl_splits: bool = False) -> dict[str, object]:
    task = task_for(spec.problem_type)
    shards = train_shards(dict(os.environ))
    data, n_files, layout = read_raw(paths.processing_input(contract.PROCESSING_INPUT_RAW), spec)
    holdout_dir = paths.processing_input(contract.PROCESSING_INPUT_HOLDOUT)
    given = holdout_dir.is_dir() and any(holdout_dir.iterdir())
    held = np.zeros(len(data), dtype=bool)
    if given:
        holdout, _, _ = read_raw(holdout_dir, spec)
        held = np.concatenate([held, np.ones(len(holdout), dtype=bool)])
        data = pd.concat([data, holdout], ignore_index=True)
    raw, typed = validate_and_type(data, spec)
    missing_target = typed[spec.target].isna()
    # Duplicates are dropped within the training rows; held-out rows are scored as given.
    duplicated = typed.duplicated(keep="first") & ~missing_target & ~held
    keep = ~(missing_target | duplicated)
    log.info("dropped %d duplicate rows and %d rows without a target",
             int(duplicated.sum()), int(missing_target.sum()))
    raw, typed = raw[keep].reset_index(drop=True), typed[keep].reset_index(drop=True)
    held = held[keep.to_numpy()]
    y = task.encode_target(typed[spec.target].tolist(), spec.positive_label, spec.target)
    rows = (split_around_holdout(y, held, spec.split, task) if given
            else split_rows(y, spec.split, task))
    parts = dict(zip(OUTPUTS[:3], rows, strict=True))
    transform = FittedTransform.fit(typed.iloc[parts[contract.PROCESSING_OUTPUT_TRAIN]], spec)

    names = (*OUTPUTS, contract.PROCESSING_OUTPUT_AUTOML) if automl_splits else OUTPUTS
    targets = {name: paths.processing_output(name) for name in names}
    with atomic_outputs(targets) as out:
        if automl_splits:
            write_automl_splits(out[contract.PROCESSING_OUTPUT_AUTOML], raw, parts, spec)
        for name, rows in parts.items():
            if name == contract.PROCESSING_OUTPUT_TRAIN and shards > 1:
                write_shards(out[name], y[rows], transform.transform_frame(typed.iloc[rows]),
                             shards, spec.split.seed)
                continue
            if recordio_protobuf.writes_recordio(os.environ, name):
                # What a built-in algorithm trained on RecordIO-protobuf reads: the same rows,
                # float32 features and the label in each Record, and no CSV beside it (the
                # algorithm reads every object of the channel in the channel's content type).
                recordio_protobuf.write(out[name] / contract.RECORDIO_SPLIT_FILE,
                                        np.asarray(transform.transform_frame(typed.iloc[rows]),
                                                   dtype=np.float64), y[rows])
                continue
            write_split(out[name] / contract.SPLIT_FILE, y[rows],
                        transform.transform_frame(typed.iloc[rows]))
        test_rows = raw.iloc[parts[contract.PROCESSING_OUTPUT_TEST]]
        test_rows[[*spec.feature_names, spec.target]].to_csv(
            out[contract.PROCESSING_OUTPUT_TEST] / contract.RAW_TEST_FILE, index=False)
        train_raw = raw.iloc[parts[contract.PROCESSING_OUTPUT_TRAIN]][spec.feature_names]
        size = min(spec.baseline_rows, len(train_raw))
        pick = np.sort(np.random.default_rng(spec.split.seed).choice(
            len(train_raw), size=size, replace=False))
        train_raw.iloc[pick].to_csv(
            out[contract.PROCESSING_OUTPUT_BASELINE] / contract.BASELINE_FILE, index=False)
        transform.save(out[contract.PROCESSING_OUTPUT_TRANSFORM] / contract.TRANSFORM_FILE)
        (out[contract.PROCESSING_OUTPUT_TRANSFORM] / contract.FEATURE_SCHEMA_FILE).write_text(
            json.dumps(feature_schema(spec, layout), indent=2))
    return {
        "dataset": spec.name,
        "input_files": n_files,
        "rows_read": len(data),
        "rows_without_target": int(missing_target.sum()),
        "duplicates_dropped": int(duplicated.sum()),
        "rows_used": len(y),
        "splits": {name: {"rows": len(rows), **task.split_summary(y[rows])}
                   for name, rows in parts.items()},
        "baseline_rows": size,
        "encoded_features": transform.width,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="process preprocess", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset-spec", help="dataset spec JSON (overrides the config input)")
    parser.add_argument("--automl-splits", action="store_true",
                        help=f"also write the raw splits AutoML reads to "
                             f"{contract.PROCESSING_OUTPUT_AUTOML}/")
    args = parser.parse_args(argv)
    paths = contract.MlPaths.from_env()

    def job() -> None:
        summary = preprocess(paths, load_spec(args.dataset_spec, paths), args.automl_splits)
        print(json.dumps(summary), flush=True)

    return run_job(job, paths.exit_message, "preprocess")


if __name__ == "__main__":
    sys.exit(main())
