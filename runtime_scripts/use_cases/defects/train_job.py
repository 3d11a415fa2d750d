"""Training job: the CNN on the preprocessed splits, with early stopping and resumable
checkpoints; then the ONNX variants of the best epoch's model.

Channels (training layout, root redirectable with ML_ROOT): train, validation (the split
folders of preprocess_job.py) and transform (preprocessing.json: classes, size, mean, std).
Hyperparameters: hparams.py. Every epoch prints one metrics line for the job's
MetricDefinitions and the tuning objective:

    #metrics epoch=3 train:loss=0.41 train:accuracy=0.86 \
        validation:loss=0.38 validation:accuracy=0.9

Precision `bf16` / `fp16` runs the forward pass under torch.autocast (fp16 with a GradScaler, as
its gradients underflow otherwise); the weights stay fp32. On several instances or GPUs the
job relaunches itself under torchrun (distributed.py) and trains with DistributedDataParallel;
rank 0 alone validates, logs, checkpoints and writes the model.

The model directory: model.pt (weights and architecture), preprocessing.json, model-fp32.onnx,
model-fp16.onnx, model-int8.onnx, serving.json (the served variant, each variant's file and size)
and training.json (the history, the best epoch, throughput).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from runtime_scripts import contract
from runtime_scripts.common import training_rules
from runtime_scripts.common.checkpoint import Store
from runtime_scripts.common.jobio import JobError, run_job
from runtime_scripts.common.tabular.hyperparameters import TUNING_OBJECTIVE, HyperparameterError
from runtime_scripts.common.tabular.train import TrainPaths, load_raw_hyperparameters
from runtime_scripts.use_cases.defects import checkpoints, distributed, export, hparams
from runtime_scripts.use_cases.defects.preprocess_job import MANIFEST_FILE, PREPROCESSING_FILE

MODULE = "runtime_scripts.use_cases.defects.train_job"
MODEL_FILE = "model.pt"
SERVING_FILE = "serving.json"
TRAINING_FILE = "training.json"
CALIBRATION_IMAGES = 256
log = logging.getLogger("jobs.train")


def read_preprocessing(transform: Path) -> dict:
    path = transform / PREPROCESSING_FILE
    if not path.is_file():
        raise JobError(f"{path} is missing: map the preprocessing job's transform output to "
                       "the transform channel")
    return json.loads(path.read_text())


def autocast(device, precision: str):
    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def evaluate(model, batches, device, precision: str, channels_last: bool) -> tuple[float, float]:
    """(mean loss, accuracy) of `model` on a loader."""
    import torch
    import torch.nn.functional as F

    model.eval()
    total, correct, loss = 0, 0, 0.0
    with torch.no_grad():
        for x, y in batches:
            x, y = _to(x, device, channels_last), y.to(device)
            with autocast(device, precision):
                logits = model(x)
            loss += float(F.cross_entropy(logits.float(), y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
            total += len(y)
    return loss / total, correct / total


def _to(x, device, channels_last: bool):
    import torch

    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


class Training:
    """One training run; `run` returns the best state (plain module weights)."""

    def __init__(self, paths: TrainPaths, hp: hparams.TrainingHyperparameters,
                 rank: distributed.Rank, store: Store) -> None:
        import torch

        from runtime_scripts.use_cases.defects.data import SplitImages, loader
        from runtime_scripts.use_cases.defects.model import SmallResNet

        self.paths, self.hp, self.rank, self.store = paths, hp, rank, store
        self.prep = read_preprocessing(paths.transform)
        torch.manual_seed(hp.seed)
        if hp.threads:
            torch.set_num_threads(hp.threads)
        cuda = torch.cuda.is_available()
        self.device = torch.device(f"cuda:{rank.local_rank}" if cuda else "cpu")
        self.train_set = SplitImages(paths.train, self.prep["mean"], self.prep["std"],
                                     hp.augment, hp.seed)
        val_set = SplitImages(paths.validation, self.prep["mean"], self.prep["std"])
        options = {"workers": hp.workers, "pin_memory": hp.pin_memory and cuda,
                   "prefetch_factor": hp.prefetch_factor, "seed": hp.seed}
        self.train_batches = loader(self.train_set, batch_size=hp.batch_size, shuffle=True,
                                    world=(rank.rank, rank.world_size), **options)
        self.val_batches = loader(val_set, batch_size=max(hp.batch_size, 64), shuffle=False,
                                  **options)
        self.model = SmallResNet(self.prep["channels"], len(self.prep["classes"]),
                                 hp.width).to(self.device)
        if hp.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=hp.learning_rate,
                                           weight_decay=hp.weight_decay)
        steps = max(1, hp.epochs * len(self.train_batches))
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, steps)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=hp.precision == "fp16")
        self.net = self.model
        if rank.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            self.net = DistributedDataParallel(
                self.model, device_ids=[rank.local_rank] if cuda else None)
        files = sorted((paths.train / MANIFEST_FILE, paths.validation / MANIFEST_FILE))
        self.fingerprint = checkpoints.fingerprint(hp, files)
        self.state = {"epoch": 0, "best_accuracy": -1.0, "best_loss": float("inf"),
                      "best_epoch": 0, "best_model": None, "bad_epochs": 0, "history": [],
                      "steps": 0, "train_seconds": 0.0, "train_images": 0}

    def resume(self) -> None:
        found = (checkpoints.load_latest(self.store, self.fingerprint)
                 if self.rank.main else None)
        found = self._broadcast(found)
        if found is None:
            return
        self.model.load_state_dict(found["model"])
        self.optimizer.load_state_dict(found["optimizer"])
        self.schedule.load_state_dict(found["schedule"])
        self.scaler.load_state_dict(found["scaler"])
        self.state = found["state"]

    def _broadcast(self, value):
        if self.rank.world_size == 1:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def train_epoch(self, epoch: int) -> tuple[float, float]:
        import torch.nn.functional as F

        hp, device = self.hp, self.device
        self.net.train()
        self.train_set.epoch = epoch
        if getattr(self.train_batches.sampler, "set_epoch", None):
            self.train_batches.sampler.set_epoch(epoch)
        total, correct, loss_sum = 0, 0, 0.0
        start = time.perf_counter()
        for x, y in self.train_batches:
            x, y = _to(x, device, hp.channels_last), y.to(device, non_blocking=True)
            with autocast(device, hp.precision):
                logits = self.net(x)
                loss = F.cross_entropy(logits.float(), y)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.schedule.step()
            loss_sum += float(loss.detach()) * len(y)
            correct += int((logits.argmax(1) == y).sum())
            total += len(y)
            self.state["steps"] += 1
            if hp.max_steps and self.state["steps"] >= hp.max_steps:
                break
        self.state["train_seconds"] += time.perf_counter() - start
        self.state["train_images"] += total
        return loss_sum / max(total, 1), correct / max(total, 1)

    def run(self) -> dict:
        hp, state = self.hp, self.state
        for epoch in range(state["epoch"], hp.epochs):
            train_loss, train_accuracy = self.train_epoch(epoch)
            verdict = None
            if self.rank.main:
                verdict = self._after_epoch(epoch, train_loss, train_accuracy)
            if self._broadcast(verdict):
                break
            if hp.max_steps and state["steps"] >= hp.max_steps:
                break
        if self.rank.main and state["best_model"] is None:  # resumed after the last epoch
            state["best_model"] = self.model.state_dict()
        return state

    def _after_epoch(self, epoch: int, train_loss: float, train_accuracy: float) -> bool:
        """Validate, log, keep the best, checkpoint; True: stop early."""
        import copy

        state, hp = self.state, self.hp
        val_loss, val_accuracy = evaluate(self.model, self.val_batches, self.device,
                                          hp.precision, hp.channels_last)
        metrics = {"train:loss": train_loss, "train:accuracy": train_accuracy,
                   "validation:loss": val_loss, "validation:accuracy": val_accuracy}
        print(contract.format_metric_line(metrics, epoch=epoch + 1), flush=True)
        state["history"].append({"epoch": epoch + 1, **metrics})
        better = (val_accuracy > state["best_accuracy"]
                  or (val_accuracy == state["best_accuracy"] and val_loss < state["best_loss"]))
        if better:
            state.update(best_accuracy=val_accuracy, best_loss=val_loss, best_epoch=epoch + 1,
                         bad_epochs=0,
                         best_model=copy.deepcopy({k: v.cpu() for k, v in
                                                   self.model.state_dict().items()}))
        else:
            state["bad_epochs"] += 1
        state["epoch"] = epoch + 1
        stop = bool(hp.patience) and state["bad_epochs"] >= hp.patience
        state["stopped_early"] = stop
        checkpoints.save(self.store, {
            "epoch": epoch + 1, "fingerprint": self.fingerprint, "state": state,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(), "scaler": self.scaler.state_dict()})
        return stop


def write_model(paths: TrainPaths, hp: hparams.TrainingHyperparameters, prep: dict,
                state: dict, world_size: int) -> dict:
    import torch

    from runtime_scripts.use_cases.defects.data import SplitImages
    from runtime_scripts.use_cases.defects.model import SmallResNet

    model = SmallResNet(prep["channels"], len(prep["classes"]), hp.width)
    model.load_state_dict(state["best_model"])
    model.eval()
    out = paths.model
    out.mkdir(parents=True, exist_ok=True)
    config = {"channels": prep["channels"], "classes": len(prep["classes"]), "width": hp.width}
    torch.save({"state_dict": model.state_dict(), "config": config}, out / MODEL_FILE)
    shutil.copyfile(paths.transform / PREPROCESSING_FILE, out / PREPROCESSING_FILE)
    val = SplitImages(paths.validation, prep["mean"], prep["std"])
    calibration = np.stack([val[i][0].numpy() for i in range(min(len(val),
                                                                 CALIBRATION_IMAGES))])
    variants = export.export_all(model, prep["channels"], prep["size"], calibration, out)
    serving = {"variant": hp.served_variant, "variants": variants, "classes": prep["classes"]}
    (out / SERVING_FILE).write_text(json.dumps(serving, indent=2))
    seconds = state["train_seconds"]
    summary = {"hyperparameters": hp.as_dict(), "best_epoch": state["best_epoch"],
               "best_validation_accuracy": state["best_accuracy"],
               "best_validation_loss": state["best_loss"], "epochs_run": state["epoch"],
               "stopped_early": state.get("stopped_early", False), "steps": state["steps"],
               "world_size": world_size, "history": state["history"],
               "train_images_per_second": state["train_images"] / seconds if seconds else None}
    (out / TRAINING_FILE).write_text(json.dumps(summary, indent=2))
    # The whole curve (a resumed job's history too), for the platform's training rules job.
    for record in state["history"]:
        training_rules.append_curve(paths.output_data, record["epoch"],
                                    {k: v for k, v in record.items() if k != "epoch"})
    return summary


def main(argv: list[str] | None = None) -> int:
    env = distributed.environment()
    args = sys.argv[1:] if argv is None else argv
    paths = TrainPaths.from_env(env)
    ml = contract.MlPaths.from_env(env)

    def job() -> None:
        try:
            raw = load_raw_hyperparameters(paths, env, args)
        except HyperparameterError as exc:
            raise JobError(str(exc)) from None
        hp = hparams.parse(raw)
        rank = distributed.init(env)
        store = Store.for_job(paths.checkpoints, env.get("TRAINING_JOB_NAME"),
                              tuning_trial=TUNING_OBJECTIVE in raw)
        training = Training(paths, hp, rank, store)
        training.resume()
        state = training.run()
        if rank.main:
            summary = write_model(paths, hp, training.prep, state, rank.world_size)
            print(json.dumps({k: summary[k] for k in (
                "best_epoch", "best_validation_accuracy", "epochs_run", "stopped_early",
                "world_size", "train_images_per_second")}), flush=True)
        if rank.world_size > 1:
            import torch.distributed as dist

            dist.barrier()
            dist.destroy_process_group()

    where = distributed.cluster(env, ml.resource_config)
    if where.world_size > 1 and not distributed.inside_torchrun(env):
        distributed.check_distribution(ml.root / "input" / "config" / "inputdataconfig.json",
                                       (contract.CHANNEL_TRAIN, contract.CHANNEL_VALIDATION))
        log.info("launching torchrun: %d hosts x %d processes", len(where.hosts),
                 where.processes_per_node)
        return distributed.launch(where, MODULE, args, env)
    return run_job(job, paths.failure, "training")


if __name__ == "__main__":
    sys.exit(main())
