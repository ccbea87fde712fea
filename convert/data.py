"""Training data without downloads: procedural dead-leaves images plus package photos,
degraded on the fly by runtime.synth's camera pipeline.

Dead-leaves images (occluding discs with power-law radii) have the scale-invariant edge
statistics of natural photos, which is what a deblur net needs to learn; package photos
(runtime.lab.sample_images.TRAIN_IMAGES only, never the evaluation set) add real textures.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.lab import degradations as synth
from runtime.errors import ConfigError
from runtime.lab.sample_images import TRAIN_IMAGES, load_sample

FAMILY_WEIGHTS: dict[synth.BlurFamily, float] = {
    synth.BlurFamily.CAMERA_SHAKE: 0.4,
    synth.BlurFamily.LINEAR_MOTION: 0.2,
    synth.BlurFamily.DEFOCUS: 0.3,
    synth.BlurFamily.GAUSSIAN: 0.1,
}


def dead_leaves(rng: np.random.Generator, size: int = 384, n_discs: int = 1200) -> NDArray[np.float32]:
    """A dead-leaves image: HxWx3 float32 sRGB, discs with radius density ~ r^-3, some textured."""
    img = np.zeros((size, size, 3), np.float32)
    img[:] = rng.random(3)
    r_min, r_max = 3.0, size / 3
    u = rng.random(n_discs)
    radii = 1 / np.sqrt(u / r_min**2 + (1 - u) / r_max**2)  # inverse CDF of p(r) ~ r^-3
    for r in radii:  # random order: occlusion keeps the scale mix natural
        cx, cy = rng.integers(0, size, 2)
        grey = rng.random()
        colour = np.clip(grey + rng.normal(scale=0.15, size=3), 0, 1)  # natural, low saturation
        if r > 12 and rng.random() < 0.3:
            layer = img.copy()
            yy, xx = np.mgrid[:size, :size].astype(np.float32)
            f, a = rng.uniform(0.05, 0.5), rng.uniform(0, np.pi)
            stripes = 0.5 + 0.5 * np.sin(f * (xx * np.cos(a) + yy * np.sin(a)))
            tex = colour[None, None] * (0.6 + 0.4 * stripes[..., None])
            mask = np.zeros((size, size), np.uint8)
            cv2.circle(mask, (int(cx), int(cy)), int(r), 1, -1, lineType=cv2.LINE_AA)
            layer[mask > 0] = tex[mask > 0]
            img = layer
        else:
            cv2.circle(img, (int(cx), int(cy)), int(r), colour.tolist(), -1, lineType=cv2.LINE_AA)
    return np.clip(img, 0, 1)


@dataclass(frozen=True, slots=True)
class DataConfig:
    """How training pairs are made."""

    crop: int = 96
    max_extent_px: float = 25.0
    dead_leaves_fraction: float = 0.5
    pool_dead_leaves: int = 48
    max_read_noise: float = 0.02
    max_shot_gain: float = 0.01
    jpeg_probability: float = 0.3
    sharp_fraction: float = 0.0
    """Pairs whose input is only noise/JPEG, no blur: teaches the net to leave sharp input alone."""
    max_scale: float = 1.0
    """Sources are resized by U(0.5, max_scale); above 1 they include soft, upscaled content
    (video frames, digital zoom) whose sharp version has no crisp edges to invent."""
    soft_fraction: float = 0.0
    """Sources pre-softened by a Gaussian (sigma 0.5-2 px) before degradation: the ground
    truth itself is soft, so inventing edges costs PSNR (curbs the dead-leaves 'cartoon' look)."""

    def __post_init__(self) -> None:
        if self.crop % 8:
            raise ConfigError(f"crop {self.crop} must be a multiple of 8")
        fractions = (self.dead_leaves_fraction, self.sharp_fraction, self.soft_fraction, self.jpeg_probability)
        if not all(0 <= f <= 1 for f in fractions):
            raise ConfigError("dead_leaves_fraction, sharp_fraction, soft_fraction and jpeg_probability "
                              "must be in [0, 1]")
        if not 0.5 <= self.max_scale <= 3:
            raise ConfigError(f"max_scale {self.max_scale} must be in [0.5, 3]")


class PairSampler:
    """Draws (blurry, sharp) float32 NHWC batches; deterministic for a given seed."""

    def __init__(self, config: DataConfig, seed: int) -> None:
        self.config = config
        self.rng = np.random.default_rng(seed)
        pool_rng = np.random.default_rng(seed + 1)
        self.leaves = [dead_leaves(pool_rng) for _ in range(config.pool_dead_leaves)]
        self.photos = [load_sample(n).astype(np.float32) / 255 for n in TRAIN_IMAGES]
        self.families = list(FAMILY_WEIGHTS)
        w = np.array([FAMILY_WEIGHTS[f] for f in self.families])
        self.family_p = w / w.sum()

    def _source(self, side: int) -> NDArray[np.float32]:
        rng = self.rng
        pool = self.leaves if rng.random() < self.config.dead_leaves_fraction else self.photos
        img = pool[rng.integers(len(pool))]
        scale = rng.uniform(0.5, self.config.max_scale)
        if min(img.shape[:2]) * scale < side:
            scale = side / min(img.shape[:2])
        if scale > 1.001:  # upscale only the window that is needed
            need = min(int(np.ceil(side / scale)) + 4, *img.shape[:2])
            y, x = (int(rng.integers(0, n - need + 1)) for n in img.shape[:2])
            img = cv2.resize(img[y:y + need, x:x + need], None, fx=scale, fy=scale,
                             interpolation=cv2.INTER_CUBIC)
        elif scale < 0.999:
            img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        y = rng.integers(0, img.shape[0] - side + 1)
        x = rng.integers(0, img.shape[1] - side + 1)
        patch = img[y:y + side, x:x + side]
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        patch = np.rot90(patch, rng.integers(4))
        if rng.random() < 0.3:  # colour jitter: channel permutation + gain
            patch = patch[..., rng.permutation(3)] * rng.uniform(0.8, 1.1)
        if rng.random() < self.config.soft_fraction:
            patch = cv2.GaussianBlur(np.ascontiguousarray(patch), (0, 0), rng.uniform(0.5, 2.0),
                                     borderType=cv2.BORDER_REFLECT)
        return np.ascontiguousarray(np.clip(patch, 0, 1), dtype=np.float32)

    def sharp_crops(self, n: int, side: int) -> NDArray[np.float32]:
        """``n`` clean source crops, (n, side, side, 3) float32 sRGB (the denoiser's and the
        upscaler's calibration images, before their degradations)."""
        return np.stack([self._source(side) for _ in range(n)])

    def pair(self, max_extent_px: float | None = None) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """One (blurry, sharp) pair, each crop x crop x 3 sRGB."""
        cfg, rng = self.config, self.rng
        family = self.families[rng.choice(len(self.families), p=self.family_p)]
        if rng.random() < cfg.sharp_fraction:
            k = np.ones((1, 1), np.float32)
        else:
            k = synth.random_kernel(rng, family, max_extent_px or cfg.max_extent_px).kernel
        pad = k.shape[0] // 2
        src = self._source(cfg.crop + 2 * pad)
        noise = synth.NoiseConfig(rng.uniform(0, cfg.max_read_noise), rng.uniform(0, cfg.max_shot_gain))
        jpeg = int(rng.integers(60, 96)) if rng.random() < cfg.jpeg_probability else None
        blurry = synth.degrade(src, k, rng, noise=noise, jpeg_quality=None, valid=True)
        if jpeg is not None:
            blurry = synth.jpeg_roundtrip(blurry, jpeg)
        sharp = src[pad:pad + cfg.crop, pad:pad + cfg.crop]
        return blurry, sharp

    def batch(self, n: int, max_extent_px: float | None = None) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """``n`` pairs stacked as (n, crop, crop, 3) float32 arrays."""
        pairs = [self.pair(max_extent_px) for _ in range(n)]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
