"""The image dataset spec (dataset.json): what the preprocessing job, training, evaluation and
serving agree on. Another folder-per-class image set needs only another spec (an execution's
`data.dataset_spec_s3_uri`), no code.

    {"name": "...",
     "image": {"size": 64, "channels": 3},          # every image is resized to size x size
     "extensions": [".png", ".jpg", ".jpeg"],
     "min_side": 16,                                # smaller images are refused (counted)
     "max_invalid_fraction": 0.05,                  # more corrupt/small ones fail the job
     "split": {"train": 0.7, "validation": 0.15, "test": 0.15, "seed": 42},
     "shard_size": 512,                             # images per packed .npz shard, 0: none
     "baseline_images": 500}                        # rows of the monitoring baseline

The layout is `<class>/<image>` or `<product>/<class>/<image>` below the input prefix (or in a
.tar/.tar.gz archive there): the class is an image's parent folder, the product the folder above
it, if any.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from runtime_scripts.common.jobio import JobError

SPEC_FILE = "dataset.json"
CHANNEL_MODES = {1: "L", 3: "RGB"}
MIN_SIZE, MAX_SIZE = 8, 1024


@dataclass(frozen=True)
class Split:
    train: float
    validation: float
    test: float
    seed: int


@dataclass(frozen=True)
class ImageSpec:
    name: str
    size: int
    channels: int
    split: Split
    extensions: tuple[str, ...] = (".png", ".jpg", ".jpeg")
    min_side: int = 16
    max_invalid_fraction: float = 0.05
    shard_size: int = 512
    baseline_images: int = 500
    source: str = SPEC_FILE
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def mode(self) -> str:
        return CHANNEL_MODES[self.channels]

    def as_dict(self) -> dict:
        return {"name": self.name, "image": {"size": self.size, "channels": self.channels},
                "extensions": list(self.extensions), "min_side": self.min_side,
                "max_invalid_fraction": self.max_invalid_fraction,
                "split": vars(self.split), "shard_size": self.shard_size,
                "baseline_images": self.baseline_images}

    @classmethod
    def from_dict(cls, raw: object, source: str = SPEC_FILE) -> ImageSpec:
        def fail(message: str) -> JobError:
            return JobError(f"dataset spec {source}: {message}")

        if not isinstance(raw, dict):
            raise fail("must be a JSON object")
        image = raw.get("image")
        if not isinstance(image, dict):
            raise fail('needs "image": {"size": N, "channels": 1 or 3}')
        size, channels = image.get("size"), image.get("channels", 3)
        if not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
            raise fail(f"image.size must be an integer {MIN_SIZE}..{MAX_SIZE}, got {size!r}")
        if channels not in CHANNEL_MODES:
            raise fail(f"image.channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
        parts = _split(raw.get("split", {}), fail)
        extensions = _extensions(raw.get("extensions", cls.extensions), fail)
        min_side = raw.get("min_side", cls.min_side)
        fraction = raw.get("max_invalid_fraction", cls.max_invalid_fraction)
        shard_size = raw.get("shard_size", cls.shard_size)
        baseline = raw.get("baseline_images", cls.baseline_images)
        if not isinstance(min_side, int) or min_side < 1:
            raise fail(f"min_side must be a positive integer, got {min_side!r}")
        if not isinstance(fraction, int | float) or not 0 <= fraction < 1:
            raise fail(f"max_invalid_fraction must be in [0, 1), got {fraction!r}")
        if not isinstance(shard_size, int) or shard_size < 0:
            raise fail(f"shard_size must be an integer >= 0 (0: no shards), got {shard_size!r}")
        if not isinstance(baseline, int) or baseline < 1:
            raise fail(f"baseline_images must be a positive integer, got {baseline!r}")
        known = {"name", "image", "extensions", "min_side", "max_invalid_fraction", "split",
                 "shard_size", "baseline_images"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise fail(f"unknown keys {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return cls(str(raw.get("name", "images")), size, channels, parts, extensions, min_side,
                   float(fraction), shard_size, baseline, source)


def _split(split: object, fail) -> Split:
    try:
        parts = Split(float(split["train"]), float(split["validation"]),  # type: ignore[index]
                      float(split["test"]), int(split.get("seed", 42)))  # type: ignore[index,union-attr]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise fail('split needs numbers "train", "validation", "test" (and an integer '
                   '"seed")') from None
    if min(parts.train, parts.validation, parts.test) <= 0 or not math.isclose(
            parts.train + parts.validation + parts.test, 1.0, abs_tol=1e-6):
        raise fail("split fractions must be positive and add up to 1")
    return parts


def _extensions(value: object, fail) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not value or not all(
            isinstance(e, str) and e.startswith(".") for e in value):
        raise fail('extensions must be a list like [".png", ".jpg"]')
    return tuple(e.lower() for e in value)


def load_spec(path: Path) -> ImageSpec:
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise JobError(f"dataset spec {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise JobError(f"dataset spec {path} is not JSON: {exc.msg} at line {exc.lineno}") \
            from None
    return ImageSpec.from_dict(raw, str(path))


def bundled_spec() -> ImageSpec:
    return load_spec(Path(__file__).resolve().parent / SPEC_FILE)


def find_spec(config_dir: Path) -> ImageSpec:
    """The execution's spec (a dataset.json in the processing `config` input), else the
    bundled one."""
    if config_dir.is_dir():
        found = sorted(config_dir.rglob("*.json"))
        if len(found) > 1:
            raise JobError(f"{config_dir} holds {len(found)} JSON files: give exactly one "
                           "dataset spec")
        if found:
            return load_spec(found[0])
    return bundled_spec()
