"""Training job: XGBoost (`hist`) on the encoded splits, early stopping on validation.

Inputs: channels `train`, `validation` (header-less CSV, label first) and `transform`
(transform.json + feature_schema.json from preprocessing); hyperparameters from
input/config/hyperparameters.json, SM_HPS and `--name value` arguments (later ones win; all three
carry the same values on SageMaker). SM_CHANNEL_*, SM_MODEL_DIR, SM_OUTPUT_DATA_DIR and
SM_CHECKPOINT_DIR override the /opt/ml (ML_ROOT) defaults, so the script also runs in script mode.

The objective and the XGBoost eval metrics follow the use case's manifest: its problem type
(task.py: binary:logistic or reg:squarederror) and its `training_metrics` (`validation:auc` asks
XGBoost for `auc`). Logs one `#metrics round=N train:logloss=... validation:auc=...` line every
`metrics_frequency` rounds and, last, the metrics of the round the saved model ends at:
SageMaker (and a tuning objective such as validation:auc) takes the last value it reads, which
is then the model's.

Writes the model directory described in `model_bundle`, a training summary to the output data
dir, and on any error a one-line reason to output/failure with a non-zero exit.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from runtime_scripts import contract
from runtime_scripts.channels import pipe_path
from runtime_scripts.common import checkpoint, tracking, training_rules
from runtime_scripts.common.jobio import JobError, find_data_files, read_table, run_job
from runtime_scripts.common.manifest import UseCaseManifest, current_use_case
from runtime_scripts.common.model_bundle import load_feature_schema, load_transform
from runtime_scripts.common.tabular import distributed, hyperparameters
from runtime_scripts.common.tabular.hyperparameters import HyperparameterError, Hyperparameters
from runtime_scripts.common.tabular.task import Task, task_for

if TYPE_CHECKING:
    import xgboost

log = logging.getLogger("tabular.train")


@dataclass(frozen=True)
class Objective:
    """What the booster learns and logs: the task, and the metric log names of the manifest."""

    task: Task
    training_metrics: tuple[str, ...]  # "#metrics" names, e.g. "validation:auc"

    @classmethod
    def of(cls, manifest: UseCaseManifest) -> Objective:
        task = task_for(manifest.problem_type)
        objective = cls(task, manifest.training_metrics)
        unknown = [m for m in objective.eval_metrics if m not in task.eval_metrics]
        if unknown:
            raise JobError(f"use case {manifest.name!r} logs the training metrics "
                           f"{', '.join(manifest.training_metrics)}, but XGBoost measures "
                           f"{task.problem_type} with {', '.join(task.eval_metrics)}: "
                           f"{', '.join(unknown)} is none of them (its manifest.py)")
        return objective

    @property
    def eval_metrics(self) -> list[str]:
        """XGBoost's eval metrics, each once, in the order the manifest first names them."""
        return list(dict.fromkeys(name.partition(":")[2] for name in self.training_metrics))

    def check(self, hp: Hyperparameters) -> None:
        if f"validation:{hp.eval_metric}" not in self.training_metrics:
            raise JobError(f"eval_metric {hp.eval_metric!r} is not logged on the validation "
                           f"split (training metrics: {', '.join(self.training_metrics)}): "
                           "early stopping cannot watch it")


@dataclass(frozen=True)
class TrainPaths:
    train: Path
    validation: Path
    transform: Path
    model: Path
    output_data: Path
    checkpoints: Path
    hyperparameters: Path
    failure: Path
    # channel -> File | FastFile | Pipe (inputdataconfig.json); none given: every one a folder
    input_modes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TrainPaths:
        ml = contract.MlPaths.from_env(dict(env))

        def pick(var: str, default: Path) -> Path:
            return Path(env[var]) if env.get(var) else default

        return cls(
            train=pick("SM_CHANNEL_TRAIN", ml.channel(contract.CHANNEL_TRAIN)),
            validation=pick("SM_CHANNEL_VALIDATION", ml.channel(contract.CHANNEL_VALIDATION)),
            transform=pick("SM_CHANNEL_TRANSFORM", ml.channel(contract.CHANNEL_TRANSFORM)),
            model=pick("SM_MODEL_DIR", ml.model),
            output_data=pick("SM_OUTPUT_DATA_DIR", ml.output_data),
            checkpoints=pick("SM_CHECKPOINT_DIR", ml.checkpoints),
            hyperparameters=ml.hyperparameters,
            failure=ml.failure,
            input_modes=input_modes(ml.input_data_config),
        )

    def streamed(self, channel: Path) -> Path | None:
        """The FIFO of the channel's first epoch when SageMaker streams it (Pipe mode; the
        splits are read once, so one epoch), else None: File, and FastFile, whose mount holds
        the same files at the same path."""
        if self.input_modes.get(channel.name) != "Pipe":
            return None
        return channel.parent / pipe_path(channel.name, 0)


def input_modes(path: Path) -> dict[str, str]:
    """Each channel's TrainingInputMode from inputdataconfig.json; {} without it (a run outside
    a training job: every channel is a folder)."""
    if not path.is_file():
        return {}
    return {name: str(config.get("TrainingInputMode", "File"))
            for name, config in json.loads(path.read_text()).items()}


def load_raw_hyperparameters(paths: TrainPaths, env: Mapping[str, str], argv: list[str],
                             ) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if paths.hyperparameters.is_file():
        raw.update(hyperparameters.load_json_object(
            paths.hyperparameters.read_text(), str(paths.hyperparameters)))
    if env.get("SM_HPS"):
        raw.update(hyperparameters.load_json_object(env["SM_HPS"], "SM_HPS"))
    raw.update(hyperparameters.parse_cli(argv))
    return raw


def read_split(channel: Path, name: str, task: Task, pipe: Path | None = None,
               ) -> tuple[np.ndarray, np.ndarray, list[Path | bytes]]:
    """The split's rows from the channel's files, or streamed through `pipe` (its Pipe-mode
    FIFO: the channel's objects one after another, read to the end once)."""
    import io

    import pandas as pd

    if pipe is not None:
        data = pipe.read_bytes()
        if not data:
            raise JobError(f"{name} channel: its pipe {pipe} streamed no data")
        frame = pd.read_csv(io.BytesIO(data), header=None, dtype=np.float32)
        sources: list[Path | bytes] = [data]
    else:
        files = find_data_files(channel, (".csv",))
        frame = pd.concat([read_table(f, header=False, dtype=np.float32) for f in files])
        sources = list(files)
    if frame.empty or frame.shape[1] < 2:
        raise JobError(f"{name} channel {channel} must hold rows of a label and features")
    labels = frame.iloc[:, 0].to_numpy()
    if not task.labels_valid(labels):
        raise JobError(f"{name} channel {channel}: the first column must be {task.label_rule}")
    return frame.iloc[:, 1:].to_numpy(dtype=np.float32), labels, sources


def parse_eval(text: str, training_metrics: tuple[str, ...]) -> dict[str, float]:
    """'[3]\\ttrain-auc:0.91\\tvalidation-auc:0.88' -> {'train:auc': 0.91, ...}."""
    metrics = {}
    for item in text.split("\t")[1:]:
        key, _, value = item.rpartition(":")
        data, _, metric = key.partition("-")
        metrics[f"{data}:{metric}"] = float(value)
    return {k: metrics[k] for k in training_metrics if k in metrics}


def boost(hp: Hyperparameters, objective: Objective, dtrain: xgboost.DMatrix,
          dvalid: xgboost.DMatrix, store: checkpoint.Store, fingerprint: str, nthread: int,
          curve: Path | None = None,
          ) -> tuple[xgboost.Booster, checkpoint.TrainingState, int | None]:
    """Run (or resume) the boosting loop; returns (booster, state, resumed_from). Every
    round's metrics also go to the training curve under `curve` (the rule job reads it)."""
    import xgboost

    params = {
        **objective.task.xgboost_params(hp), "tree_method": "hist",
        "eval_metric": objective.eval_metrics,
        "max_depth": hp.max_depth, "eta": hp.eta, "min_child_weight": hp.min_child_weight,
        "subsample": hp.subsample, "colsample_bytree": hp.colsample_bytree, "gamma": hp.gamma,
        "alpha": hp.alpha, "lambda": hp.lambda_, "max_bin": hp.max_bin, "nthread": nthread,
        "verbosity": 1,
    }
    resumed = store.load_latest(fingerprint)
    booster, state = resumed or (None, store.new_state(fingerprint))
    if state.rounds_done > hp.num_round:
        raise JobError(f"the checkpoint already has {state.rounds_done} rounds, more than "
                       f"num_round={hp.num_round}: raise num_round or clear the checkpoints")
    resumed_from = state.rounds_done if resumed else None
    freq = hp.checkpoint_frequency
    while state.rounds_done < hp.num_round and not state.stopped_early:
        start = state.rounds_done
        end = min(hp.num_round, (start // freq + 1) * freq)
        # A fresh Booster per checkpoint interval, seeded by its first round: see checkpoint.py.
        booster = xgboost.Booster({**params, "seed": hp.seed + start}, [dtrain, dvalid],
                                  model_file=booster)
        for i in range(start, end):
            booster.update(dtrain, i)
            metrics = parse_eval(booster.eval_set([(dtrain, "train"), (dvalid, "validation")], i),
                                 objective.training_metrics)
            state.record(i, metrics, hp)
            if curve is not None:
                training_rules.append_curve(curve, i + 1, metrics)
            if (i + 1) % hp.metrics_frequency == 0:
                print(contract.format_metric_line(metrics, round=i + 1), flush=True)
            if state.stopped_early:
                log.info("early stopping after round %d: best %s=%.6f at round %d", i + 1,
                         hp.eval_metric, state.best_score, state.best_iteration + 1)
                break
        store.save(booster, state)
    assert booster is not None  # num_round >= 1, so either a checkpoint or one round exists
    return booster, state, resumed_from


def train(paths: TrainPaths, hp: Hyperparameters, objective: Objective,
          store: checkpoint.Store) -> dict[str, Any]:
    import xgboost

    task = objective.task
    transform = load_transform(paths.transform / contract.TRANSFORM_FILE)
    schema = load_feature_schema(paths.transform / contract.FEATURE_SCHEMA_FILE, task)
    x_train, y_train, train_files = read_split(paths.train, "train", task,
                                               paths.streamed(paths.train))
    x_valid, y_valid, valid_files = read_split(paths.validation, "validation", task,
                                               paths.streamed(paths.validation))
    for name, x in (("train", x_train), ("validation", x_valid)):
        if x.shape[1] != transform.width:
            raise JobError(f"the {name} split has {x.shape[1]} features but transform.json "
                           f"encodes {transform.width}: the channels come from different "
                           "preprocessing runs")
    nthread = hp.nthread or len(os.sched_getaffinity(0))
    dtrain = xgboost.DMatrix(x_train, label=y_train, nthread=nthread)
    dvalid = xgboost.DMatrix(x_valid, label=y_valid, nthread=nthread)
    fingerprint = distributed.shared_fingerprint(
        checkpoint.fingerprint(hp, train_files + valid_files))
    booster, state, resumed_from = boost(hp, objective, dtrain, dvalid, store, fingerprint,
                                         nthread, curve=paths.output_data)

    # Early stopping keeps the best round; without it the model is every round trained.
    selected = state.best_iteration if hp.early_stopping_rounds else state.rounds_done - 1
    final_metrics = state.best_metrics if hp.early_stopping_rounds else state.last_metrics
    model = booster[: selected + 1]
    model.set_attr(**{checkpoint.STATE_ATTR: None, "best_iteration": str(selected),
                      "best_score": str(final_metrics[f"validation:{hp.eval_metric}"]),
                      "eval_metric": f"validation:{hp.eval_metric}"})
    print(contract.format_metric_line(final_metrics, round=selected + 1, final=1), flush=True)

    paths.model.mkdir(parents=True, exist_ok=True)
    model.save_model(paths.model / contract.MODEL_FILE)
    shutil.copyfile(paths.transform / contract.TRANSFORM_FILE,
                    paths.model / contract.TRANSFORM_FILE)
    schema.update(task.model_schema(hp.decision_threshold))
    (paths.model / contract.FEATURE_SCHEMA_FILE).write_text(json.dumps(schema, indent=2))
    summary = {
        "hyperparameters": hp.as_dict(),
        "rounds_trained": state.rounds_done,
        "selected_round": selected + 1,
        "stopped_early": state.stopped_early,
        "resumed_from_round": resumed_from,
        "metrics": final_metrics,
        "rows": {"train": len(y_train), "validation": len(y_valid)},
    }
    paths.output_data.mkdir(parents=True, exist_ok=True)
    (paths.output_data / "training_summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def main(argv: list[str] | None = None) -> int:
    env = dict(os.environ)
    paths = TrainPaths.from_env(env)

    def job() -> None:
        objective = Objective.of(current_use_case())
        try:
            raw = load_raw_hyperparameters(paths, env, sys.argv[1:] if argv is None else argv)
            hp = hyperparameters.parse(raw, objective.task)
        except HyperparameterError as exc:
            raise JobError(str(exc)) from None
        objective.check(hp)
        log.info("hyperparameters: %s", json.dumps(hp.as_dict()))
        # SageMaker names the job in TRAINING_JOB_NAME and marks a tuning job's trials with
        # the objective hyperparameter: a trial keeps to checkpoints of its own.
        store = checkpoint.Store.for_job(
            paths.checkpoints, env.get("TRAINING_JOB_NAME"),
            tuning_trial=hyperparameters.TUNING_OBJECTIVE in raw)
        hosts = distributed.hosts_of(env)
        with tracking.job_run("training", env.get("TRAINING_JOB_NAME")) as run, \
                distributed.collective(hosts):
            run.log_params(hp.as_dict())
            summary = train(paths, hp, objective, store)
            run.log_artifacts(paths.model, "model")
        log.info("training summary: %s", json.dumps(summary))

    return run_job(job, paths.failure, "training")


if __name__ == "__main__":
    sys.exit(main())
