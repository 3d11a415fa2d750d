"""Training data: a split's images (packed shards in memory, or PNG files decoded per item in
the loader's workers), augmented and normalised per item, and the DataLoader around them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from runtime_scripts.use_cases.defects.preprocess_job import load_split, read_manifest


class SplitImages(Dataset):
    """One preprocessed split. `augment` in [0, 1] scales the augmentations: flips and quarter
    turns (a defect has no orientation), shifts of up to 1/8 of the side, brightness and
    contrast jitter of up to 25%."""

    def __init__(self, split_dir: Path, mean: list[float], std: list[float],
                 augment: float = 0.0, seed: int = 0) -> None:
        rows = read_manifest(split_dir)
        self.lazy = bool(rows) and not rows[0]["shard"].endswith(".npz")
        if self.lazy:  # PNG files: decoded in __getitem__, i.e. in the loader's workers
            self.files = [split_dir / r["shard"] for r in rows]
            self.labels = np.array([int(r["label_index"]) for r in rows], dtype=np.int64)
        else:
            self.images, self.labels = load_split(split_dir)
        self.mean = np.asarray(mean, dtype=np.float32)[:, None, None]
        self.std = np.asarray(std, dtype=np.float32)[:, None, None]
        self.augment = float(augment)
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, index: int) -> np.ndarray:
        if not self.lazy:
            return self.images[index]
        from PIL import Image

        array = np.asarray(Image.open(io.BytesIO(self.files[index].read_bytes())))
        return array[:, :, None] if array.ndim == 2 else array

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        x = self.image(index).astype(np.float32).transpose(2, 0, 1) / 255.0  # C x H x W
        if self.augment > 0:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            x = augment(x, self.augment, rng)
        x = (x - self.mean) / self.std
        return torch.from_numpy(np.ascontiguousarray(x)), int(self.labels[index])


def augment(x: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.5 * strength + 0.25 * (strength > 0):
        x = x[:, :, ::-1]
    if rng.random() < 0.5 * strength:
        x = x[:, ::-1, :]
    x = np.rot90(x, int(rng.integers(0, 4)) if rng.random() < strength else 0, axes=(1, 2))
    limit = int(round(strength * x.shape[1] / 8))
    if limit:
        dy, dx = rng.integers(-limit, limit + 1, 2)
        x = np.roll(x, (int(dy), int(dx)), axis=(1, 2))
    gain = 1 + rng.uniform(-0.25, 0.25) * strength
    bias = rng.uniform(-0.1, 0.1) * strength
    mean = x.mean()
    return np.clip((x - mean) * gain + mean + bias, 0, 1)


def loader(dataset: SplitImages, *, batch_size: int, shuffle: bool, workers: int,
           pin_memory: bool, prefetch_factor: int, seed: int,
           world: tuple[int, int] | None = None) -> DataLoader:
    """`world` (rank, size): each process reads its own 1/size of the data (DistributedSampler)."""
    sampler = None
    if world is not None and world[1] > 1:
        sampler = DistributedSampler(dataset, num_replicas=world[1], rank=world[0],
                                     shuffle=shuffle, seed=seed, drop_last=False)
    generator = torch.Generator().manual_seed(seed)
    # Workers are started per epoch (not persistent), so each sees the epoch its augmentation
    # draws depend on.
    extra = {"prefetch_factor": prefetch_factor} if workers else {}
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle and sampler is None,
                      sampler=sampler, num_workers=workers, pin_memory=pin_memory,
                      generator=generator, drop_last=False, **extra)
