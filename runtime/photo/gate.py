"""Keep what is already sharp: a per-pixel strength map for the learned model's correction.

A deblur net that is right on a shaken photo still nudges sharp pixels (skin, foliage, a
still background behind a moving car): on camera-made blur with a static camera and moving
objects it cost 0.3-1 dB per photo. So the model's correction is applied in proportion to
how blurry each neighbourhood is:

    out = input + strength(x, y) * (model(input) - input)

Blur is judged by the re-blur measure of Crete et al. (SPIE 2007, "The blur effect"): blur
the photo a little more and see how much local gradient energy survives. A sharp region
loses much of it, a blurry one little. The photo's own noise (which a re-blur also removes)
is subtracted first, so a noisy blurry photo is not mistaken for a sharp one. Flat regions
(little gradient beyond the noise) get full strength: there the model changes little.
The two anchors ``sharp_at`` and ``blurry_at`` were set on the training photos
(``benchmarks/gate_calibration.py``), never on evaluation or validation photos.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.errors import ConfigError

_REBLUR_SIGMA = 1.0
_NOISE_GRAD = 2 * np.sqrt(2 / np.pi) * np.sqrt(2)
"""Mean |gx| + |gy| of white noise of sigma 1 (each difference has sigma sqrt(2))."""
_NOISE_GRAD_REBLURRED = 0.13 * _NOISE_GRAD
"""The same after the sigma-1 re-blur (measured on white noise: 0.13 of it survives)."""


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Where the model's correction applies: 0 = sharp (keep), 1 = blurry (apply)."""

    sharp_at: float = 0.45
    """Median local sharpness of sharp training photos (JPEG q85, noise 0-0.01)."""
    blurry_at: float = 0.22
    """Mean of the medians under the mildest blurs (Gaussian sigma 1, defocus r1.5, a 5 px streak)."""
    window_px: int = 31
    min_texture: float = 3.0
    """A neighbourhood with gradient energy below this many noise levels counts as flat."""

    def __post_init__(self) -> None:
        if not 0 <= self.blurry_at < self.sharp_at <= 1:
            raise ConfigError(f"gate anchors blurry_at={self.blurry_at} < sharp_at={self.sharp_at} must lie in [0, 1]")
        if self.window_px < 3 or self.window_px % 2 == 0:
            raise ConfigError(f"gate window_px={self.window_px} must be odd and >= 3")


def noise_sigma(image: NDArray[np.float32], block_px: int = 16) -> float:
    """Gaussian noise sigma of a float sRGB image's grey level.

    Immerkaer (1996): a Laplacian-difference mask cancels smooth content and its mean
    absolute response is sqrt(pi/2) * 6 * sigma for white noise. Texture also responds, so
    the response is averaged per ``block_px`` block and the 10th percentile of the blocks
    is taken: the smoothest parts of a photo speak for its noise.
    """
    grey = image.mean(axis=2, dtype=np.float32) if image.ndim == 3 else image.astype(np.float32)
    mask = np.float32([[1, -2, 1], [-2, 4, -2], [1, -2, 1]])
    resp = np.abs(cv2.filter2D(grey, -1, mask)[1:-1, 1:-1])
    if resp.size == 0:
        return 0.0                          # under 3 px a side: no Laplacian to read noise from
    h, w = (resp.shape[0] // block_px) * block_px, (resp.shape[1] // block_px) * block_px
    if h == 0 or w == 0:
        return float(np.sqrt(np.pi / 2) * resp.mean() / 6)
    blocks = resp[:h, :w].reshape(h // block_px, block_px, w // block_px, block_px).mean(axis=(1, 3))
    return float(np.sqrt(np.pi / 2) * np.percentile(blocks, 10) / 6)


def _grad_l1(g: NDArray[np.float32]) -> NDArray[np.float32]:
    out = np.zeros_like(g)
    np.abs(np.subtract(g[:, 1:], g[:, :-1], out=out[:, :-1]), out=out[:, :-1])
    gy = np.subtract(g[1:, :], g[:-1, :])
    out[:-1, :] += np.abs(gy, out=gy)
    return out


def sharpness_map(image_rgb: NDArray[np.float32], cfg: GateConfig = GateConfig()) -> NDArray[np.float32]:
    """Local re-blur sharpness in [0, 1] per pixel (NaN where the region is flat).

    The maps are reused in place: a 48 MP photo holds four of them, not ten."""
    grey = image_rgb.mean(axis=2, dtype=np.float32)
    sigma = noise_sigma(image_rgb)
    box = (cfg.window_px, cfg.window_px)
    signal = cv2.blur(_grad_l1(grey), box, borderType=cv2.BORDER_REFLECT)
    grey = cv2.GaussianBlur(grey, (0, 0), _REBLUR_SIGMA, borderType=cv2.BORDER_REFLECT)
    s = cv2.blur(_grad_l1(grey), box, borderType=cv2.BORDER_REFLECT)      # the re-blurred energy
    del grey
    signal -= np.float32(_NOISE_GRAD * sigma)
    s -= np.float32(_NOISE_GRAD_REBLURRED * sigma)
    np.maximum(s, 0, out=s)
    flat = signal < cfg.min_texture * _NOISE_GRAD * max(sigma, 1 / 255)
    np.maximum(signal, np.float32(1e-6), out=signal)
    s /= signal
    del signal
    np.subtract(np.float32(1), s, out=s)
    np.clip(s, 0, 1, out=s)
    s[flat] = np.nan
    return s


def strength_map(image_rgb: NDArray[np.float32], cfg: GateConfig = GateConfig()) -> NDArray[np.float32]:
    """(H, W, 1) float32 strength in [0, 1]: 0 on sharp neighbourhoods, 1 on blurry or flat ones."""
    s = sharpness_map(image_rgb, cfg)
    flat = np.isnan(s)
    np.subtract(np.float32(cfg.sharp_at), s, out=s)
    s /= np.float32(cfg.sharp_at - cfg.blurry_at)
    np.clip(s, 0, 1, out=s)
    s[flat] = 1.0
    return cv2.GaussianBlur(s, (0, 0), cfg.window_px / 2)[..., None]


def apply_gate(image_rgb: NDArray[np.float32], restored: NDArray[np.float32],
               cfg: GateConfig = GateConfig(), *, out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
    """``image + strength * (restored - image)``, both float32 (H, W, 3) sRGB, computed into
    ``out`` (a new array when None; ``restored`` itself is allowed): a 48 MP photo needs no
    temporary image for it."""
    strength = strength_map(image_rgb, cfg)
    result = np.subtract(restored, image_rgb, out=out, dtype=np.float32)
    result *= strength
    result += image_rgb
    return result
