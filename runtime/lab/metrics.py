"""Full-reference image quality metrics for the deblur benchmark and tests.

All functions take two float sRGB images in [0, 1] of the same shape (HxW or HxWxC) and
compare them after cropping ``border_px`` from every side: restoration near the image
border depends on a boundary assumption, and the project's reference figures
(shared RESEARCH.md) exclude a 20 px frame.

SSIM is computed here with a Gaussian window (sigma 1.5, truncated at 3.5 sigma) and the
constants of Wang et al. 2004, per channel, then averaged (our own implementation on
OpenCV filters); it matches ``skimage.metrics.structural_similarity(...,
gaussian_weights=True, use_sample_covariance=False)`` to ~1e-6.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.errors import ConfigError

_SSIM_SIGMA = 1.5
_SSIM_K1, _SSIM_K2 = 0.01, 0.03
_PSNR_CAP_DB = 100.0


@dataclass(frozen=True, slots=True)
class AlignedScore:
    """PSNR after the best integer translation of the estimate.

    Attributes:
        psnr_db: PSNR at the best shift, in dB.
        shift_yx: (dy, dx) in pixels that was applied to the estimate; (0, 0) means the
            plain PSNR was already the best.
    """

    psnr_db: float
    shift_yx: tuple[int, int]


def _pair(a: NDArray[np.floating], b: NDArray[np.floating], border_px: int
          ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if a.shape != b.shape:
        raise ConfigError(f"metric inputs differ in shape {a.shape} vs {b.shape}; compare images of one size")
    if a.ndim not in (2, 3):
        raise ConfigError(f"metric inputs must be HxW or HxWxC, got shape {a.shape}")
    if border_px < 0:
        raise ConfigError(f"border_px={border_px} must be >= 0")
    h, w = a.shape[:2]
    if 2 * border_px >= min(h, w):
        raise ConfigError(f"border_px={border_px} leaves no pixels of a {h}x{w} image; use a smaller border")
    crop = (slice(border_px, h - border_px), slice(border_px, w - border_px))
    return a[crop].astype(np.float64), b[crop].astype(np.float64)


def _psnr_from_mse(mse: float) -> float:
    return _PSNR_CAP_DB if mse <= 10 ** (-_PSNR_CAP_DB / 10) else float(-10.0 * np.log10(mse))


def psnr(a: NDArray[np.floating], b: NDArray[np.floating], border_px: int = 20) -> float:
    """Peak signal-to-noise ratio in dB for data range 1 (capped at 100 dB for equal images).

    Args:
        a: reference, float sRGB in [0, 1], HxW or HxWxC.
        b: estimate, same shape.
        border_px: pixels excluded on every side.

    Raises:
        ConfigError: shapes differ or the border leaves no pixels.
    """
    x, y = _pair(a, b, border_px)
    return _psnr_from_mse(float(np.mean((x - y) ** 2)))


def _ssim_channel(x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    def smooth(z: NDArray[np.float64]) -> NDArray[np.float64]:
        return cv2.GaussianBlur(z, (11, 11), _SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)

    c1, c2 = _SSIM_K1 ** 2, _SSIM_K2 ** 2
    mx, my = smooth(x), smooth(y)
    vx = smooth(x * x) - mx * mx
    vy = smooth(y * y) - my * my
    cxy = smooth(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * cxy + c2)
    den = (mx * mx + my * my + c1) * (vx + vy + c2)
    # skimage averages only where the 11x11 window fits inside the image
    pad = 5
    return float(np.mean((num / den)[pad:-pad, pad:-pad]))


def ssim(a: NDArray[np.floating], b: NDArray[np.floating], border_px: int = 20) -> float:
    """Structural similarity (Gaussian window, sigma 1.5), mean over channels.

    Args:
        a: reference, float sRGB in [0, 1], HxW or HxWxC.
        b: estimate, same shape.
        border_px: pixels excluded on every side before the SSIM map is computed.

    Raises:
        ConfigError: shapes differ or the border leaves too few pixels for the window.
    """
    x, y = _pair(a, b, border_px)
    if min(x.shape[:2]) < 11:
        raise ConfigError(f"SSIM needs at least 11x11 pixels after the border, got {x.shape[:2]}")
    if x.ndim == 2:
        return _ssim_channel(x, y)
    return float(np.mean([_ssim_channel(x[..., c], y[..., c]) for c in range(x.shape[2])]))


def aligned_psnr(a: NDArray[np.floating], b: NDArray[np.floating], border_px: int = 20,
                 max_shift_px: int = 4) -> AlignedScore:
    """PSNR of ``b`` against ``a`` at the best integer shift within +-``max_shift_px``.

    An off-centre blur kernel translates the image; a blind method that assumes a centred
    kernel restores detail but keeps the translation, which plain PSNR punishes as if it
    were blur. The shifted estimate is compared on the same crop as :func:`psnr`.

    Raises:
        ConfigError: shapes differ, or ``border_px < max_shift_px`` (the shift would read
            outside the image).
    """
    if max_shift_px < 0:
        raise ConfigError(f"max_shift_px={max_shift_px} must be >= 0")
    if border_px < max_shift_px:
        raise ConfigError(f"border_px={border_px} must be >= max_shift_px={max_shift_px}")
    x, _ = _pair(a, b, border_px)
    h, w = a.shape[:2]
    yb = b.astype(np.float64)
    best = (np.inf, (0, 0))
    for dy in range(-max_shift_px, max_shift_px + 1):
        for dx in range(-max_shift_px, max_shift_px + 1):
            shifted = yb[border_px - dy: h - border_px - dy, border_px - dx: w - border_px - dx]
            mse = float(np.mean((x - shifted) ** 2))
            # ties go to the smaller shift: the loop meets (0, 0) after farther shifts, so prefer it
            if mse < best[0] or (mse == best[0] and abs(dy) + abs(dx) < sum(map(abs, best[1]))):
                best = (mse, (dy, dx))
    return AlignedScore(_psnr_from_mse(best[0]), best[1])


def max_abs_error(a: NDArray[np.floating], b: NDArray[np.floating]) -> float:
    """Largest absolute difference over all pixels and channels (no border excluded).

    Raises:
        ConfigError: shapes differ.
    """
    if a.shape != b.shape:
        raise ConfigError(f"metric inputs differ in shape {a.shape} vs {b.shape}; compare images of one size")
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
