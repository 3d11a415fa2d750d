"""CreateHyperParameterTuningJob, run locally: a real search over the ParameterRanges, each trial
a real training job that the caller runs (and records), the best trial by the objective metric.

Trials run one after another, at most min(MaxNumberOfTrainingJobs, max_local_trials) of them.
Random, Bayesian and Hyperband draw seeded random configurations honouring each range's scaling;
Grid walks the categorical grid. Warm start re-evaluates the parents' best configuration first
and samples the other trials around it. The seed is the request's RandomSeed, else one derived
from the search itself (never from job names), so the same input draws the same trials.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from pathlib import Path

from local_runner.executors import search
from local_runner.executors.results import (
    COMPLETED,
    FAILED,
    JobOutcome,
    LocalProgram,
    TuningOutcome,
)

RunTrial = Callable[[str, dict], JobOutcome]
TrialRecord = tuple[str, dict[str, str], float | None, str]
# Called after each trial: the trials so far and how many will run.
OnTrial = Callable[[list[TrialRecord], int], None]
# TrainingJobDefinition keys that describe the tuning, not the training job it launches.
DEFINITION_ONLY = ("DefinitionName", "TuningObjective", "HyperParameterRanges",
                   "StaticHyperParameters", "HyperParameterTuningResourceConfig")
# SageMaker adds this hyperparameter to every training job a tuning job launches.
OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"


def run_tuning_job(request: dict, s3, program: LocalProgram, workdir: Path, *,
                   run_trial: RunTrial, max_local_trials: int = 4,
                   parent_trials: list[tuple[dict[str, str], float]] | None = None,
                   on_trial: OnTrial | None = None) -> TuningOutcome:
    """`s3` and `program` are the caller's to use in `run_trial`; `parent_trials` are the
    finished trials (tuned hyperparameters, objective) of the WarmStartConfig parents;
    `on_trial` follows the progress (DescribeHyperParameterTuningJob's counters, live)."""
    name = request["HyperParameterTuningJobName"]
    config = request["HyperParameterTuningJobConfig"]
    objective = config["HyperParameterTuningJobObjective"]
    definition = request.get("TrainingJobDefinition")
    if definition is None:
        return _failed("only a single TrainingJobDefinition is supported locally")
    limits = config.get("ResourceLimits", {})
    count = max(0, min(int(limits.get("MaxNumberOfTrainingJobs", max_local_trials)),
                       max_local_trials))
    scored_parents = [t for t in parent_trials or [] if t[1] is not None]
    parents = _parent_names(request) if scored_parents else []
    rng = random.Random(search_seed(config, definition, scored_parents))
    try:
        ranges = search.parse_ranges(config.get("ParameterRanges") or {})
        if config.get("Strategy") == "Grid":
            configs, parents = search.grid_configs(ranges, count), []
        elif parents:
            best = _best_parent(scored_parents, objective["Type"])
            configs = search.warm_configs(ranges, best, rng, count)
        else:
            configs = search.random_configs(ranges, rng, count)
    except search.SearchSpaceError as exc:
        return _failed(str(exc))

    deadline = time.monotonic() + float(limits.get("MaxRuntimeInSeconds") or 1e12)
    trials: list[TrialRecord] = []
    failures: list[str] = []
    for index, tuned in enumerate(configs, start=1):
        if time.monotonic() > deadline:
            break  # ResourceLimits.MaxRuntimeInSeconds: no new trials after it
        trial = trial_name(name, index, tuned)
        training = trial_request(definition, tuned, trial, objective["MetricName"])
        try:
            outcome = run_trial(trial, training)
        except Exception as exc:  # a bug in the caller's recording must not lose the other trials
            outcome = JobOutcome(FAILED, f"{type(exc).__name__}: {exc}", "", {}, None, None)
        value = outcome.final_metrics.get(objective["MetricName"]) if outcome.completed else None
        trials.append((trial, tuned, value, outcome.status))
        if not outcome.completed:
            failures.append(f"{trial}: {outcome.failure_reason}")
        if on_trial is not None:
            on_trial(list(trials), len(configs))
    _write_summary(workdir, trials)
    return _result(trials, failures, objective, parents)


def search_seed(config: dict, definition: dict,
                parent_trials: list[tuple[dict[str, str], float]]) -> int:
    """HyperParameterTuningJobConfig.RandomSeed when the request gives one (SageMaker: the same
    seed for the same tuning job gives more consistent configurations); otherwise a digest of
    what defines the search: the config (ranges, strategy, objective, limits), the static
    hyperparameters and the warm start parents' trials. Job names, which hold the execution's
    name, are left out."""
    if config.get("RandomSeed") is not None:
        return int(config["RandomSeed"])
    search = [config, definition.get("StaticHyperParameters") or {}, parent_trials]
    return int(hashlib.sha256(json.dumps(search, sort_keys=True, default=str).encode())
               .hexdigest()[:16], 16)


def best_trial(trials: list[TrialRecord], objective_type: str) -> TrialRecord | None:
    """The trial with the best objective (the first of equals: it finished first)."""
    scored = [t for t in trials if t[2] is not None]
    if not scored:
        return None
    pick = max if objective_type == "Maximize" else min
    return pick(scored, key=lambda t: t[2])


def trial_name(tuning_name: str, index: int, tuned: dict[str, str]) -> str:
    """<tuning-name>-<3 digits>-<8 hex>, SageMaker's naming for the jobs a tuning job launches."""
    digest = hashlib.sha256(json.dumps([tuning_name, index, tuned], sort_keys=True).encode())
    return f"{tuning_name}-{index:03d}-{digest.hexdigest()[:8]}"[:63]


def trial_request(definition: dict, tuned: dict[str, str], trial: str, metric: str) -> dict:
    """The CreateTrainingJob request SageMaker derives from the TrainingJobDefinition."""
    request = {k: v for k, v in definition.items() if k not in DEFINITION_ONLY}
    request["TrainingJobName"] = trial
    request["HyperParameters"] = {**{k: str(v) for k, v in
                                     (definition.get("StaticHyperParameters") or {}).items()},
                                  **tuned, OBJECTIVE_HYPERPARAMETER: metric}
    # CheckpointConfig goes to every trial as the definition has it: SageMaker documents no
    # per-trial checkpoint location, so trials share one and the training script keeps each
    # trial's checkpoints apart (runtime_scripts/common/checkpoint.py).
    return request


def _parent_names(request: dict) -> list[str]:
    warm = request.get("WarmStartConfig") or {}
    parents = warm.get("ParentHyperParameterTuningJobs", [])
    return [p["HyperParameterTuningJobName"] for p in parents]


def _best_parent(parent_trials: list[tuple[dict[str, str], float]], kind: str) -> dict[str, str]:
    pick = max if kind == "Maximize" else min
    return pick(parent_trials, key=lambda t: t[1])[0]


def _result(trials: list[TrialRecord], failures: list[str], objective: dict,
            parents: list[str]) -> TuningOutcome:
    best = best_trial(trials, objective["Type"])
    if best is None:
        if failures and len(failures) == len(trials):
            reason = (f"No training job succeeded after {len(trials)} attempts; the last failed "
                      f"with: {failures[-1]}")
        else:
            reason = (f"No training job reported the objective metric "
                      f"{objective['MetricName']!r}: check the MetricDefinitions")
        return TuningOutcome(FAILED, reason, None, None, trials, parents)
    return TuningOutcome(COMPLETED, None, best[0], best[2], trials, parents)


def _failed(reason: str) -> TuningOutcome:
    return TuningOutcome(FAILED, reason, None, None, [], [])


def _write_summary(workdir: Path, trials: list[TrialRecord]) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "trials.json").write_text(json.dumps(
        [{"name": n, "hyperparameters": h, "objective": o, "status": s}
         for n, h, o, s in trials], indent=2))
