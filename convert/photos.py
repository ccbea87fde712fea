"""Training photos: any folder tree of JPEG/PNG photos -> one tensor pool of square patches.

The pool is what makes batched cropping possible: every photo is resized so its long side
is ``long_side`` px (and once more at half that, for scale variety without resampling at
crop time), cut into overlapping ``patch`` x ``patch`` squares, and all squares are stacked
into one uint8 NCHW tensor. A batch is then one gather (``crop_batch``) on whatever device
holds the pool, with no per-sample Python loop.

Faces can be weighted: a second set of folders is pooled separately and drawn with
probability ``face_fraction``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from numpy.typing import NDArray

from runtime.errors import ConfigError

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
MIN_PAD_FRACTION = 0.9
"""A photo whose short side is at least this share of the patch is reflect-padded up to it:
mirrored borders keep every pixel sharp, where an upscale would soften the targets. Without
it the 73 LFW faces of ``train_photos`` (250 x 250, patches of 256) never gave a patch."""


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """How photos become patches."""

    patch: int = 256
    long_side: int = 512
    stride_fraction: float = 0.75

    def __post_init__(self) -> None:
        if self.patch < 32 or self.long_side < self.patch:
            raise ConfigError(f"patch {self.patch} must be >= 32 and <= long_side {self.long_side}")


def list_photos(folders: list[Path]) -> list[Path]:
    """Every JPEG/PNG under ``folders`` (recursively), sorted for reproducibility.

    Raises:
        ConfigError: a folder is missing or holds no photos.
    """
    found: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            raise ConfigError(f"--data {folder}: not a folder; pass a folder tree of JPEG/PNG photos")
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())
        if not files:
            raise ConfigError(f"--data {folder}: no .jpg/.jpeg/.png files inside")
        found += files
    return found


def pick_photos(folder: Path, count: int, rng: np.random.Generator) -> list[Path]:
    """``count`` photos under ``folder`` drawn by ``rng`` without replacement (all if fewer)."""
    files = list_photos([folder])
    return [files[i] for i in rng.choice(len(files), size=min(count, len(files)), replace=False)]


def shrink_to_long_side(img: NDArray[np.generic], long_side: int) -> NDArray[np.generic]:
    """``img`` area-downscaled so its long side is ``long_side``; never enlarged."""
    scale = long_side / max(img.shape[:2])
    if scale >= 1:
        return img
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _patches(img: NDArray[np.uint8], cfg: PoolConfig) -> list[NDArray[np.uint8]]:
    h, w = img.shape[:2]
    if min(h, w) < cfg.patch:
        if min(h, w) < MIN_PAD_FRACTION * cfg.patch:
            return []
        ph, pw = max(0, cfg.patch - h), max(0, cfg.patch - w)
        img = cv2.copyMakeBorder(img, ph // 2, ph - ph // 2, pw // 2, pw - pw // 2, cv2.BORDER_REFLECT_101)
        h, w = img.shape[:2]
    step = max(1, int(cfg.patch * cfg.stride_fraction))
    ys = sorted({*range(0, h - cfg.patch + 1, step), h - cfg.patch})
    xs = sorted({*range(0, w - cfg.patch + 1, step), w - cfg.patch})
    return [img[y:y + cfg.patch, x:x + cfg.patch] for y in ys for x in xs]


def pool_from_images(images: list[NDArray[np.uint8]], cfg: PoolConfig) -> torch.Tensor:
    """Patches of RGB uint8 images at two scales, as a (N, 3, patch, patch) uint8 tensor.

    Raises:
        ConfigError: no image is large enough for one patch.
    """
    out: list[NDArray[np.uint8]] = []
    for img in images:
        big = shrink_to_long_side(img, cfg.long_side)
        out += _patches(big, cfg)
        half = shrink_to_long_side(big, max(cfg.patch, cfg.long_side // 2))
        if half.shape != big.shape:              # a small photo has no second scale
            out += _patches(half, cfg)
    if not out:
        raise ConfigError(f"no training photo has a short side >= {int(MIN_PAD_FRACTION * cfg.patch)} px; "
                          "lower --crop")
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


def load_folder_pool(folders: list[Path], cfg: PoolConfig) -> torch.Tensor:
    """Read every photo under ``folders`` and pool it (see ``pool_from_images``)."""
    images = []
    for path in list_photos(folders):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ConfigError(f"--data: cannot decode {path}; remove it or re-save it as JPEG/PNG")
        images.append(np.ascontiguousarray(bgr[..., ::-1]))
    return pool_from_images(images, cfg)


def crop_batch(pool: torch.Tensor, n: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` random ``size`` x ``size`` crops with random flips and transposes, float in [0, 1].

    One gather for the whole batch: index grids (n, size) per axis select rows and columns.
    """
    dev = pool.device
    p = pool.shape[-1]
    if size > p:
        raise ConfigError(f"crop {size} is larger than the pooled patches ({p} px)")
    idx = torch.randint(len(pool), (n,), generator=gen, device=dev)
    oy = torch.randint(p - size + 1, (n,), generator=gen, device=dev)
    ox = torch.randint(p - size + 1, (n,), generator=gen, device=dev)
    ar = torch.arange(size, device=dev)
    rows, cols = (oy[:, None] + ar), (ox[:, None] + ar)
    x = pool[idx[:, None, None], :, rows[:, :, None], cols[:, None, :]]  # (n, size, size, 3)
    x = x.permute(0, 3, 1, 2).float().div_(255)
    flip = torch.rand(n, generator=gen, device=dev) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    tr = torch.rand(n, generator=gen, device=dev) < 0.5
    return torch.where(tr[:, None, None, None], x.transpose(-1, -2), x).contiguous()
