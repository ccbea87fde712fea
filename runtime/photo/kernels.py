"""Point-spread functions and the sRGB transfer curve: the blur model the photo path inverts.

Images are float32 HxWx3 sRGB in [0, 1]; a lens blurs in linear light, but many public blur
sets and phone pipelines blur the encoded sRGB values, so the curve and the space a blur
happened in (:class:`BlurSpace`) live beside the kernels. Kernels are float32, odd-sized,
sum to 1, with their centroid at the centre pixel unless ``recentre=False``. The training-side camera pipeline that applies
them (noise, JPEG, random sampling) is :mod:`runtime.lab.degradations`.
"""
from __future__ import annotations

import enum

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.errors import ConfigError

FloatImage = NDArray[np.float32]


class BlurFamily(str, enum.Enum):
    """Kinds of blur we synthesise."""

    CAMERA_SHAKE = "camera_shake"
    LINEAR_MOTION = "linear_motion"
    DEFOCUS = "defocus"
    GAUSSIAN = "gaussian"


class BlurSpace(str, enum.Enum):
    """Where a kernel acts: on linear light (optics, a sensor integrating) or on sRGB values
    (blur made after encoding). Deconvolving in the wrong one leaves halos at contrasty
    edges: on training faces, -3 to -5 dB against the right one."""

    LINEAR = "linear"
    SRGB = "srgb"


def srgb_to_linear(x: FloatImage) -> FloatImage:
    """Decode sRGB values in [0,1] to linear light (IEC 61966-2-1 curve)."""
    x = np.clip(x, 0.0, 1.0)
    low = x <= 0.04045
    out = x + 0.055                     # in place from here: two planes, not five (12 MP photos)
    out /= 1.055
    out **= 2.4
    out[low] = x[low] / 12.92
    return out.astype(np.float32, copy=False)


def linear_to_srgb(x: FloatImage) -> FloatImage:
    """Encode linear light in [0,1] to sRGB."""
    x = np.clip(x, 0.0, 1.0)
    low = x <= 0.0031308
    out = np.power(x, 1 / 2.4)          # in place from here, as in srgb_to_linear
    out *= 1.055
    out -= 0.055
    out[low] = x[low] * 12.92
    return out.astype(np.float32, copy=False)


def to_space(image_srgb: FloatImage, space: BlurSpace) -> FloatImage:
    """The values a kernel acts on in ``space`` (clipped to [0, 1])."""
    x = srgb_to_linear(image_srgb) if space is BlurSpace.LINEAR else np.clip(image_srgb, 0.0, 1.0)
    return x.astype(np.float32, copy=False)


def from_space(values: FloatImage, space: BlurSpace) -> FloatImage:
    """Back to sRGB from :func:`to_space` values."""
    x = linear_to_srgb(values) if space is BlurSpace.LINEAR else np.clip(values, 0.0, 1.0)
    return x.astype(np.float32, copy=False)


def _odd_at_least(n: float) -> int:
    """The smallest odd integer >= n: a kernel canvas that holds the whole extent."""
    k = int(np.ceil(n))
    return k + 1 if k % 2 == 0 else k


def _normalise(k: NDArray[np.float64], recentre: bool) -> FloatImage:
    k = np.maximum(k, 0)
    s = k.sum()
    if s <= 0:
        raise ConfigError("kernel is empty: give a positive length, radius or sigma")
    k = k / s
    if recentre:
        ys, xs = np.mgrid[: k.shape[0], : k.shape[1]]
        cy, cx = (k * ys).sum(), (k * xs).sum()
        dy, dx = (k.shape[0] - 1) / 2 - cy, (k.shape[1] - 1) / 2 - cx
        # grow the canvas by the shift so the move cannot push the trajectory off it
        pad = int(np.ceil(max(abs(dy), abs(dx)) - 1e-6))
        k = np.pad(k, pad)
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        k = cv2.warpAffine(k.astype(np.float32), m, (k.shape[1], k.shape[0]), flags=cv2.INTER_LINEAR)
        k = np.maximum(k, 0) / max(float(k.sum()), 1e-12)
    return k.astype(np.float32)


def _splat(points_yx: NDArray[np.float64], size: int,
           weights: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Rasterise sub-pixel points (each of ``weights``, default 1) into a size x size grid, bilinearly."""
    k = np.zeros((size, size), np.float64)
    pw = np.ones(len(points_yx)) if weights is None else weights
    y0 = np.floor(points_yx[:, 0]).astype(int)
    x0 = np.floor(points_yx[:, 1]).astype(int)
    fy, fx = points_yx[:, 0] - y0, points_yx[:, 1] - x0
    for dy, dx, w in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                      (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        yy, xx = y0 + dy, x0 + dx
        ok = (yy >= 0) & (yy < size) & (xx >= 0) & (xx < size)
        np.add.at(k, (yy[ok], xx[ok]), (w * pw)[ok])
    return k


def linear_motion_kernel(length_px: float, angle_deg: float, *, recentre: bool = True) -> FloatImage:
    """A straight motion streak ``length_px`` long at ``angle_deg`` (0 = horizontal, CCW)."""
    if length_px < 1:
        raise ConfigError(f"motion length {length_px} px must be >= 1")
    size = _odd_at_least(length_px + 3)
    c = (size - 1) / 2
    # a box of width length_px in continuous space (bilinear ends spread the last pixel)
    t = (np.arange(max(int(length_px * 8), 8)) + 0.5) / max(int(length_px * 8), 8) - 0.5
    t = t * length_px
    a = np.deg2rad(angle_deg)
    pts = np.stack([c - t * np.sin(a), c + t * np.cos(a)], axis=1)
    return _normalise(_splat(pts, size), recentre)


def defocus_kernel(radius_px: float) -> FloatImage:
    """A uniform disc (thin-lens defocus) of ``radius_px``, anti-aliased by 8x supersampling."""
    if radius_px <= 0:
        raise ConfigError(f"defocus radius {radius_px} px must be > 0")
    size = _odd_at_least(2 * radius_px + 3)
    ss = 8
    c = (size * ss - 1) / 2
    yy, xx = np.mgrid[: size * ss, : size * ss]
    disc = ((yy - c) ** 2 + (xx - c) ** 2 <= (radius_px * ss) ** 2).astype(np.float64)
    k = disc.reshape(size, ss, size, ss).mean(axis=(1, 3))
    return _normalise(k, recentre=False)


def gaussian_kernel(sigma_px: float) -> FloatImage:
    """An isotropic Gaussian blur (mild lens softness, atmosphere)."""
    if sigma_px <= 0:
        raise ConfigError(f"gaussian sigma {sigma_px} px must be > 0")
    size = _odd_at_least(6 * sigma_px + 1)
    g = cv2.getGaussianKernel(size, sigma_px).astype(np.float64)
    return _normalise(g @ g.T, recentre=False)


def camera_shake_kernel(rng: np.random.Generator, extent_px: float, *, recentre: bool = True) -> FloatImage:
    """A hand-shake kernel from a random camera trajectory.

    The trajectory is a 2-D random walk whose velocity has inertia and occasional jerks
    (the shape of real shake, cf. Levin et al. 2009 kernels); it is scaled so its larger
    side spans ``extent_px`` and rasterised with an exposure weight per sample.
    """
    if extent_px < 2:
        raise ConfigError(f"camera-shake extent {extent_px} px must be >= 2")
    n = 256
    v = rng.normal(size=2)
    pos = np.zeros((n, 2))
    inertia = rng.uniform(0.7, 0.95)
    for i in range(1, n):
        jerk = rng.normal(size=2) * (3.0 if rng.random() < 0.02 else 0.5)
        v = inertia * v + (1 - inertia) * jerk * 4 + rng.normal(size=2) * 0.15
        pos[i] = pos[i - 1] + v
    pos -= pos.min(axis=0)
    span = max(pos.max(), 1e-6)
    pos *= (extent_px - 1) / span
    size = _odd_at_least(extent_px + 3)
    pos += (size - 1 - pos.max(axis=0)) / 2
    # equal exposure time per step: a fast step's light is spread along its segment
    # (points every ~0.25 px sharing the step's weight), a slow step's stays concentrated
    seg = np.linalg.norm(np.diff(pos, axis=0), axis=1)
    counts = np.ceil(seg * 4).astype(int) + 1
    frac = np.concatenate([np.arange(c) / c for c in counts])
    start = np.repeat(pos[:-1], counts, axis=0)
    step = np.repeat(np.diff(pos, axis=0), counts, axis=0)
    weights = np.repeat(1.0 / counts, counts)
    return _normalise(_splat(start + step * frac[:, None], size, weights), recentre)
