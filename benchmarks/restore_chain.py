"""Restore chain: which order of deblur, denoise and x2 upscale restores best, against plain upscaling.

Run ``python -m benchmarks.restore_chain [--data ../shared/val_realblur] [--limit N]``.
Held-out photos: the sharp frames of ``val_realblur`` (camera photos, 12 of 21 with
people; never trained on), centre-cropped to 768x512. Each is degraded the way a small,
soft, noisy photo is made (fixed seed, three families): optical blur at full resolution
(defocus disc, linear motion, or soft Gaussian optics), area downscaling x2, then sensor
noise, 8-bit rounding and JPEG q90 at the low resolution. Every pipeline gets the
low-resolution photo and is scored at full resolution (PSNR/SSIM, 16 px border excluded):
the five orders of the three links (D = deblur, the default photo path; N = denoise, auto;
U = x2 upscale) and bicubic / Lanczos upscaling of the degraded photo. A second table
times each link in ms per input megapixel, fp32 and int8, side by side in one run.

Writes ``benchmarks/results/restore/``: ``restore.json``, ``restore.md`` and ``strip.png``
(a small, soft, noisy portrait: Lanczos | chain | original, with 100 % crops of the eyes).
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from numpy.typing import NDArray

from benchmarks.run_meta import finish, header, run_meta
from convert.realval import read_pairs
from runtime.lab.degradations import convolve, jpeg_roundtrip
from runtime.lab.metrics import psnr, ssim
from runtime.photo.imageio import read_image
from runtime.photo.kernels import defocus_kernel, gaussian_kernel, linear_motion_kernel, linear_to_srgb, srgb_to_linear

Image = NDArray[np.float32]
OUT = Path(__file__).parent / "results" / "restore"
BORDER_PX = 16
CROP_HW = (512, 768)
FAMILIES = ("defocus", "motion", "soft")
ORDERS = ("DNU", "NDU", "DUN", "UDN", "UND")
"""DNU is the chain's default; UND runs the links in the reverse order."""


@dataclass(frozen=True, slots=True)
class Row:
    """One pipeline on one degraded photo."""

    photo: str
    family: str
    pipeline: str
    psnr: float
    ssim: float
    seconds: float


def _kernel(family: str, rng: np.random.Generator) -> Image:
    if family == "defocus":
        return defocus_kernel(rng.uniform(2.5, 4.5))
    if family == "motion":
        return linear_motion_kernel(rng.uniform(9, 19), rng.uniform(0, 180))
    return gaussian_kernel(rng.uniform(1.5, 2.5))


def degrade_small(sharp: Image, family: str, rng: np.random.Generator) -> Image:
    """Full-resolution sRGB photo -> the small, soft, noisy photo (half the size)."""
    lin = convolve(srgb_to_linear(sharp), _kernel(family, rng))
    small = cv2.resize(lin, (sharp.shape[1] // 2, sharp.shape[0] // 2), interpolation=cv2.INTER_AREA)
    sigma = rng.uniform(0.01, 0.03)
    noisy = linear_to_srgb(np.clip(small, 0, 1)) + rng.normal(scale=sigma, size=small.shape).astype(np.float32)
    return jpeg_roundtrip(np.clip(noisy, 0, 1), 90)


def centre_crop(img: Image, hw: tuple[int, int] = CROP_HW) -> Image:
    h, w = img.shape[:2]
    ch, cw = min(hw[0], h // 2 * 2), min(hw[1], w // 2 * 2)
    y, x = (h - ch) // 2, (w - cw) // 2
    return img[y:y + ch, x:x + cw]


def resize(img: Image, scale: int, interpolation: int) -> Image:
    out = cv2.resize(img, (img.shape[1] * scale, img.shape[0] * scale), interpolation=interpolation)
    return np.clip(out, 0, 1).astype(np.float32)
