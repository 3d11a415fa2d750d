"""The sample generator, the dataset spec and the preprocessing job."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from runtime_scripts import contract
from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.manifest import load_manifest
from runtime_scripts.use_cases.defects import capture, generate, images
from runtime_scripts.use_cases.defects.features import IMAGE_FEATURES
from runtime_scripts.use_cases.defects.preprocess_job import SPLITS, read_manifest
from runtime_scripts.use_cases.defects.spec import ImageSpec, bundled_spec
from runtime_scripts.use_cases.defects.tests.conftest import PER_CLASS, PRODUCTS, SPEC, USE_CASE
from runtime_scripts.use_cases.testing import run_entry


def test_the_manifest_loads_and_names_its_files():
    manifest = load_manifest(USE_CASE)
    assert manifest.problem_type == "image_classification"
    assert manifest.path(manifest.sample_data).is_file()
    assert "validation:accuracy" in manifest.training_metrics
    assert bundled_spec().size == 48


def test_the_bundled_sample_is_the_generators_layout():
    import tarfile

    with tarfile.open(load_manifest(USE_CASE).path(load_manifest(USE_CASE).sample_data)) as tar:
        names = tar.getnames()
    assert len(names) == 3 * 4 * 30
    assert {n.split("/")[0] for n in names} == set(generate.PRODUCTS)
    assert {n.split("/")[1] for n in names} == set(generate.CLASSES)


def test_the_local_batch_holds_no_image_the_sample_trains_on():
    import base64
    import hashlib
    import tarfile

    manifest = load_manifest(USE_CASE)
    with tarfile.open(manifest.path(manifest.sample_data)) as tar:
        trained = {hashlib.sha256(tar.extractfile(m).read()).hexdigest()
                   for m in tar.getmembers()}
    lines = manifest.path(manifest.local_batch).read_text().splitlines()
    scored = {hashlib.sha256(base64.b64decode(json.loads(line)["instances"][0]["b64"]))
              .hexdigest() for line in lines}
    assert len(scored) == len(lines) == 24 and not scored & trained


def test_the_generator_is_seeded_and_draws_every_defect():
    first = dict(generate.sample_images(16, 3, ("wood",), seed=5))
    again = dict(generate.sample_images(16, 3, ("wood",), seed=5))
    assert first == again and len(first) == 4 * 3
    good = np.asarray(Image.open(io.BytesIO(next(v for k, v in first.items()
                                                 if "/good/" in k))))
    assert good.shape == (16, 16, 3)
    rng = np.random.default_rng(0)
    surface = generate.texture("metal", 32, rng)
    for kind in ("scratch", "spot", "crack"):  # a defect changes pixels, more at severity 3
        light = np.abs(generate.add_defect(surface, kind, 1, np.random.default_rng(1))
                       - surface).sum()
        heavy = np.abs(generate.add_defect(surface, kind, 3, np.random.default_rng(1))
                       - surface).sum()
        assert 0 < light < heavy, kind


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "I;16"])
def test_every_mode_becomes_the_configured_channels(mode):
    picture = Image.new("RGB", (20, 30), (200, 30, 30)).convert(mode) if mode != "I;16" \
        else Image.fromarray(np.arange(600, dtype=np.uint16).reshape(30, 20) * 50)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    for target, channels in (("RGB", 3), ("L", 1)):
        decoded = images.decode(buffer.getvalue(), size=12, mode=target, min_side=8)
        assert decoded.array.shape == (12, 12, channels) and decoded.array.dtype == np.uint8
        assert (decoded.width, decoded.height) == (20, 30)


def test_unusable_images_are_told_apart():
    whole = io.BytesIO()
    Image.new("RGB", (32, 32)).save(whole, format="PNG")
    small = io.BytesIO()
    Image.new("RGB", (4, 40)).save(small, format="JPEG")
    for data, kind in ((whole.getvalue()[:60], "corrupt"), (b"GIF? no", "unsupported"),
                       (small.getvalue(), "too_small")):
        with pytest.raises(images.ImageProblem) as problem:
            images.decode(data, size=16, mode="RGB", min_side=8)
        assert problem.value.kind == kind


@pytest.mark.parametrize(("change", "message"), [
    ({"image": {"size": 3}}, "image.size"),
    ({"image": {"size": 32, "channels": 2}}, "image.channels"),
    ({"split": {"train": 0.9, "validation": 0.2, "test": 0.1}}, "add up to 1"),
    ({"max_invalid_fraction": 1.5}, "max_invalid_fraction"),
    ({"colour": "blue"}, "unknown keys colour"),
])
def test_a_bad_spec_is_named(change, message):
    with pytest.raises(JobError, match=message):
        ImageSpec.from_dict({**SPEC, **change})


def test_preprocessing_counts_the_unusable_and_splits_every_class_into_every_split(run):
    report = run.summary["validation"]
    assert report["listed"] == len(PRODUCTS) * 4 * PER_CLASS + 2
    assert report["invalid_by_kind"] == {"corrupt": 1, "too_small": 1}
    assert run.summary["classes"] == sorted(generate.CLASSES)
    for split in SPLITS:
        rows = read_manifest(run.ml.processing_output(split))
        strata = {(r["product"], r["label"]) for r in rows}
        assert len(strata) == len(PRODUCTS) * 4, split  # stratified by product and class
    train = read_manifest(run.ml.processing_output("train"))
    assert len({r["shard"] for r in train}) == -(-len(train) // SPEC["shard_size"])
    with np.load(run.ml.processing_output("train") / train[0]["shard"]) as shard:
        assert shard["images"].shape[1:] == (24, 24, 3)
    prep = json.loads((run.ml.processing_output("transform") / "preprocessing.json")
                      .read_text())
    assert len(prep["mean"]) == 3 and all(0 < s < 1 for s in prep["std"])


def test_the_monitoring_baseline_has_the_captured_columns(run):
    with (run.ml.processing_output("baseline") / contract.BASELINE_FILE).open() as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == IMAGE_FEATURES == capture.MONITORED
    assert len(rows) == SPEC["baseline_images"]


def test_preprocessing_refuses_too_many_unusable_images(tmp_path):
    from runtime_scripts.use_cases.defects.tests.conftest import write_spec

    raw = contract.MlPaths(tmp_path).processing_input(contract.PROCESSING_INPUT_RAW)
    generate.write(raw, size=16, per_class=3, products=("wood",), corrupt=2, tiny=2)
    write_spec(tmp_path, SPEC)
    done = run_entry("process", "preprocess", root=tmp_path, use_case=USE_CASE)
    assert done.returncode == 1
    failure = contract.MlPaths(tmp_path).failure.read_text()
    assert "4 of 16 images are unusable (2 corrupt, 2 too_small)" in failure
    assert "max_invalid_fraction 0.1" in failure


def test_a_split_without_enough_images_per_class_is_refused(tmp_path):
    raw = contract.MlPaths(tmp_path).processing_input(contract.PROCESSING_INPUT_RAW)
    generate.write(raw, size=16, per_class=2, products=("wood",))
    done = run_entry("process", "preprocess", root=tmp_path, use_case=USE_CASE)
    assert done.returncode == 1 and "fewer than 3 usable images" in done.stderr


def test_a_stage_training_it_on_cpu_instances_is_refused_at_synth(tmp_path):
    """Its manifest needs GPU training instances: the stage's default ml.m5.xlarge is named
    with the families allowed, before anything is deployed."""
    import json

    from config import ConfigError, load_stage_config

    path = tmp_path / "stage.json"
    path.write_text(json.dumps({"use_cases": [{"name": USE_CASE}]}))
    with pytest.raises(ConfigError, match=r"use_cases\[0\]\.training\.instance_type': "
                                          r"'ml\.m5\.xlarge' has no GPU.*ml\.g5\.\*"):
        load_stage_config("test", path)
    path.write_text(json.dumps({"use_cases": [{"name": USE_CASE, "training": {
        "instance_type": "ml.g5.xlarge"}}]}))
    assert load_stage_config("test", path).use_cases[0].training.instance_type == "ml.g5.xlarge"
