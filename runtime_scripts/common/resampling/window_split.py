"""Window split job (`process window-split`): the raw data cut into rolling-origin backtest windows.

Inputs (processing job layout, root redirectable with ML_ROOT):
    processing/input/raw/**.csv|.parquet   the use case's raw data, as preprocessing reads it
    processing/input/config/*.json         optional dataset spec (else the bundled one); its
                                           `time` key says when each row happened
Outputs, published together:
    plan/plan.json          the request, the data's time range, every window (periods, rows,
                            the baseline's metrics)
    plan/items.json         [{"index": k, "cutoff": ...}, ...]: the Map state's items
    plan/window-<k>.json    window k's manifest (its entry of plan.json)
    profile/profile.json    the data's files, sizes, periods and rows per period (what the
                            backtest's first state checks the next request on this data with)
    spec/dataset.json       the dataset spec it used: what each window's preprocessing reads
    windows/<k>/train/rows.csv   the raw rows window k trains on: periods strictly before its
                                 cutoff less the gap (all columns, as read)
    windows/<k>/test/raw.csv     the raw rows it is evaluated on: the horizon from the cutoff
                                 on, in time order (what `process evaluate` scores)
Rows whose time cannot be read fail the job (a row that cannot be placed in time could leak);
rows without a target are left out and counted. Prints plan.json's summary line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from runtime_scripts.common.manifest import current_use_case
from runtime_scripts.common.resampling import baselines, periods, windows
from runtime_scripts.common.resampling.row_periods import period_numbers
from runtime_scripts.common.tabular.dataset import DatasetSpec
from runtime_scripts.common.tabular.evaluate import metrics_of
from runtime_scripts.common.tabular.preprocess import load_spec, spec_file
from runtime_scripts.common.tabular.task import task_for
from runtime_scripts.common.tabular.time_spec import TimeSpec, TimeSpecError

log = logging.getLogger("resampling.window_split")
PERIOD_COLUMN = "__period__"


@dataclass(frozen=True)
class RowsInTime:
    """What the split needs of a dataset spec: its name, the rows' time, the target whose
    missing values leave a row out (None: every row is kept, for a spec of the use case's own
    format whose preprocessing decides), and the document each window's preprocessing reads."""

    name: str
    time: TimeSpec | None
    target: str | None
    document: dict[str, Any]

    @classmethod
    def of(cls, spec: DatasetSpec) -> RowsInTime:
        return cls(spec.name, spec.time, spec.target, spec.to_dict())


def own_format_spec(cli_path: str | None, paths: contract.MlPaths, time: dict) -> RowsInTime:
    """The use case's own dataset spec (`--dataset-spec`, else the one JSON file of the
    `config` input, else the bundled one), read as a document only; its rows' time is the
    manifest's backtest_setup.time."""
    manifest = current_use_case()
    path = Path(cli_path) if cli_path else spec_file(paths) or manifest.path(
        manifest.dataset_spec)
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise JobError(f"dataset spec {path.name}: {exc}") from None
    if not isinstance(document, dict):
        raise JobError(f"dataset spec {path.name} must be a JSON object")
    name = document.get("name") if isinstance(document.get("name"), str) else manifest.name
    return RowsInTime(name, TimeSpec.from_dict(time), None, document)


def read_rows(raw_dir: Path, spec: DatasetSpec | RowsInTime) -> tuple[pd.DataFrame, int]:
    """Every input row with its period number; (rows, how many had no target)."""
    if spec.time is None:
        raise JobError(f"dataset spec {spec.name!r} has no 'time' key, so its rows have no "
                       "order in time: add e.g. \"time\": {\"column\": \"date\"} to backtest it")
    frames, target = [], () if spec.target is None else (spec.target,)
    for path in find_data_files(raw_dir):
        frame = read_table(path)
        missing = [c for c in (*spec.time.columns, *target) if c not in frame.columns]
        if missing:
            raise JobError(f"{path.name}: columns {', '.join(missing)} are missing (the dataset "
                           f"spec's time {spec.time.describe()}"
                           f"{f' and target {spec.target!r}' if target else ''})")
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    numbers = period_numbers(spec.time, data)
    unreadable = np.isnan(numbers)
    if unreadable.any():
        first = data.loc[unreadable, list(spec.time.columns)].iloc[0].to_dict()
        raise JobError(f"{int(unreadable.sum())} rows have no readable time in "
                       f"{spec.time.describe()} (e.g. {first}): fix or drop them; a row that "
                       "cannot be placed in time cannot be kept out of the past")
    data[PERIOD_COLUMN] = numbers.astype(np.int64)
    if spec.target is None:
        return data, 0
    no_target = data[spec.target].isna()
    return data[~no_target].reset_index(drop=True), int(no_target.sum())


def request_from(args: argparse.Namespace, unit: str) -> windows.WindowRequest:
    try:
        first = None if args.first_cutoff is None else periods.parse(unit, args.first_cutoff)
    except periods.PeriodError as exc:
        raise JobError(f"backtest key 'first_cutoff': {exc}") from None
    return windows.WindowRequest(
        unit=unit, horizon=args.horizon, step=args.step or args.horizon, windows=args.windows,
        first_cutoff=first, training_window=args.training_window,
        training_periods=args.training_periods, gap=args.gap)


def baseline_metrics(name: str | None, train: pd.DataFrame, test: pd.DataFrame,
                     spec: DatasetSpec) -> dict[str, Any] | None:
    """The declared baseline's metrics on one window: predicted from its training rows alone.
    None without one, or when each window's own evaluation scores it (scored_by)."""
    manifest = current_use_case()
    if name is None or manifest.backtest_setup.scored_by == "evaluation":
        return None
    task = task_for(manifest.problem_type)
    model = baselines.baseline(name, manifest.problem_type)
    y_train = task.encode_target(train[spec.target].tolist(), spec.positive_label, spec.target)
    y_test = task.encode_target(test[spec.target].tolist(), spec.positive_label, spec.target)
    p = model.predict(y_train, train[PERIOD_COLUMN].to_numpy(), len(test))
    threshold = task.decision_threshold({}, None)
    return {"name": name, "description": model.description,
            "metrics": metrics_of(manifest, task.score(y_test, p, threshold).metrics)}


def with_time(spec: DatasetSpec | RowsInTime, time: str | None) -> DatasetSpec | RowsInTime:
    """The spec with the request's `time` in place of its own (JSON, as in a dataset spec)."""
    if time is None:
        return spec
    try:
        return dataclasses.replace(spec, time=TimeSpec.from_dict(json.loads(time)))
    except (json.JSONDecodeError, TimeSpecError) as exc:
        raise JobError(f"backtest key 'time': {exc}") from None


def split(paths: contract.MlPaths, spec: DatasetSpec | RowsInTime,
          args: argparse.Namespace) -> dict[str, Any]:
    spec = with_time(spec, args.time)
    tabular = spec if isinstance(spec, DatasetSpec) else None
    spec = RowsInTime.of(spec) if tabular else spec
    data, no_target = read_rows(paths.processing_input(contract.PROCESSING_INPUT_RAW), spec)
    if data.empty:
        raise JobError("the input holds no rows with a target value")
    unit = spec.time.unit
    request = request_from(args, unit)
    first, last = int(data[PERIOD_COLUMN].min()), int(data[PERIOD_COLUMN].max())
    counts = data[PERIOD_COLUMN].value_counts().to_dict()
    try:
        planned = windows.plan(request, first, last, counts)
    except windows.WindowError as exc:
        raise JobError(str(exc)) from None
    columns = [c for c in data.columns if c != PERIOD_COLUMN]
    entries, targets = [], {name: paths.processing_output(name) for name in (
        contract.PROCESSING_OUTPUT_WINDOW_PLAN, contract.PROCESSING_OUTPUT_WINDOWS,
        contract.PROCESSING_OUTPUT_DATA_PROFILE, contract.PROCESSING_OUTPUT_WINDOW_SPEC)}
    profile = data_profile(paths.processing_input(contract.PROCESSING_INPUT_RAW), spec,
                           counts, len(data))
    with atomic_outputs(targets) as out:
        # First: a request refused below is then refused in the first second next time.
        (out[contract.PROCESSING_OUTPUT_DATA_PROFILE] / contract.TIME_PROFILE_FILE).write_text(
            json.dumps(profile, indent=2))
        (out[contract.PROCESSING_OUTPUT_WINDOW_SPEC] / contract.DATASET_SPEC_FILE).write_text(
            json.dumps(spec.document, indent=2))
        for window in planned:
            period = data[PERIOD_COLUMN]
            train = data[(period >= window.train_first) & (period <= window.train_last)]
            test = data[(period >= window.cutoff) & (period <= window.evaluate_last)]
            test = test.sort_values(PERIOD_COLUMN, kind="stable")
            _check_no_leak(window, train, test, request.gap)
            folder = out[contract.PROCESSING_OUTPUT_WINDOWS] / str(window.index)
            (folder / "train").mkdir(parents=True)
            (folder / "test").mkdir()
            train[columns].to_csv(folder / "train" / contract.WINDOW_TRAIN_FILE, index=False)
            test[columns].to_csv(folder / "test" / contract.RAW_TEST_FILE, index=False)
            per_period = test[PERIOD_COLUMN].value_counts().sort_index()
            entry = {
                "index": window.index, **window.labels(unit),
                "rows": {"train": len(train), "evaluate": len(test)},
                # In the order of test/raw.csv: which evaluated rows are how old a forecast.
                "evaluate_rows_per_period": {periods.label(unit, int(p)): int(n)
                                             for p, n in per_period.items()},
                "baseline": baseline_metrics(args.baseline, train, test, tabular)
                            if tabular else None,
            }
            entries.append(entry)
            (out[contract.PROCESSING_OUTPUT_WINDOW_PLAN]
             / contract.window_manifest_file(window.index)).write_text(json.dumps(entry, indent=2))
        plan_doc = {
            "dataset": spec.name, "time": spec.time.to_dict(), "unit": unit,
            "data": {"first": periods.label(unit, first), "last": periods.label(unit, last),
                     "rows": len(data), "rows_without_target": no_target},
            "request": {"horizon": request.horizon, "step": request.step,
                        "windows": len(planned), "training_window": request.training_window,
                        "training_periods": request.training_periods, "gap": request.gap,
                        "first_cutoff": periods.label(unit, planned[0].cutoff)},
            "baseline": args.baseline,
            "windows": entries,
        }
        plan_dir = out[contract.PROCESSING_OUTPUT_WINDOW_PLAN]
        (plan_dir / contract.WINDOW_PLAN_FILE).write_text(json.dumps(plan_doc, indent=2))
        (plan_dir / contract.WINDOW_ITEMS_FILE).write_text(json.dumps(
            [{"index": e["index"], "cutoff": e["cutoff"]} for e in entries]))
    return plan_doc


def data_profile(raw_dir: Path, spec: DatasetSpec, counts: dict[int, int],
                 rows: int) -> dict[str, Any]:
    """What the backtest's first state checks later requests against (pipeline_input/
    data_profile.py): every file under the input as staged from S3 (path below the prefix and
    size: the state machine compares them with a listing), and the rows per period."""
    unit = spec.time.unit
    files = {p.relative_to(raw_dir).as_posix(): p.stat().st_size
             for p in sorted(raw_dir.rglob("*")) if p.is_file()}
    return {"files": files, "rows": rows,
            "time": {"spec": spec.time.to_dict(), "unit": unit,
                     "first": periods.label(unit, min(counts)),
                     "last": periods.label(unit, max(counts)),
                     "rows_per_period": {periods.label(unit, int(p)): int(n)
                                         for p, n in sorted(counts.items())}}}


def _check_no_leak(window: windows.Window, train: pd.DataFrame, test: pd.DataFrame,
                   gap: int) -> None:
    """What the plan promises, checked on the rows themselves: nothing a window trains on
    happened at or after its cutoff less the gap."""
    if len(train) and int(train[PERIOD_COLUMN].max()) >= window.cutoff - gap:
        raise JobError(f"window {window.index} would train on rows from its evaluated future: "
                       "this is a bug in the window split, please report it")
    if len(test) and int(test[PERIOD_COLUMN].min()) < window.cutoff:
        raise JobError(f"window {window.index} would evaluate rows from before its cutoff: "
                       "this is a bug in the window split, please report it")


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(prog="process window-split",
                                    description=__doc__.split("\n")[0])
    parse.add_argument("--horizon", type=int, required=True, help="periods each window evaluates")
    parse.add_argument("--step", type=int, help="periods between cutoffs (default: the horizon)")
    parse.add_argument("--windows", type=int, help="how many windows (default: as many as fit "
                                                   "from --first-cutoff on)")
    parse.add_argument("--first-cutoff", help="the first window's cutoff, e.g. 2008-01")
    parse.add_argument("--training-window", choices=windows.TRAINING_WINDOWS, default="expanding")
    parse.add_argument("--training-periods", type=int, help="a sliding window's length")
    parse.add_argument("--gap", type=int, default=0, help="periods left out before each cutoff")
    parse.add_argument("--time", help="the rows' time as JSON, in place of the dataset spec's "
                                      "(e.g. '{\"column\": \"date\", \"unit\": \"week\"}')")
    parse.add_argument("--baseline", help="the use case's baseline model (baselines.py)")
    parse.add_argument("--dataset-spec", help="dataset spec JSON (overrides the config input)")
    return parse


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    paths = contract.MlPaths.from_env()

    def job() -> None:
        time = current_use_case().backtest_setup.time
        spec = (load_spec(args.dataset_spec, paths) if time is None
                else own_format_spec(args.dataset_spec, paths, time))
        document = split(paths, spec, args)
        print(json.dumps({"data": document["data"], "request": document["request"]}), flush=True)

    return run_job(job, paths.exit_message, "window split")


if __name__ == "__main__":
    sys.exit(main())
