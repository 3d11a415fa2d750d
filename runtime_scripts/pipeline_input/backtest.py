"""The backtest pipeline's input: schema, cross-field rules and the derived `run` section.

Rolling-origin windows over time-ordered data (runtime_scripts/common/resampling/windows.py):
each window trains the use case's model on the periods before its cutoff and is scored on the
`horizon` periods after it; an aggregate job judges the mean over the windows. Only a use case
whose manifest allows backtesting (`platform.backtesting`) may run one; its dataset spec's
`time` key says when each row happened, `backtest.time` may name another.

Does the request fit the data? This first call reads no data. The window split job writes a
data profile (the data's files and their sizes, its periods and their row counts) beside each
run's plan and under `run.s3.profile`, keyed by the data's location; the state machine lists
the data's files and reads that profile right after this state and asks again (`data` in the
event): when the files are the ones profiled, windows that do not fit are refused then, within
the first second. On the first run of a location (no profile yet) the validator profiles the
data in the raw bucket itself, within bounded reads (first_run_windows.py), and the same check
runs on that profile; when the data changed since, or cannot be profiled cheaply, the split job
refuses such windows with the same message.
"""

from __future__ import annotations

import json
from typing import Any

from .. import contract
from ..common.resampling import periods, windows
from ..common.tabular.time_spec import TimeSpec, TimeSpecError
from . import gate, names, resampling, training, volumes
from .data_profile import current_profile, profile_location
from .errors import Problem, render
from .origin import Origin
from .platform import COMMON
from .schema import AnyValue, Enum, Int, ListOf, Nullable, Obj, S3Uri, Str
from .values import check_tag_value

PIPELINE = "backtest"

SCHEMA = Obj({
    "data": Obj({"raw_s3_uri": S3Uri(), "dataset_spec_s3_uri": Nullable(S3Uri())}),
    "processing": training.PROCESSING,
    "training": training.SCHEMA.fields["training"],
    "backtest": Obj({
        "windows": Nullable(Int(contract.BACKTEST_MIN_WINDOWS, contract.BACKTEST_MAX_WINDOWS)),
        "first_cutoff": Nullable(Str(max_len=10)),
        "horizon": Int(1),
        "step": Nullable(Int(1)),  # null: the horizon (windows side by side)
        "training_window": Enum(windows.TRAINING_WINDOWS),
        "training_periods": Nullable(Int(windows.MIN_TRAINING_PERIODS)),
        "gap": Int(0),
        # null: the dataset spec's own `time` key; else one in its form.
        "time": Nullable(AnyValue(object_only=True)),
        **resampling.FAN_OUT_FIELDS,
    }),
    "quality_gate": resampling.GATE,
})

# What the use case's manifest and dataset spec say (ml_constructs/pipeline_defaults.py).
PLATFORM = Obj({**COMMON, **gate.PLATFORM_FIELDS, **resampling.PLATFORM_FIELDS,
                **training.SECTION_PLATFORM_FIELDS, **training.INSTANCE_FAMILY_FIELDS,
                "dataset_columns": ListOf(Str(max_len=255), 1),
                "backtest_setup": Obj({
                    "baseline": Nullable(Str(max_len=64)),  # resampling/baselines.py
                    "time": Nullable(AnyValue(object_only=True)),  # the dataset spec's
                    # Each window's evaluation's (pipeline_defaults.window_evaluation_arguments)
                    "window_evaluation_arguments": ListOf(Str(max_len=255), 0, 20),
                })})

WINDOW_JOBS = {
    "window_split": ("bt-split", names.SAGEMAKER_NAME_MAX),
    "window_aggregate": ("bt-agg", names.SAGEMAKER_NAME_MAX),
}
# Each window's jobs: the Map state appends '-w<index>' (ITEM_SUFFIX_MAX characters).
ITEM_SUFFIX_MAX = len(f"-w{contract.BACKTEST_MAX_WINDOWS - 1}")
ITEM_JOBS = {
    "preprocessing": ("bt-prep", names.SAGEMAKER_NAME_MAX - ITEM_SUFFIX_MAX),
    "training": ("bt-train", names.SAGEMAKER_NAME_MAX - ITEM_SUFFIX_MAX),
    "evaluation": ("bt-eval", names.SAGEMAKER_NAME_MAX - ITEM_SUFFIX_MAX),
}


def time_spec(doc: dict[str, Any], platform: dict[str, Any],
              out: list[Problem]) -> TimeSpec | None:
    """The time the windows are cut by: the input's, else the dataset spec's."""
    given = doc["backtest"]["time"]
    key = "backtest.time" if given is not None else None
    source = given if given is not None else platform["backtest_setup"]["time"]
    if source is None:
        out.append(Problem("backtest.time", "is required: the use case's dataset spec has no "
                           "'time' key", '{"column": "<date column>"} or {"year": "<column>", '
                           '"month": "<column>"}'))
        return None
    try:
        time = TimeSpec.from_dict(source)
    except TimeSpecError as exc:
        out.append(Problem(key or "backtest.time", str(exc)))
        return None
    columns = platform["dataset_columns"]
    # A spec given by S3 URI is read by the jobs, not here: its columns are checked there.
    if key and doc["data"]["dataset_spec_s3_uri"] is None:
        for part in ("column", "year", "month", "day"):
            name = getattr(time, part)
            if name and name not in columns:
                out.append(Problem(f"backtest.time.{part}", f"{render(name)} is not a column "
                                   "of the use case's dataset spec", ", ".join(columns)))
    return time


def window_request(doc: dict[str, Any], time: TimeSpec, out: list[Problem],
                   ) -> windows.WindowRequest | None:
    b = doc["backtest"]
    first = None
    if b["first_cutoff"] is not None:
        try:
            first = periods.parse(time.unit, b["first_cutoff"])
        except periods.PeriodError as exc:
            out.append(Problem("backtest.first_cutoff", str(exc), periods.UNIT_FORMATS[time.unit]))
            return None
    request = windows.WindowRequest(
        unit=time.unit, horizon=b["horizon"], step=b["step"] or b["horizon"],
        windows=b["windows"], first_cutoff=first, training_window=b["training_window"],
        training_periods=b["training_periods"], gap=b["gap"])
    try:
        request.check()
    except windows.WindowError as exc:
        out.append(Problem(f"backtest.{exc.key}", exc.problem, exc.allowed))
        return None
    return request


def check(doc: dict[str, Any], platform: dict[str, Any], origin: Origin,
          out: list[Problem]) -> None:
    resampling.refuse_if_not_allowed(platform, "backtesting")
    time = time_spec(doc, platform, out)
    if time is not None:
        window_request(doc, time, out)
    training.check_section(doc["training"], platform, origin, out)
    training.check_instance_family(doc["training"], platform, out)
    resampling.check_gate(doc["quality_gate"], platform, out)
    check_tag_value("data.raw_s3_uri", doc["data"]["raw_s3_uri"], "written into every job's "
                    "'data' tag", out)


def check_data(doc: dict[str, Any], platform: dict[str, Any], data: dict[str, Any] | None,
               out: list[Problem]) -> None:
    """The windows against the data's profile, when the data is what was profiled."""
    if data is None:
        return
    profile = current_profile(data)
    if profile is None:
        return
    scratch: list[Problem] = []
    time = time_spec(doc, platform, scratch)
    request = window_request(doc, time, scratch) if time else None
    if request is None or _profiled_time(profile) != time:
        return  # another time than profiled: the split job checks
    first, last = (periods.parse(time.unit, profile["time"][k]) for k in ("first", "last"))
    per_period = profile["time"]["rows_per_period"]  # null: bounds only (first_run_windows)
    rows = None if per_period is None else {periods.parse(time.unit, label): n
                                            for label, n in per_period.items()}
    try:
        windows.plan(request, first, last, rows)
    except windows.WindowError as exc:
        # Bounds are wider than the data: what does not fit them cannot fit the data.
        bounds = f" (the data's time range as {profile['bounds']} bound it)" \
            if profile.get("bounds") else ""
        out.append(Problem(f"backtest.{exc.key}", f"{exc.problem}{bounds}", exc.allowed))


def _profiled_time(profile: dict[str, Any]) -> TimeSpec | None:
    try:
        return TimeSpec.from_dict(profile["time"]["spec"])
    except TimeSpecError:
        return None


def derive(doc: dict[str, Any], platform: dict[str, Any], execution_name: str) -> dict[str, Any]:
    bucket, use_case = platform["artifacts_bucket"], platform["use_case"]
    run_key = f"runs/{use_case}/{execution_name}/"
    prefix = f"s3://{bucket}/{run_key}"
    backtest = f"{prefix}backtest/"
    b = doc["backtest"]
    arguments = ["--horizon", str(b["horizon"]), "--step", str(b["step"] or b["horizon"]),
                 "--training-window", b["training_window"], "--gap", str(b["gap"])]
    for flag, value in (("--windows", b["windows"]), ("--first-cutoff", b["first_cutoff"]),
                        ("--training-periods", b["training_periods"]),
                        ("--baseline", platform["backtest_setup"]["baseline"])):
        if value is not None:
            arguments += [flag, str(value)]
    if b["time"] is not None:
        arguments += ["--time", json.dumps(b["time"], sort_keys=True)]
    training_section = training.derive_section(doc["training"], platform)
    return {
        **doc,
        "processing": volumes.with_cluster(doc["processing"], platform),
        "training": training_section,
        "quality_gate": {**doc["quality_gate"],
                         "arguments": resampling.gate_arguments(doc["quality_gate"])},
        "platform": dict(platform),
        "split": {"arguments": arguments},
        # Each window's evaluation job: with the platform scoring the windows, the rows'
        # predictions too, for the aggregate's ages; and the use case's own arguments.
        "window_evaluation": {"arguments": list(
            platform["backtest_setup"]["window_evaluation_arguments"])},
        "run": {
            "pipeline": PIPELINE,
            "execution_name": execution_name,
            "prefix": prefix,
            "s3": {
                "raw": doc["data"]["raw_s3_uri"],
                "plan": f"{backtest}{contract.PROCESSING_OUTPUT_WINDOW_PLAN}/",
                "items_bucket": bucket,
                "items_key": f"{run_key}backtest/{contract.PROCESSING_OUTPUT_WINDOW_PLAN}/"
                             f"{contract.WINDOW_ITEMS_FILE}",
                # Window k's rows under <windows>k/, its jobs' outputs under <window_runs>k/.
                "windows": f"{backtest}{contract.PROCESSING_OUTPUT_WINDOWS}/",
                "window_runs": f"{backtest}runs/",
                "spec": f"{backtest}{contract.PROCESSING_OUTPUT_WINDOW_SPEC}/",
                "evaluations": f"{backtest}{contract.PROCESSING_INPUT_EVALUATIONS}/",
                "backtest": f"{backtest}{contract.PROCESSING_OUTPUT_BACKTEST}/",
                # backtest.json, read by the gate (the S3 GetObject task: bucket and key).
                "evaluation_bucket": bucket,
                "evaluation_key": f"{run_key}backtest/{contract.PROCESSING_OUTPUT_BACKTEST}/"
                                  f"{contract.BACKTEST_FILE}",
                **profile_location(bucket, use_case, doc["data"]["raw_s3_uri"],
                                   contract.TIME_PROFILE_FILE),
            },
            **names.run_jobs(platform, execution_name, WINDOW_JOBS),
            **names.run_jobs(platform, execution_name, ITEM_JOBS, key="item_job"),
        },
    }
