"""Evaluation job: score the test split with every ONNX variant of the trained model; write
evaluation.json and report.html.

Inputs (processing layout, root redirectable with ML_ROOT):
    processing/input/model  model.tar.gz as SageMaker stages it, or the model directory
    processing/input/test   the preprocessing job's test split
Options: `--gate accuracy>=0.8` (repeatable; quality_gate.py), `--served-variant fp32|fp16|int8`
(default: the model's serving.json), `--latency-repeats N`.

evaluation.json (schema_version "1"): `metrics` are the manifest's, of the served variant
(accuracy, macro_f1, macro_precision, macro_recall, log_loss, ece) plus served_accuracy_drop
(fp32 accuracy minus the served variant's) and served_size_ratio; `variants` has each variant's
accuracy, file size and median CPU latency (one onnxruntime thread) at batch 1 and 32;
`per_class`, `confusion_matrix` ({labels, matrix[true][predicted]}), `calibration_bins`,
`quality_gate` ({passed, conditions, failed}) and `rows`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from runtime_scripts import contract
from runtime_scripts.common import quality_gate
from runtime_scripts.common.jobio import JobError, atomic_outputs, run_job
from runtime_scripts.common.manifest import current_use_case
from runtime_scripts.use_cases.defects import export
from runtime_scripts.use_cases.defects.preprocess_job import (
    PREPROCESSING_FILE,
    load_split,
    read_manifest,
)
from runtime_scripts.use_cases.defects.report import render
from runtime_scripts.use_cases.defects.scoring import classification, softmax
from runtime_scripts.use_cases.defects.train_job import SERVING_FILE

LATENCY_BATCHES = (1, 32)


def model_dir(path: Path, extract_to: Path) -> Path:
    """The model directory: `path`, or the one model.tar.gz in it extracted."""
    archives = [path] if path.is_file() else sorted(path.glob("*.tar.gz")) if path.is_dir() \
        else []
    if not path.exists():
        raise JobError(f"model input {path} does not exist: map the model artefact to it")
    if len(archives) > 1:
        raise JobError(f"{path} holds several archives: stage exactly one model.tar.gz")
    if archives:
        try:
            with tarfile.open(archives[0], "r:gz") as tar:
                tar.extractall(extract_to, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise JobError(f"cannot extract model archive {archives[0]}: {exc}") from None
        path = extract_to
    if not (path / SERVING_FILE).is_file():
        raise JobError(f"model at {path} lacks {SERVING_FILE}: it must be the output of this "
                       "use case's training job")
    return path


def normalise(images: np.ndarray, prep: dict) -> np.ndarray:
    x = images.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    mean = np.asarray(prep["mean"], dtype=np.float32)[None, :, None, None]
    std = np.asarray(prep["std"], dtype=np.float32)[None, :, None, None]
    return (x - mean) / std


def score_variants(folder: Path, serving: dict, x: np.ndarray, y: np.ndarray, prep: dict,
                   repeats: int) -> tuple[dict, dict[str, np.ndarray]]:
    variants, probabilities = {}, {}
    for name, info in serving["variants"].items():
        session = export.session(folder / info["file"])
        logits, _ = export.run(session, x)
        p = softmax(logits.astype(np.float64))
        probabilities[name] = p
        variants[name] = {
            "file": info["file"], "size_bytes": (folder / info["file"]).stat().st_size,
            "accuracy": float((p.argmax(axis=1) == y).mean()),
            **{f"latency_ms_batch_{b}": export.latency_ms(session, prep["channels"],
                                                          prep["size"], b, repeats=repeats)
               for b in LATENCY_BATCHES}}
    return variants, probabilities


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="process evaluate")
    parser.add_argument("--gate", action="append", default=[])
    parser.add_argument("--served-variant", choices=export.VARIANTS)
    parser.add_argument("--latency-repeats", type=int, default=20)
    args = parser.parse_args(argv)
    manifest = current_use_case()
    conditions = [quality_gate.Condition.parse(text, manifest) for text in args.gate]
    ml = contract.MlPaths.from_env()
    test_dir = ml.processing_input(contract.PROCESSING_INPUT_TEST)
    with tempfile.TemporaryDirectory() as scratch:
        folder = model_dir(ml.processing_input(contract.PROCESSING_INPUT_MODEL), Path(scratch))
        serving = json.loads((folder / SERVING_FILE).read_text())
        prep = json.loads((folder / PREPROCESSING_FILE).read_text())
        images, y = load_split(test_dir)
        keys = [row["key"] for row in read_manifest(test_dir)]
        variants, probabilities = score_variants(folder, serving, normalise(images, prep), y,
                                                 prep, args.latency_repeats)
    served = args.served_variant or serving["variant"]
    scores = classification(y, probabilities[served], prep["classes"])
    metrics = {**scores["metrics"],
               "served_accuracy_drop": variants["fp32"]["accuracy"] - variants[served]["accuracy"],
               "served_size_ratio": variants[served]["size_bytes"] / variants["fp32"]["size_bytes"]}
    metrics = {name: float(metrics[name]) for name in manifest.metric_names}
    evaluation = {
        "schema_version": contract.EVALUATION_SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "metrics": metrics, "quality_gate": quality_gate.judge(conditions, metrics),
        "served_variant": served, "variants": variants, "per_class": scores["per_class"],
        "confusion_matrix": scores["confusion_matrix"],
        "calibration_bins": scores["calibration_bins"],
        "rows": {"total": int(len(y)), **{c: int((y == i).sum())
                                          for i, c in enumerate(prep["classes"])}},
        "data": {"source": "images", "files": sorted({r["shard"] for r in
                                                     read_manifest(test_dir)})},
        "model": {"classes": prep["classes"], "size": prep["size"],
                  "channels": prep["channels"]},
    }
    target = ml.processing_output(contract.PROCESSING_OUTPUT_EVALUATION)
    with atomic_outputs({"evaluation": target}) as staged:
        (staged["evaluation"] / contract.EVALUATION_FILE).write_text(
            json.dumps(evaluation, indent=2))
        (staged["evaluation"] / contract.REPORT_FILE).write_text(
            render(evaluation, images, y, probabilities[served], keys))
    print(json.dumps({"metrics": metrics, "quality_gate": evaluation["quality_gate"]["passed"],
                      "variants": {v: d["accuracy"] for v, d in variants.items()}}))


if __name__ == "__main__":
    sys.exit(run_job(main, contract.MlPaths.from_env().failure, "evaluation"))
