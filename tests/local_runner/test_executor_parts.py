"""The executors' pure parts: search spaces, record handling, path mapping, metric parsing."""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path

import pytest

from local_runner.executors import search, staging
from local_runner.executors.records import (
    JsonPathFilter,
    RecordError,
    batches,
    join,
    split_records,
    split_response,
)
from local_runner.executors.results import JobOutcome, LocalProgram
from local_runner.executors.training import final_metrics
from local_runner.executors.tuning import run_tuning_job, trial_name, trial_request

RANGES = {
    "ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.001", "MaxValue": "1", "ScalingType": "Logarithmic"},
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "0.999",
         "ScalingType": "ReverseLogarithmic"},
        {"Name": "tiny", "MinValue": "0.000001", "MaxValue": "0.00001", "ScalingType": "Auto"}],
    "IntegerParameterRanges": [{"Name": "depth", "MinValue": "2", "MaxValue": "5",
                                "ScalingType": "Linear"}],
    "CategoricalParameterRanges": [{"Name": "metric", "Values": ["auc", "logloss"]}],
}


# --- search spaces -------------------------------------------------------------------------------
def test_samples_honour_bounds_types_and_scaling():
    ranges = search.parse_ranges(RANGES)
    configs = search.random_configs(ranges, random.Random(1), 2000)
    eta = [float(c["eta"]) for c in configs]
    assert min(eta) >= 0.001 and max(eta) <= 1
    assert 0.015 < statistics.median(eta) < 0.07  # log-uniform: the median is near sqrt(1e-3)
    subsample = [float(c["subsample"]) for c in configs]
    assert min(subsample) >= 0.5 and max(subsample) <= 0.999
    assert statistics.median(subsample) > 0.9  # reverse log: dense near 1
    assert {c["depth"] for c in configs} == {"2", "3", "4", "5"}  # both ends, integers only
    assert {c["metric"] for c in configs} == {"auc", "logloss"}
    assert all("e" not in c["tiny"] for c in configs)  # plain decimals, as SageMaker sends


def test_integer_values_survive_the_unit_round_trip():
    depth = search.parse_ranges({"IntegerParameterRanges": [
        {"Name": "d", "MinValue": "1", "MaxValue": "64", "ScalingType": "Logarithmic"}]})[0]
    assert [depth.from_unit(depth.to_unit(str(v))) for v in range(1, 65)] == \
        [str(v) for v in range(1, 65)]


def test_grid_is_the_truncated_cartesian_product_of_categorical_values():
    ranges = search.parse_ranges({"CategoricalParameterRanges": [
        {"Name": "a", "Values": ["1", "2"]}, {"Name": "b", "Values": ["x", "y", "z"]}]})
    grid = search.grid_configs(ranges, 4)
    assert grid == [{"a": "1", "b": "x"}, {"a": "1", "b": "y"}, {"a": "1", "b": "z"},
                    {"a": "2", "b": "x"}]
    with pytest.raises(search.SearchSpaceError, match="only categorical ranges, not eta"):
        search.grid_configs(search.parse_ranges(RANGES), 4)


def test_warm_start_projects_the_best_known_point_then_samples_near_it():
    ranges = search.parse_ranges(RANGES)
    best = {"eta": "5", "subsample": "0.8", "tiny": "0.000005", "depth": "3", "metric": "auc",
            "gone": "1"}
    configs = search.warm_configs(ranges, best, random.Random(2), 50)
    assert configs[0] == {"eta": "1", "subsample": "0.8", "tiny": "0.000005", "depth": "3",
                          "metric": "auc"}  # eta clipped into its range; "gone" not tuned
    near = [int(c["depth"]) for c in configs[1:]]
    assert statistics.mean(near) == pytest.approx(3, abs=0.6)


@pytest.mark.parametrize(("spec", "message"), [
    ({"Name": "x", "MinValue": "1", "MaxValue": "1"}, "must be below MaxValue"),
    ({"Name": "x", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"},
     "needs MinValue > 0"),
    ({"Name": "x", "MinValue": "0", "MaxValue": "1", "ScalingType": "ReverseLogarithmic"},
     "within \\[0, 1\\)"),
    ({"Name": "x", "MinValue": "a", "MaxValue": "1"}, "must be numbers"),
])
def test_invalid_ranges_are_named(spec, message):
    with pytest.raises(search.SearchSpaceError, match=message):
        search.parse_ranges({"ContinuousParameterRanges": [spec]})


def test_trial_names_and_requests_follow_sagemaker():
    name = trial_name("a" * 32, 7, {"eta": "0.1"})
    assert name.startswith("a" * 32 + "-007-") and len(name) == 45
    definition = {"DefinitionName": "d", "StaticHyperParameters": {"num_round": 5},
                  "AlgorithmSpecification": {"TrainingImage": "i"},
                  "CheckpointConfig": {"S3Uri": "s3://b/ck/", "LocalPath": "/opt/ml/ck"}}
    request = trial_request(definition, {"eta": "0.1"}, name, "validation:auc")
    assert request == {"AlgorithmSpecification": {"TrainingImage": "i"},
                       # as the definition has it: SageMaker documents no per-trial location
                       "CheckpointConfig": {"S3Uri": "s3://b/ck/", "LocalPath": "/opt/ml/ck"},
                       "TrainingJobName": name,
                       "HyperParameters": {"num_round": "5", "eta": "0.1",
                                           "_tuning_objective_metric": "validation:auc"}}


def _tune(name: str, tmp_path: Path, **config) -> tuple[list, list]:
    """A tuning job whose trials score a fixed function of their hyperparameters: (the trials,
    the progress reported after each)."""
    def score(trial: str, request: dict) -> JobOutcome:
        hps = request["HyperParameters"]
        return JobOutcome("Completed", None, "", {"validation:auc": float(hps["eta"])}, None, None)

    progress: list = []
    request = {"HyperParameterTuningJobName": name,
               "HyperParameterTuningJobConfig": {
                   "Strategy": "Bayesian", "ParameterRanges": RANGES,
                   "HyperParameterTuningJobObjective": {"Type": "Maximize",
                                                        "MetricName": "validation:auc"},
                   "ResourceLimits": {"MaxNumberOfTrainingJobs": 20}, **config},
               "TrainingJobDefinition": {"StaticHyperParameters": {"num_round": "50"},
                                         "OutputDataConfig": {"S3OutputPath": f"s3://b/{name}"}}}
    outcome = run_tuning_job(request, None, None, tmp_path / name, run_trial=score,
                             max_local_trials=4,
                             on_trial=lambda trials, planned: progress.append(
                                 (len(trials), planned)))
    return outcome.trials, progress


def test_local_tuning_draws_the_same_trials_for_the_same_input(tmp_path):
    """Two executions (job names hold the execution's name) of the same search."""
    first, progress = _tune("tune-local-training-20260101-1", tmp_path)
    again, _ = _tune("tune-local-training-20260102-2", tmp_path)
    assert [t[1:] for t in first] == [t[1:] for t in again]
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    other, _ = _tune("tune-local-training-20260101-1", tmp_path,
                     ResourceLimits={"MaxNumberOfTrainingJobs": 19})
    assert [t[1] for t in other] != [t[1] for t in first]  # another search, other draws


def test_a_requests_random_seed_decides_the_draws(tmp_path):
    seeded, _ = _tune("tune-a", tmp_path, RandomSeed=7)
    same_seed, _ = _tune("tune-b", tmp_path, RandomSeed=7,
                         ResourceLimits={"MaxNumberOfTrainingJobs": 19})
    other_seed, _ = _tune("tune-a", tmp_path, RandomSeed=8)
    assert [t[1] for t in seeded] == [t[1] for t in same_seed]
    assert [t[1] for t in seeded] != [t[1] for t in other_seed]


# --- records -------------------------------------------------------------------------------------
def test_records_split_by_line_and_batch_by_payload_size():
    records = split_records(b"a,1\n\nb,2\r\nc,3", "Line")
    assert records == [b"a,1", b"b,2", b"c,3"]
    assert split_records(b"whole\nobject", "None") == [b"whole\nobject"]
    big = [b"x" * 400_000] * 5
    assert [(start, len(batch)) for start, batch in batches(big, "MultiRecord", 1)] == \
        [(0, 2), (2, 2), (4, 1)]
    assert [start for start, _ in batches(records, "SingleRecord", 6)] == [0, 1, 2]
    assert len(list(batches(big, "MultiRecord", 0))) == 1  # 0 MB: no limit
    with pytest.raises(RecordError, match="record 2 is 1048577 bytes"):
        list(batches([b"a", b"x" * (1024 * 1024 + 1)], "MultiRecord", 1))


@pytest.mark.parametrize(("expression", "record", "media", "expected"), [
    ("$", b"a,b,c", "text/csv", b"a,b,c"),
    ("$[1:]", b"id,b,c", "text/csv", b"b,c"),
    ("$[0,-1]", b'id,"x,y",c', "text/csv", b"id,c"),
    ("$[1]", b'id,"x,y",c', "text/csv", b'"x,y"'),
    ("$.features", b'{"id": 1, "features": [1, 2]}', "application/json", b"[1,2]"),
    ("$['SageMakerOutput'].label", b'{"SageMakerOutput": {"label": "yes"}}',
     "application/json", b'"yes"'),
    ("$.features[0:1]", b'{"features": [1, 2]}', "application/jsonlines", b"[1]"),
])
def test_filters_select_columns_and_keys(expression, record, media, expected):
    assert JsonPathFilter.parse(expression).apply(record, media) == expected


def test_unsupported_filters_are_named():
    with pytest.raises(RecordError, match=r"filter '\$\.\.x' is not supported"):
        JsonPathFilter.parse("$..x")
    with pytest.raises(RecordError, match="selects JSON keys, but the records are CSV"):
        JsonPathFilter.parse("$.a").apply(b"1,2", "text/csv")
    with pytest.raises(RecordError, match="does not fit a record of 2 columns"):
        JsonPathFilter.parse("$[5]").apply(b"1,2", "text/csv")


def test_join_source_input_keeps_the_input_format():
    assert join(b"1,2", b"0.3,no", "text/csv") == b"1,2,0.3,no"
    assert json.loads(join(b'{"a": 1}', b'{"p": 0.3}', "application/json")) == \
        {"a": 1, "SageMakerOutput": {"p": 0.3}}
    assert json.loads(join(b"[1, 2]", b"0.3", "application/jsonlines")) == \
        {"SageMakerInput": [1, 2], "SageMakerOutput": 0.3}


def test_responses_are_paired_with_the_records_sent():
    assert split_response(b"0.1,no\n0.9,yes\n", 2) == [b"0.1,no", b"0.9,yes"]
    assert split_response(b'[{"p": 1}, {"p": 2}]', 2) == [b'{"p":1}', b'{"p":2}']
    assert split_response(b'{"predictions": [1, 2, 3]}', 1) == [b'{"predictions": [1, 2, 3]}']
    assert split_response(b"0.1,no\n", 2) is None


# --- staging and metrics -------------------------------------------------------------------------
def test_container_paths_map_under_the_workdir(tmp_path):
    assert staging.container_path(tmp_path, "/opt/ml/processing/input/raw") == \
        tmp_path / "ml" / "processing" / "input" / "raw"
    assert staging.map_argument(tmp_path, "--out=/opt/ml/x") == f"--out={tmp_path}/ml/x"
    assert staging.map_argument(tmp_path, "/opt/mlx") == "/opt/mlx"
    with pytest.raises(staging.StagingError, match="outside /opt/ml"):
        staging.container_path(tmp_path, "/opt/ml/../etc")


def test_entry_points_resolve_to_the_programs_bin_dir(tmp_path):
    program = LocalProgram(bin_dir=Path(__file__).resolve().parents[2] / "runtime_scripts" / "bin",
                           python="/venv/python")
    assert staging.resolve_entry_point(["process", "evaluate"], program, tmp_path) == \
        [str(program.bin_dir / "process"), "evaluate"]
    assert staging.resolve_entry_point(["/opt/program/bin/train"], program, tmp_path) == \
        [str(program.bin_dir / "train")]
    assert staging.resolve_entry_point(["python3", "/opt/ml/code/x.py"], program, tmp_path) == \
        ["/venv/python", f"{tmp_path}/ml/code/x.py"]
    with pytest.raises(staging.StagingError, match="neither in"):
        staging.resolve_entry_point(["no-such-program"], program, tmp_path)


def test_final_metrics_take_the_last_value_of_each_definition():
    log = "#metrics validation:auc=0.8 x=1\nnoise\n#metrics validation:auc=0.91 final=1\n"
    definitions = [{"Name": "validation:auc", "Regex": r"validation:auc=([0-9.]+)"},
                   {"Name": "no-group", "Regex": r"x=1"}, {"Name": "bad", "Regex": "("}]
    assert final_metrics(definitions, log) == {"validation:auc": 0.91}
