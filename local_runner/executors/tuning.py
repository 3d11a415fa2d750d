"""CreateHyperParameterTuningJob, run locally: a real search over the ParameterRanges, each trial
a real training job that the caller runs (and records), the best trial by the objective metric.

Trials run one after another, at most min(MaxNumberOfTrainingJobs, max_local_trials) of them.
Random, Bayesian and Hyperband draw seeded random configurations honouring each range's scaling;
Grid walks the categorical grid. Warm start re-evaluates the parents' best configuration first
and samples the other trials around it.
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
# TrainingJobDefinition keys that describe the tuning, not the training job it launches.
DEFINITION_ONLY = ("DefinitionName", "TuningObjective", "HyperParameterRanges",
                   "StaticHyperParameters", "HyperParameterTuningResourceConfig")
# SageMaker adds this hyperparameter to every training job a tuning job launches.
OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"


def run_tuning_job(request: dict, s3, program: LocalProgram, workdir: Path, *,
                   run_trial: RunTrial, max_local_trials: int = 4,
                   parent_trials: list[tuple[dict[str, str], float]] | None = None,
                   ) -> TuningOutcome:
    """`s3` and `program` are the caller's to use in `run_trial`; `parent_trials` are the
    finished trials (tuned hyperparameters, objective) of the WarmStartConfig parents."""
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
    rng = random.Random(int(hashlib.sha256(name.encode()).hexdigest()[:16], 16))
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
    _write_summary(workdir, trials)
    return _result(trials, failures, objective, parents)


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
    # trial's checkpoints apart (runtime_scripts/churn/checkpoint.py).
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
    scored = [t for t in trials if t[2] is not None]
    if not scored:
        if failures and len(failures) == len(trials):
            reason = (f"No training job succeeded after {len(trials)} attempts; the last failed "
                      f"with: {failures[-1]}")
        else:
            reason = (f"No training job reported the objective metric "
                      f"{objective['MetricName']!r}: check the MetricDefinitions")
        return TuningOutcome(FAILED, reason, None, None, trials, parents)
    pick = max if objective["Type"] == "Maximize" else min
    best = pick(scored, key=lambda t: t[2])  # the first of equals, as it finished first
    return TuningOutcome(COMPLETED, None, best[0], best[2], trials, parents)


def _failed(reason: str) -> TuningOutcome:
    return TuningOutcome(FAILED, reason, None, None, [], [])


def _write_summary(workdir: Path, trials: list[TrialRecord]) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "trials.json").write_text(json.dumps(
        [{"name": n, "hyperparameters": h, "objective": o, "status": s}
         for n, h, o, s in trials], indent=2))
