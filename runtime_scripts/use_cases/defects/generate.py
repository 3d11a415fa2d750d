"""The bundled sample: procedural surface textures of several product types with synthetic
defects (scratches, spots, cracks) at three severities, as `<product>/<class>/*.png`.

No image data set can be downloaded here, so the sample is made from numbers alone (numpy and
Pillow), seeded, so the same arguments give the same files:

    python -m runtime_scripts.use_cases.defects.generate OUT [--size 64] [--per-class 40]
        [--products fabric,metal,wood] [--tar FILE]

`--corrupt N` and `--tiny N` add N truncated files and N images smaller than any sensible
min_side, to exercise the preprocessing job's validation.
"""

from __future__ import annotations

import argparse
import io
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

PRODUCTS = ("fabric", "metal", "wood")
CLASSES = ("good", "scratch", "spot", "crack")
SEVERITIES = (1, 2, 3)


def texture(product: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A size x size x 3 float image in [0, 1] of the product's surface."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / size
    noise = rng.normal(0, 1, (size, size))
    if product == "fabric":  # a woven grid, blue-grey
        f = rng.uniform(10, 14)
        base = 0.55 + 0.18 * np.sin(2 * np.pi * f * x) * np.sin(2 * np.pi * f * y) + 0.05 * noise
        tint = np.array([0.75, 0.85, 1.0])
    elif product == "metal":  # brushed: streaks along x, grey
        streaks = rng.normal(0, 1, (size, 1)) * 0.08
        smooth = np.asarray(Image.fromarray(((noise + 3) * 40).clip(0, 255).astype(np.uint8))
                            .filter(ImageFilter.BoxBlur(1)), dtype=np.float64) / 255 - 0.5
        base = 0.6 + streaks + 0.06 * smooth + 0.1 * (x - 0.5)
        tint = np.array([0.95, 0.95, 1.0])
    elif product == "wood":  # growth rings around an off-centre point, brown
        cx, cy = rng.uniform(-0.5, 1.5, 2)
        radius = np.hypot(x - cx, (y - cy) * 0.3)
        base = 0.5 + 0.2 * np.sin(2 * np.pi * rng.uniform(8, 12) * radius
                                  + 0.4 * noise) + 0.03 * noise
        tint = np.array([1.0, 0.75, 0.5])
    else:
        raise ValueError(f"unknown product {product!r}: {', '.join(PRODUCTS)}")
    return np.clip(base[:, :, None] * tint[None, None, :], 0, 1)


def add_defect(image: np.ndarray, kind: str, severity: int,
               rng: np.random.Generator) -> np.ndarray:
    """The texture with one defect drawn in; severity 1..3 makes it longer, wider, darker."""
    if kind == "good":
        return image
    size = image.shape[0]
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    strength = 0.25 + 0.15 * severity
    if kind == "scratch":  # a straight thin line, lighter than the surface
        length = size * (0.3 + 0.2 * severity)
        angle = rng.uniform(0, np.pi)
        cx, cy = rng.uniform(0.3, 0.7, 2) * size
        dx, dy = np.cos(angle) * length / 2, np.sin(angle) * length / 2
        draw.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=255,
                  width=max(1, severity * size // 64))
        sign = 1.0
    elif kind == "spot":  # round dark blobs
        for _ in range(severity):
            r = size * rng.uniform(0.04, 0.05 + 0.03 * severity)
            cx, cy = rng.uniform(0.2, 0.8, 2) * size
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        sign = -1.0
    elif kind == "crack":  # a jagged random walk, dark, branching with severity
        for _ in range(severity):
            point = rng.uniform(0.25, 0.75, 2) * size
            heading = rng.uniform(0, 2 * np.pi)
            path = [tuple(point)]
            for _ in range(6 + 3 * severity):
                heading += rng.normal(0, 0.7)
                point = point + size / 24 * np.array([np.cos(heading), np.sin(heading)])
                path.append(tuple(point))
            draw.line(path, fill=255, width=max(1, size // 64))
        sign = -1.0
    else:
        raise ValueError(f"unknown defect {kind!r}: {', '.join(CLASSES)}")
    alpha = np.asarray(mask.filter(ImageFilter.GaussianBlur(0.6)), dtype=np.float64) / 255
    target = 1.0 if sign > 0 else 0.05
    mixed = image + alpha[:, :, None] * strength * (target - image) / max(abs(target - 0.5), .5)
    return np.clip(mixed, 0, 1)


def sample_images(size: int, per_class: int, products: tuple[str, ...], seed: int):
    """Yield (relative path, PNG bytes) of the sample, in a stable order."""
    rng = np.random.default_rng(seed)
    for product in products:
        for kind in CLASSES:
            for i in range(per_class):
                severity = SEVERITIES[i % len(SEVERITIES)]
                pixels = add_defect(texture(product, size, rng), kind, severity, rng)
                buffer = io.BytesIO()
                Image.fromarray((pixels * 255).round().astype(np.uint8)).save(
                    buffer, format="PNG", optimize=True)
                name = f"{product}_{kind}_s{severity if kind != 'good' else 0}_{i:04d}.png"
                yield f"{product}/{kind}/{name}", buffer.getvalue()


def bad_images(corrupt: int, tiny: int, products: tuple[str, ...]):
    """Truncated PNGs and 4x4 images, for exercising validation."""
    whole = io.BytesIO()
    Image.new("RGB", (32, 32), (120, 90, 60)).save(whole, format="PNG")
    for i in range(corrupt):
        yield f"{products[i % len(products)]}/good/corrupt_{i}.png", whole.getvalue()[:40]
    for i in range(tiny):
        small = io.BytesIO()
        Image.new("RGB", (4, 4), (10, 10, 10)).save(small, format="PNG")
        yield f"{products[i % len(products)]}/good/tiny_{i}.png", small.getvalue()


def write(out: Path, size: int = 64, per_class: int = 40, products: tuple[str, ...] = PRODUCTS,
          seed: int = 7, corrupt: int = 0, tiny: int = 0, tar: Path | None = None) -> int:
    """Write the sample below `out` (or into the archive `tar`); the number of files."""
    files = list(sample_images(size, per_class, products, seed))
    files += list(bad_images(corrupt, tiny, products))
    if tar is not None:
        tar.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tar, "w") as archive:
            for name, data in files:
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(data), 0, 0o644
                archive.addfile(info, io.BytesIO(data))
        return len(files)
    for name, data in files:
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return len(files)


def write_json_lines(path: Path, size: int, per_class: int, products: tuple[str, ...],
                     seed: int) -> tuple[int, list[tuple[str, str]]]:
    """Images to score as JSON lines, one {"instances": [{"b64": ...}]} per image (what a batch
    transform over application/json with SplitType Line sends), and (key, class) of each."""
    import base64
    import json

    lines, labels = [], []
    for name, data in sample_images(size, per_class, products, seed):
        lines.append(json.dumps({"instances": [{"b64": base64.b64encode(data).decode()}]}))
        labels.append((name, name.split("/")[1]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return len(lines), labels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=Path("."))
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--products", default=",".join(PRODUCTS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--corrupt", type=int, default=0)
    parser.add_argument("--tiny", type=int, default=0)
    parser.add_argument("--tar", type=Path, help="write one .tar archive instead of files")
    parser.add_argument("--json-lines", type=Path,
                        help="write the images as one JSON lines file of base64 instead")
    args = parser.parse_args(argv)
    if args.json_lines:
        count, _ = write_json_lines(args.json_lines, args.size, args.per_class,
                                    tuple(args.products.split(",")), args.seed)
        print(f"wrote {count} images to {args.json_lines}")
        return
    count = write(args.out, args.size, args.per_class, tuple(args.products.split(",")),
                  args.seed, args.corrupt, args.tiny, args.tar)
    print(f"wrote {count} images to {args.tar or args.out}")


if __name__ == "__main__":
    main()
