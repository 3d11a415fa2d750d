"""The image classification use case's goals, measured on this machine's CPU.

    .venv/bin/python -m benchmarks.image_classification [--epochs 12] [--threads 1]
        [--held-out-per-class 50] [--steps 30] [--json FILE]

1. Train the CNN (fp32) on the bundled sample's layout (3 products x 4 classes x 30, 48 px),
   export fp32 / fp16 / int8 ONNX, and score each on a held-out set generated with another seed
   (--held-out-per-class per product and class, default 600 images): accuracy, file size,
   CPU latency (onnxruntime, --threads intra-op threads) at batch 1 and 32: the fastest
   of 5 interleaved rounds' medians.
   Goals: int8 size <= 30% of fp32; int8 accuracy within 1 point of fp32; int8 latency at
   least 1.5x better than fp32 at batch 1 and at batch 32.
2. Training step throughput (images/s of forward + backward + AdamW at batch 32) for fp32,
   bf16 and fp16 autocast (fp16 with a GradScaler), with and without channels_last; and of
   the data loader with 0 and 2 workers over PNG files (decoded per item) and over packed
   shards; each the best of 5 interleaved rounds. GPU rows: this script on a GPU machine;
   where none was available the table says "not measured here".
The machine's load average is printed with the numbers: on a shared CPU they move with it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from runtime_scripts import contract
from runtime_scripts.common.checkpoint import Store
from runtime_scripts.common.tabular.train import TrainPaths
from runtime_scripts.use_cases.defects import export, generate, hparams, preprocess_job
from runtime_scripts.use_cases.defects.distributed import Rank
from runtime_scripts.use_cases.defects.scoring import softmax
from runtime_scripts.use_cases.testing import stage_training

SIZE = 48


@contextlib.contextmanager
def ml_root(root: Path):
    before = os.environ.get(contract.ML_ROOT_ENV)
    os.environ[contract.ML_ROOT_ENV] = str(root)
    try:
        yield contract.MlPaths(root)
    finally:
        if before is None:
            os.environ.pop(contract.ML_ROOT_ENV, None)
        else:
            os.environ[contract.ML_ROOT_ENV] = before


def preprocess(root: Path, per_class: int, seed: int, shard_size: int) -> contract.MlPaths:
    with ml_root(root) as ml:
        generate.write(ml.processing_input(contract.PROCESSING_INPUT_RAW), size=64,
                       per_class=per_class, seed=seed)
        config = ml.processing_input(contract.PROCESSING_INPUT_CONFIG)
        config.mkdir(parents=True)
        (config / "dataset.json").write_text(json.dumps({
            "image": {"size": SIZE, "channels": 3}, "shard_size": shard_size,
            "split": {"train": 0.7, "validation": 0.15, "test": 0.15, "seed": 42}}))
        preprocess_job.main()
        return ml


def training(root: Path, data: contract.MlPaths, **changes: str):
    from runtime_scripts.use_cases.defects.train_job import Training

    hps = {"threads": "1", **changes}
    stage_training(root, data.root, hps)
    paths = TrainPaths.from_env({"ML_ROOT": str(root)})
    return paths, Training(paths, hparams.parse(hps), Rank(),
                           Store.for_job(paths.checkpoints, None, tuning_trial=False))


def held_out(root: Path, per_class: int, prep: dict) -> tuple[np.ndarray, np.ndarray]:
    """A test set the model never saw: other seed, every image (no split)."""
    from runtime_scripts.use_cases.defects.evaluate_job import normalise
    from runtime_scripts.use_cases.defects.images import decode

    xs, ys = [], []
    for key, png in generate.sample_images(64, per_class, generate.PRODUCTS, seed=1234):
        xs.append(decode(png, size=SIZE, mode="RGB", min_side=1).array)
        ys.append(prep["classes"].index(key.split("/")[1]))
    return normalise(np.stack(xs), prep), np.array(ys)


ROUNDS = 5  # latency and throughput: interleaved rounds, the best kept (see `variants`)


def variants(model_dir: Path, x: np.ndarray, y: np.ndarray, threads: int) -> dict:
    """Accuracy, size and latency of each variant. On a shared CPU other processes only ever
    add time, so each latency is the fastest of ROUNDS interleaved rounds' medians (the
    variants take turns, so a busy spell slows all of them, not one)."""
    serving = json.loads((model_dir / "serving.json").read_text())
    sessions = {name: export.session(model_dir / info["file"], threads)
                for name, info in serving["variants"].items()}
    out = {}
    for name, session in sessions.items():
        logits, _ = export.run(session, x)
        out[name] = {"accuracy": float((softmax(logits).argmax(1) == y).mean()),
                     "size_bytes": serving["variants"][name]["size_bytes"],
                     "ms_b1": float("inf"), "ms_b32": float("inf")}
    for _ in range(ROUNDS):
        for name, session in sessions.items():
            for b in (1, 32):
                ms = export.latency_ms(session, 3, SIZE, b, repeats=30 if b == 1 else 10,
                                       warmup=3)
                out[name][f"ms_b{b}"] = min(out[name][f"ms_b{b}"], ms)
    return out


def best_throughput(configs: dict[str, tuple[Path, contract.MlPaths, dict]], steps: int,
                    ) -> dict[str, float]:
    """Each configuration's best images/s over ROUNDS interleaved rounds."""
    best = dict.fromkeys(configs, 0.0)
    for round_ in range(ROUNDS):
        for label, (root, data, changes) in configs.items():
            best[label] = max(best[label], step_throughput(root / str(round_), data, steps,
                                                           **changes))
    return best


def step_throughput(root: Path, data: contract.MlPaths, steps: int, **changes: str) -> float:
    """Images/s over `steps` training steps after 3 warm-up steps."""
    _, run = training(root, data, batch_size="32", max_steps=str(steps + 3), augment="0.5",
                      **changes)
    run.hp = hparams.TrainingHyperparameters(**{**run.hp.as_dict(), "max_steps": 3})
    run.train_epoch(0)  # warm-up (and the first workers' start)
    run.hp = hparams.TrainingHyperparameters(**{**run.hp.as_dict(), "max_steps": steps + 3})
    start, images = time.perf_counter(), run.state["train_images"]
    while run.state["steps"] < steps + 3:
        run.train_epoch(1)
    return (run.state["train_images"] - images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--held-out-per-class", type=int, default=50)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    load = os.getloadavg()
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')} {platform.processor() or platform.machine()}"
          f", {os.cpu_count()} CPUs, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, torch "
          f"{torch.__version__}, {args.threads} thread(s), GPU: "
          f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}")
    results: dict = {"load_before": load, "threads": args.threads}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        shards = preprocess(tmp / "shards", 30, 7, 512)
        pngs = preprocess(tmp / "pngs", 30, 7, 0)
        paths, run = training(tmp / "train", shards, epochs=str(args.epochs))
        started = time.perf_counter()
        state = run.run()
        from runtime_scripts.use_cases.defects.train_job import write_model

        summary = write_model(paths, run.hp, run.prep, state, 1)
        results["training"] = {"seconds": time.perf_counter() - started,
                               "best_validation_accuracy": summary["best_validation_accuracy"],
                               "epochs": summary["epochs_run"]}
        x, y = held_out(tmp, args.held_out_per_class, run.prep)
        results["variants"] = variants(paths.model, x, y, args.threads)
        results["held_out_images"] = int(len(y))
        configs = {label: (tmp / label.replace(" ", "-"), shards, changes)
                   for label, changes in (
                       ("fp32", {}), ("bf16", {"precision": "bf16"}),
                       ("fp16", {"precision": "fp16"}),
                       ("fp32 channels_last", {"channels_last": "true"}),
                       ("bf16 channels_last", {"precision": "bf16", "channels_last": "true"}))}
        for source, data in (("shards", shards), ("png files", pngs)):
            for workers in (0, 2):
                configs[f"fp32 {source}, {workers} workers"] = (
                    tmp / f"{source}-{workers}".replace(" ", "-"), data,
                    {"workers": str(workers)})
        results["throughput"] = best_throughput(configs, args.steps)
    results["load_after"] = os.getloadavg()
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def report(results: dict) -> None:
    v = results["variants"]
    fp32, int8 = v["fp32"], v["int8"]
    print(f"\nTraining: {results['training']['epochs']} epochs in "
          f"{results['training']['seconds']:.0f} s, best validation accuracy "
          f"{results['training']['best_validation_accuracy']:.3f}")
    print(f"\nONNX variants on {results['held_out_images']} held-out images "
          f"({results['threads']} onnxruntime thread(s)):")
    print(f"{'variant':8} {'accuracy':>9} {'size KB':>8} {'ms b=1':>8} {'ms b=32':>8}")
    for name, d in v.items():
        print(f"{name:8} {d['accuracy']:9.4f} {d['size_bytes'] / 1024:8.0f} "
              f"{d['ms_b1']:8.3f} {d['ms_b32']:8.2f}")
    goals = [("int8 size <= 30% of fp32", int8["size_bytes"] / fp32["size_bytes"], 0.30, "<="),
             ("int8 accuracy within 1 point of fp32",
              abs(fp32["accuracy"] - int8["accuracy"]) * 100, 1.0, "<="),
             ("int8 speed-up at batch 1 >= 1.5x", fp32["ms_b1"] / int8["ms_b1"], 1.5, ">="),
             ("int8 speed-up at batch 32 >= 1.5x", fp32["ms_b32"] / int8["ms_b32"], 1.5, ">=")]
    print("\nGoals:")
    for text, value, limit, how in goals:
        holds = value <= limit if how == "<=" else value >= limit
        print(f"  {text:40} {value:7.3f}  {'met' if holds else 'NOT MET'}")
    t = results["throughput"]
    print("\nTraining step throughput, images/s (batch 32, 48 px, CPU):")
    for name, value in t.items():
        base = t["fp32 shards, 0 workers"] if "workers" in name else t["fp32"]
        print(f"  {name:34} {value:8.1f}  ({value / base:.2f}x)")
    print("  GPU (bf16 vs fp32, goal >= 2x)     not measured here (no GPU on this machine)")
    print(f"\nload average before {results['load_before'][0]:.2f}, after "
          f"{results['load_after'][0]:.2f}")


if __name__ == "__main__":
    main()
