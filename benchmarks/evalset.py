"""The quality benchmark's data: evaluation cases on EVAL_IMAGES; baseline tuning on TRAIN_IMAGES.

Every case is fixed by seeds, so two runs see bit-identical blurry inputs. Kernels follow
the project's reference protocol (shared RESEARCH.md): 8 camera-shake kernels (extents 9-25
px; every second one left off-centre, like 4 of the 8 Levin et al. 2009 kernels, so the
translation they cause counts), straight motion of 7-21 px at oblique angles, defocus
discs r = 2..6, then Gaussian noise sigma 0.01 on the sRGB values. Four more cases per
image are sharp or barely blurred (group ``mild``): a deblurrer must not lose PSNR there;
four are blurred in sRGB instead of linear light (group ``srgb``: what many public blur sets
and phone pipelines effectively did).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from runtime.errors import ConfigError
from runtime.lab.degradations import convolve, degrade
from runtime.lab.metrics import psnr
from runtime.lab.sample_images import EVAL_IMAGES, FACE_IMAGES, TRAIN_IMAGES, load_sample_scaled
from runtime.photo.classical import unsharp_mask
from runtime.photo.kernels import BlurFamily, camera_shake_kernel, defocus_kernel, gaussian_kernel, linear_motion_kernel

FloatImage = NDArray[np.float32]

NOISE_SIGMA = 0.01
SHAKE_EXTENTS_PX: tuple[float, ...] = (9, 11, 13, 15, 18, 20, 22, 25)
SHAKE_SEED = 2009
MOTION_LENGTHS_ANGLES: tuple[tuple[float, float], ...] = ((7, 15.0), (11, 60.0), (15, 105.0), (21, 150.0))
DEFOCUS_RADII_PX: tuple[float, ...] = (2, 3, 4, 5, 6)
MILD_GROUP = "mild"
"""Report column of the sharp / barely blurred cases (kept out of 'all')."""
SRGB_GROUP = "srgb"
"""Report column of the cases blurred in sRGB rather than linear light (kept out of 'all')."""
TUNE_IMAGES: tuple[str, ...] = ("rocket", "motorcycle", "camera", "coins")
"""The TRAIN_IMAGES photos that tune baseline parameters (never an evaluation image)."""
UNSHARP_AMOUNTS: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
UNSHARP_RADII_PX: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)

FACE_BOXES: dict[str, tuple[float, float, float]] = {
    "astronaut": (0.44, 0.20, 0.30),
    "grace_hopper": (0.51, 0.38, 0.40),
}
"""Face crop per face image: centre x / width, centre y / height, side / width."""


@dataclass(frozen=True, slots=True)
class BlurKernel:
    """One benchmark kernel.

    ``group`` is the report column (camera_shake, linear_motion, defocus_r2..r6);
    ``size_px`` is the extent, length or radius; ``centred`` says whether its centroid
    sits on the centre pixel (False: the blur also shifts the image).
    """

    kernel_id: str
    family: BlurFamily
    group: str
    size_px: float
    angle_deg: float | None
    centred: bool
    kernel: FloatImage
    srgb: bool = False


@dataclass(frozen=True, slots=True)
class Case:
    """One sharp image, its blurred and noisy version, and the kernel that made it."""

    case_id: str
    image_name: str
    blur: BlurKernel
    sharp: FloatImage
    blurry: FloatImage


def benchmark_kernels() -> list[BlurKernel]:
    """The 25 fixed kernels: 8 camera shake, 4 linear motion, 5 defocus, 4 mild ones (none,
    Gaussian sigma 1, a 5 px shake, defocus r1: in-focus and nearly sharp photos), then 4
    applied in sRGB (two shakes, a streak, a disc)."""
    out: list[BlurKernel] = []
    for i, extent in enumerate(SHAKE_EXTENTS_PX):
        centred = i % 2 == 0
        k = camera_shake_kernel(np.random.default_rng(SHAKE_SEED + i), extent, recentre=centred)
        out.append(BlurKernel(f"shake{i + 1}", BlurFamily.CAMERA_SHAKE, "camera_shake", float(extent), None,
                              centred, k))
    for length, angle in MOTION_LENGTHS_ANGLES:
        out.append(BlurKernel(f"motion{length:g}", BlurFamily.LINEAR_MOTION, "linear_motion", float(length),
                              angle, True, linear_motion_kernel(length, angle)))
    for r in DEFOCUS_RADII_PX:
        out.append(BlurKernel(f"defocus_r{r:g}", BlurFamily.DEFOCUS, f"defocus_r{r:g}", float(r), None, True,
                              defocus_kernel(r)))
    out += [
        BlurKernel("mild_none", BlurFamily.GAUSSIAN, MILD_GROUP, 0.0, None, True, np.ones((1, 1), np.float32)),
        BlurKernel("mild_gauss1", BlurFamily.GAUSSIAN, MILD_GROUP, 1.0, None, True, gaussian_kernel(1.0)),
        BlurKernel("mild_shake5", BlurFamily.CAMERA_SHAKE, MILD_GROUP, 5.0, None, True,
                   camera_shake_kernel(np.random.default_rng(SHAKE_SEED - 1), 5.0)),
        BlurKernel("mild_defocus1", BlurFamily.DEFOCUS, MILD_GROUP, 1.0, None, True, defocus_kernel(1.0)),
        BlurKernel("srgb_shake13", BlurFamily.CAMERA_SHAKE, SRGB_GROUP, 13.0, None, True,
                   camera_shake_kernel(np.random.default_rng(SHAKE_SEED + 100), 13.0), srgb=True),
        BlurKernel("srgb_shake22", BlurFamily.CAMERA_SHAKE, SRGB_GROUP, 22.0, None, True,
                   camera_shake_kernel(np.random.default_rng(SHAKE_SEED + 101), 22.0), srgb=True),
        BlurKernel("srgb_motion15", BlurFamily.LINEAR_MOTION, SRGB_GROUP, 15.0, 40.0, True,
                   linear_motion_kernel(15, 40.0), srgb=True),
        BlurKernel("srgb_defocus4", BlurFamily.DEFOCUS, SRGB_GROUP, 4.0, None, True, defocus_kernel(4.0), srgb=True),
    ]
    return out


def prepare(name: str, long_side_px: int) -> FloatImage:
    """Load a package photo and resize its long side (area filter) -> float32 sRGB [0, 1]."""
    if long_side_px < 128:
        raise ConfigError(f"long side {long_side_px} px is too small for the benchmark; use >= 128")
    return load_sample_scaled(name, long_side_px)


def _seed(text: str) -> int:
    return zlib.crc32(text.encode())


def eval_cases(images: tuple[str, ...], long_side_px: int, kernel_ids: tuple[str, ...] | None = None) -> list[Case]:
    """Every (image, kernel) pair on evaluation images, degraded with a per-case seed.

    ``kernel_ids`` restricts the kernels (None: all 21); a case's blurry image does not
    depend on which other cases run.
    """
    unknown = sorted(set(images) - set(EVAL_IMAGES))
    if unknown:
        raise ConfigError(f"{', '.join(unknown)} are not evaluation images; use {', '.join(EVAL_IMAGES)}")
    kernels = benchmark_kernels()
    if kernel_ids is not None:
        missing = sorted(set(kernel_ids) - {k.kernel_id for k in kernels})
        if missing:
            raise ConfigError(f"unknown kernel id(s) {', '.join(missing)}; "
                              f"known: {', '.join(k.kernel_id for k in kernels)}")
        kernels = [k for k in kernels if k.kernel_id in kernel_ids]
    cases: list[Case] = []
    for name in images:
        sharp = prepare(name, long_side_px)
        for bk in kernels:
            case_id = f"{name}/{bk.kernel_id}"
            rng = np.random.default_rng(_seed(case_id))
            cases.append(Case(case_id, name, bk, sharp, _blurred(sharp, bk, rng)))
    return cases


def _blurred(sharp: FloatImage, bk: BlurKernel, rng: np.random.Generator) -> FloatImage:
    if not bk.srgb:
        return degrade(sharp, bk.kernel, rng, srgb_noise_sigma=NOISE_SIGMA)
    out = convolve(sharp, bk.kernel) + rng.normal(scale=NOISE_SIGMA, size=sharp.shape).astype(np.float32)
    return np.clip(out, 0, 1).astype(np.float32)


def tuning_cases(long_side_px: int, per_family: int = 2, images: tuple[str, ...] = TUNE_IMAGES) -> list[Case]:
    """Blurred TRAIN_IMAGES photos with kernels drawn apart from the evaluation kernels."""
    if set(images) & set(EVAL_IMAGES) or not set(images) <= set(TRAIN_IMAGES):
        raise ConfigError(f"tuning images must come from TRAIN_IMAGES, got {', '.join(images)}")
    rng = np.random.default_rng(7)
    cases: list[Case] = []
    for name in images:
        sharp = prepare(name, long_side_px)
        for j in range(per_family):
            extent, length, radius = rng.uniform(9, 25), rng.uniform(7, 21), rng.uniform(2, 6)
            for bk in (
                BlurKernel(f"tune_shake{j}", BlurFamily.CAMERA_SHAKE, "camera_shake", extent, None, True,
                           camera_shake_kernel(rng, extent)),
                BlurKernel(f"tune_motion{j}", BlurFamily.LINEAR_MOTION, "linear_motion", length, None, True,
                           linear_motion_kernel(length, rng.uniform(0, 180))),
                BlurKernel(f"tune_defocus{j}", BlurFamily.DEFOCUS, "defocus", radius, None, True,
                           defocus_kernel(radius)),
            ):
                blurry = degrade(sharp, bk.kernel, rng, srgb_noise_sigma=NOISE_SIGMA)
                cases.append(Case(f"{name}/{bk.kernel_id}", name, bk, sharp, blurry))
    return cases


@dataclass(frozen=True, slots=True)
class UnsharpParams:
    """Unsharp-mask setting chosen on the tuning cases, with its mean gain there."""

    amount: float
    radius_px: float
    tune_gain_db: float



def tune_unsharp(cases: list[Case], border_px: int) -> UnsharpParams:
    """Grid-search amount x radius for the best mean PSNR gain on (TRAIN_IMAGES) tuning cases."""
    base = [psnr(c.sharp, c.blurry, border_px) for c in cases]
    best = UnsharpParams(0.0, 1.0, 0.0)
    for amount in UNSHARP_AMOUNTS:
        for radius in UNSHARP_RADII_PX:
            gain = float(np.mean([psnr(c.sharp, unsharp_mask(c.blurry, amount, radius), border_px) - b
                                  for c, b in zip(cases, base)]))
            if gain > best.tune_gain_db:
                best = UnsharpParams(amount, radius, gain)
    return best


def face_crop(name: str, shape_hw: tuple[int, ...]) -> tuple[slice, slice]:
    """Square face crop (rows, cols) for a face image of ``shape_hw``."""
    if name not in FACE_BOXES:
        raise ConfigError(f"no face box for {name!r}; face images are {', '.join(FACE_IMAGES)}")
    cx, cy, side = FACE_BOXES[name]
    h, w = shape_hw[:2]
    s = round(side * w)
    top = int(np.clip(round(cy * h - s / 2), 0, h - s))
    left = int(np.clip(round(cx * w - s / 2), 0, w - s))
    return slice(top, top + s), slice(left, left + s)
