"""Preprocessing job: list and validate the images, convert, resize, split, normalise.

Inputs (processing layout, root redirectable with ML_ROOT):
    processing/input/raw      `<product>/<class>/*.png|jpg` or `<class>/*...` (or .tar archives
                              of that layout)
    processing/input/config   optional: the execution's dataset spec (spec.py), else the bundled
Outputs, published together:
    train/, validation/, test/  shard-*.npz (images uint8 N x H x W x C, labels) and
                                manifest.csv (key, product, label, label_index, shard, index);
                                with shard_size 0, images/<n>.png instead of shards
    transform/preprocessing.json  classes, products, size, channels, mean and std per channel
                                  (train split), counts, the validation report
    baseline/baseline.csv         the monitored image features of a sample of train images
A corrupt, unreadable or too-small image is counted and skipped; more than the spec's
max_invalid_fraction of them fails the job, naming examples. The last stdout line is a JSON
summary.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError, atomic_outputs, run_job
from runtime_scripts.use_cases.defects import images
from runtime_scripts.use_cases.defects.features import IMAGE_FEATURES, image_features
from runtime_scripts.use_cases.defects.spec import ImageSpec, find_spec

SPLITS = (contract.PROCESSING_OUTPUT_TRAIN, contract.PROCESSING_OUTPUT_VALIDATION,
          contract.PROCESSING_OUTPUT_TEST)
PREPROCESSING_FILE = "preprocessing.json"
MANIFEST_FILE = "manifest.csv"
MANIFEST_COLUMNS = ("key", "product", "label", "label_index", "shard", "index")
MIN_PER_CLASS = 3  # one image for each split at least
EXAMPLES = 5


def load_images(raw: Path, spec: ImageSpec, scratch: Path):
    """(records, arrays, problems): the usable images in a stable order, and the others."""
    listed = images.list_images(raw, spec.extensions, scratch)
    if not listed:
        raise JobError(f"no {'/'.join(spec.extensions)} images under {raw}: check the input "
                       "prefix and the spec's extensions")
    records, arrays, problems = [], [], []
    for key, path in listed:
        label, product = images.class_and_product(key)
        try:
            decoded = images.decode(path.read_bytes(), size=spec.size, mode=spec.mode,
                                    min_side=spec.min_side)
        except images.ImageProblem as problem:
            problems.append((key, problem.kind, str(problem)))
            continue
        records.append({"key": key, "product": product, "label": label,
                        "width": decoded.width, "height": decoded.height,
                        "mode": decoded.mode})
        arrays.append(decoded.array)
    return records, arrays, problems


def validation_report(total: int, problems: list, spec: ImageSpec) -> dict:
    kinds = Counter(kind for _, kind, _ in problems)
    report = {"listed": total, "usable": total - len(problems), "invalid": len(problems),
              "invalid_by_kind": dict(sorted(kinds.items())),
              "invalid_fraction": round(len(problems) / total, 6),
              "max_invalid_fraction": spec.max_invalid_fraction,
              "examples": [f"{key}: {why}" for key, _, why in problems[:EXAMPLES]]}
    if report["invalid_fraction"] > spec.max_invalid_fraction:
        kinds_text = ", ".join(f"{n} {k}" for k, n in report["invalid_by_kind"].items())
        raise JobError(f"{len(problems)} of {total} images are unusable ({kinds_text}), more "
                       f"than max_invalid_fraction {spec.max_invalid_fraction:g} allows; e.g. "
                       + "; ".join(report["examples"][:3])
                       + ": fix or remove them, or raise max_invalid_fraction in the spec")
    return report


def stratified_split(records: list[dict], spec: ImageSpec) -> dict[str, list[int]]:
    """Indices per split, stratified by (product, class), seeded."""
    by_class = Counter(r["label"] for r in records)
    few = sorted(label for label, n in by_class.items() if n < MIN_PER_CLASS)
    if few:
        raise JobError(f"classes {', '.join(few)} have fewer than {MIN_PER_CLASS} usable "
                       "images: add images or remove their folders")
    if len(by_class) < 2:
        raise JobError(f"only one class ({next(iter(by_class))}) found: the layout is "
                       "<product>/<class>/<image>, with a folder per class")
    strata: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        strata[(record["product"], record["label"])].append(i)
    rng = np.random.default_rng(spec.split.seed)
    out: dict[str, list[int]] = {name: [] for name in SPLITS}
    for key in sorted(strata):
        members = list(rng.permutation(strata[key]))
        n = len(members)
        n_val = int(round(n * spec.split.validation))
        n_test = int(round(n * spec.split.test))
        if n >= MIN_PER_CLASS:
            n_val, n_test = max(n_val, 1), max(n_test, 1)
        out[SPLITS[1]] += members[:n_val]
        out[SPLITS[2]] += members[n_val:n_val + n_test]
        out[SPLITS[0]] += members[n_val + n_test:]
    return {name: sorted(int(i) for i in indices) for name, indices in out.items()}


def write_split(target: Path, indices: list[int], records: list[dict], arrays: list,
                classes: list[str], spec: ImageSpec) -> None:
    from PIL import Image

    rows = []
    per_shard = spec.shard_size or len(indices) or 1
    for start in range(0, len(indices), per_shard):
        chunk = indices[start:start + per_shard]
        shard = f"shard-{start // per_shard:05d}.npz"
        labels = np.array([classes.index(records[i]["label"]) for i in chunk], dtype=np.int64)
        if spec.shard_size:
            np.savez(target / shard, images=np.stack([arrays[i] for i in chunk]), labels=labels)
        for offset, i in enumerate(chunk):
            name = shard if spec.shard_size else f"images/{start + offset:06d}.png"
            if not spec.shard_size:
                (target / "images").mkdir(exist_ok=True)
                array = arrays[i][:, :, 0] if arrays[i].shape[2] == 1 else arrays[i]
                Image.fromarray(array).save(target / name)
            rows.append({"key": records[i]["key"], "product": records[i]["product"],
                         "label": records[i]["label"], "label_index": int(labels[offset]),
                         "shard": name, "index": offset if spec.shard_size else 0})
    with (target / MANIFEST_FILE).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def channel_stats(arrays: list, indices: list[int]) -> tuple[list[float], list[float]]:
    stack = np.stack([arrays[i] for i in indices]).astype(np.float64) / 255.0
    mean = stack.mean(axis=(0, 1, 2))
    std = np.maximum(stack.std(axis=(0, 1, 2)), 1e-3)
    return [round(float(v), 6) for v in mean], [round(float(v), 6) for v in std]


def write_baseline(target: Path, indices: list[int], records, arrays, spec: ImageSpec) -> None:
    rng = np.random.default_rng(spec.split.seed)
    chosen = sorted(rng.permutation(indices)[:spec.baseline_images])
    with (target / contract.BASELINE_FILE).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, IMAGE_FEATURES)
        writer.writeheader()
        for i in chosen:
            writer.writerow({k: round(v, 6) for k, v in image_features(
                arrays[i], records[i]["width"], records[i]["height"]).items()})


def main() -> None:
    ml = contract.MlPaths.from_env()
    spec = find_spec(ml.processing_input(contract.PROCESSING_INPUT_CONFIG))
    raw = ml.processing_input(contract.PROCESSING_INPUT_RAW)
    with tempfile.TemporaryDirectory() as scratch:
        records, arrays, problems = load_images(raw, spec, Path(scratch))
    report = validation_report(len(records) + len(problems), problems, spec)
    splits = stratified_split(records, spec)
    classes = sorted({r["label"] for r in records})
    mean, std = channel_stats(arrays, splits[SPLITS[0]])
    targets = {name: ml.processing_output(name) for name in SPLITS + (
        contract.PROCESSING_OUTPUT_TRANSFORM, contract.PROCESSING_OUTPUT_BASELINE)}
    summary = {"classes": classes, "products": sorted({r["product"] for r in records}),
               "size": spec.size, "channels": spec.channels, "mean": mean, "std": std,
               "counts": {name: len(splits[name]) for name in SPLITS},
               "class_counts": dict(sorted(Counter(r["label"] for r in records).items())),
               "modes": dict(sorted(Counter(r["mode"] for r in records).items())),
               "validation": report, "spec": spec.as_dict()}
    with atomic_outputs(targets) as staged:
        for name in SPLITS:
            write_split(staged[name], splits[name], records, arrays, classes, spec)
        (staged[contract.PROCESSING_OUTPUT_TRANSFORM] / PREPROCESSING_FILE).write_text(
            json.dumps(summary, indent=2))
        write_baseline(staged[contract.PROCESSING_OUTPUT_BASELINE], splits[SPLITS[0]],
                       records, arrays, spec)
    if problems:
        print(f"skipped {len(problems)} unusable images: " + "; ".join(report["examples"]),
              file=sys.stderr)
    print(json.dumps({k: summary[k] for k in ("classes", "products", "counts", "validation")}))


def read_manifest(split_dir: Path) -> list[dict]:
    with (split_dir / MANIFEST_FILE).open(newline="") as handle:
        return list(csv.DictReader(handle))


def load_split(split_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """All images and labels of a split (shards or PNG files), in manifest order."""
    from PIL import Image

    rows = read_manifest(split_dir)
    if not rows:
        raise JobError(f"{split_dir} holds no images: preprocessing gave this split none")
    shards: dict[str, dict] = {}
    out = []
    for row in rows:
        if row["shard"].endswith(".npz"):
            shard = shards.get(row["shard"])
            if shard is None:
                with np.load(split_dir / row["shard"]) as data:
                    shard = shards[row["shard"]] = {"images": data["images"]}
            out.append(shard["images"][int(row["index"])])
        else:
            array = np.asarray(Image.open(io.BytesIO((split_dir / row["shard"]).read_bytes())))
            out.append(array[:, :, None] if array.ndim == 2 else array)
    return np.stack(out), np.array([int(r["label_index"]) for r in rows], dtype=np.int64)


if __name__ == "__main__":
    sys.exit(run_job(main, contract.MlPaths.from_env().failure, "preprocessing"))
