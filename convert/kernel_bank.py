"""A bank of blur kernels for batched training, padded to one size so a batch is one tensor.

Kernels come from ``runtime.synth`` (camera-shake trajectories, linear motion, Gaussian)
plus defocus through real aperture shapes (5-9 straight blades, a soft rim from spherical
aberration), because a lens iris is a polygon, not a perfect disc. Shake and motion reach
``max_extent_px`` (default 45 px: real shake kernels are 13-27 px in Levin et al. 2009 and
up to ~75 px in Lai et al. 2016), drawn log-uniformly so short blur stays common.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from numpy.typing import NDArray

from runtime.photo import kernels as synth
from runtime.errors import ConfigError

FAMILY_P = {"shake": 0.45, "motion": 0.15, "defocus": 0.30, "gaussian": 0.10}


@dataclass(frozen=True, slots=True)
class BankConfig:
    """What the bank holds."""

    size: int = 4000
    max_extent_px: float = 45.0
    max_defocus_radius_px: float = 10.0

    def __post_init__(self) -> None:
        if self.size < 1 or self.max_extent_px < 3 or self.max_defocus_radius_px < 1:
            raise ConfigError("bank size >= 1, max_extent_px >= 3, max_defocus_radius_px >= 1")

    @property
    def side(self) -> int:
        """Padded kernel side: odd, large enough for the longest kernel and the widest disc."""
        side = int(np.ceil(max(self.max_extent_px + 4, 2 * self.max_defocus_radius_px + 4)))
        return side + 1 - side % 2


def aperture_kernel(radius_px: float, blades: int, rotation: float, rim: float) -> NDArray[np.float32]:
    """Defocus through a ``blades``-sided iris; ``rim`` > 0 brightens the edge (soap-bubble bokeh)."""
    ss = 8
    size = 2 * int(np.ceil(radius_px)) + 3
    c = (size * ss - 1) / 2
    yy, xx = (np.mgrid[: size * ss, : size * ss] - c) / ss
    r, t = np.hypot(yy, xx), np.arctan2(yy, xx) - rotation
    sector = 2 * np.pi / blades
    # distance to a regular polygon's edge along angle t, for circumradius radius_px
    edge = radius_px * np.cos(sector / 2) / np.cos((t % sector) - sector / 2)
    inside = r <= edge
    weight = np.where(inside, 1.0 + rim * (r / np.maximum(edge, 1e-6)) ** 4, 0.0)
    k = weight.reshape(size, ss, size, ss).mean(axis=(1, 3))
    return (k / k.sum()).astype(np.float32)


def _draw(rng: np.random.Generator, family: str, cfg: BankConfig) -> NDArray[np.float32]:
    lo, hi = np.log(3.0), np.log(cfg.max_extent_px)
    if family == "shake":
        return synth.camera_shake_kernel(rng, float(np.exp(rng.uniform(lo, hi))))
    if family == "motion":
        return synth.linear_motion_kernel(float(np.exp(rng.uniform(lo, hi))), rng.uniform(0, 180))
    if family == "defocus":
        radius = float(np.exp(rng.uniform(np.log(1.0), np.log(cfg.max_defocus_radius_px))))
        if rng.random() < 0.5:
            return synth.defocus_kernel(radius)
        return aperture_kernel(radius, int(rng.integers(5, 10)), rng.uniform(0, np.pi), rng.uniform(0, 0.8))
    return synth.gaussian_kernel(rng.uniform(0.4, 3.0))


def _pad_to(k: NDArray[np.float32], side: int) -> NDArray[np.float32]:
    if k.shape[0] > side:  # a shake path longer than planned: shrink, keep its shape
        k = cv2.resize(k, (side, side), interpolation=cv2.INTER_AREA)
        k = k / k.sum()
    py, px = side - k.shape[0], side - k.shape[1]
    return np.pad(k, ((py // 2, py - py // 2), (px // 2, px - px // 2)))


def make_bank(cfg: BankConfig, seed: int) -> torch.Tensor:
    """(size, side, side) float32 kernels, each summing to 1, centred in the padded square."""
    rng = np.random.default_rng(seed)
    names = list(FAMILY_P)
    p = np.array([FAMILY_P[n] for n in names])
    fams = rng.choice(len(names), size=cfg.size, p=p / p.sum())
    return torch.from_numpy(np.stack([_pad_to(_draw(rng, names[f], cfg), cfg.side) for f in fams]))
