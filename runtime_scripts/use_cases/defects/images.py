"""Reading images: decode, check, convert the mode, resize. One function for preprocessing,
serving and batch, so that a served image is prepared exactly as the training images were."""

from __future__ import annotations

import io
import tarfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from runtime_scripts.common.jobio import JobError

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")
# Decompression bombs: Pillow warns past 89 Mpx and refuses past twice that; we refuse past it.
MAX_PIXELS = 40_000_000
# PNG, JPEG, GIF, BMP, TIFF: a file that starts like one but does not decode is corrupt.
SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


class ImageProblem(ValueError):
    """An image that cannot be used; `kind` is "corrupt", "too_small", "too_large" or
    "unsupported", the message says why."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Decoded:
    array: np.ndarray  # uint8, size x size x channels
    width: int  # as received, before resizing
    height: int
    mode: str  # as received


def decode(data: bytes, *, size: int, mode: str, min_side: int) -> Decoded:
    """`data` (PNG, JPEG, or anything Pillow reads) -> a size x size array in `mode`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageProblem("too_large", f"{width}x{height} pixels is over the "
                                   f"{MAX_PIXELS:,}-pixel limit: downscale it first")
            image.load()  # the whole file: a truncated one fails here, not later
    except ImageProblem:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        if isinstance(exc, UnidentifiedImageError) and not data.startswith(SIGNATURES):
            raise ImageProblem("unsupported", "not an image format this model reads (PNG, "
                               "JPEG, and others Pillow reads)") from None
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, UnidentifiedImageError):
            first = "truncated or damaged"
        raise ImageProblem("corrupt", f"a corrupt image ({first})") from None
    if min(width, height) < min_side:
        raise ImageProblem("too_small", f"{width}x{height} is smaller than the {min_side}-pixel "
                           "minimum side (the dataset spec's min_side)")
    received = image.mode
    if image.mode in ("P", "PA", "LA", "RGBA", "I;16", "I", "F", "CMYK", "YCbCr", "1"):
        # Palette and alpha: flatten on white, as a viewer shows them; high bit depths scaled.
        if image.mode in ("I;16", "I", "F"):
            values = np.asarray(image, dtype=np.float64)
            span = max(float(values.max() - values.min()), 1e-9)
            image = Image.fromarray(((values - values.min()) / span * 255).astype(np.uint8))
        else:
            rgba = image.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(white, rgba)
    image = image.convert(mode)
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return Decoded(array, width, height, received)


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def list_images(root: Path, extensions: tuple[str, ...], unpack_to: Path) -> list[tuple[str, Path]]:
    """(key, path) of every image below `root`, keys relative to it (`product/class/x.png`);
    .tar archives there are unpacked below `unpack_to` and their members listed under the
    archive's folder. Hidden files are skipped."""
    if not root.is_dir():
        raise JobError(f"input directory {root} does not exist: map the raw input channel to it")
    found: list[tuple[str, Path]] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        if is_archive(path):
            target = unpack_to / relative.parent / path.name.split(".")[0]
            with tarfile.open(path) as archive:
                archive.extractall(target, filter="data")
            found += [(str(relative.parent / key) if str(relative.parent) != "." else key, p)
                      for key, p in list_images(target, extensions, unpack_to / "_nested")]
        elif path.suffix.lower() in extensions:
            found.append((relative.as_posix(), path))
    return found


def class_and_product(key: str) -> tuple[str, str]:
    """`[.../]<product>/<class>/<file>` -> (class, product); no product folder: product ""."""
    parts = key.split("/")
    if len(parts) < 2:
        raise JobError(f"{key} is not in a class folder: the layout is <class>/<image> or "
                       "<product>/<class>/<image>")
    return parts[-2], parts[-3] if len(parts) >= 3 else ""
