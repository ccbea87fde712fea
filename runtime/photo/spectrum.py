"""Polar-binned power spectra of a photo and the blur model fitted to them.

``welch_spectrum`` averages the power spectrum of many windowed patches of a photo's
luminance (linear light, or the sRGB values) into polar bins; ``fit_model`` fits
``A |K(f)|^2 |f|^-alpha + N`` (power-law image, candidate kernel, white noise floor) to
it for a whole bank of kernels at once. ``runtime.photo.estimate`` builds the blind blur
estimates on these two.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from runtime.errors import ImageError
from runtime.photo.imageio import check_image
from runtime.photo.kernels import BlurSpace, to_space

FloatImage = NDArray[np.float32]

_ALPHAS = np.arange(1.2, 3.61, 0.2)
_N_ANGLE_BINS = 36
_N_RADIUS_BINS = 32
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


@dataclass(frozen=True, slots=True)
class Grid:
    """Polar binning of the rFFT half-plane of a ``patch_px`` square."""

    points: NDArray[np.intp]      # flat indices into (P, P//2+1) of the frequencies used
    bins: NDArray[np.intp]        # polar bin of each used frequency
    counts: NDArray[np.float64]   # (n_bins,)
    radius: NDArray[np.float64]   # (n_bins,) mean |f| per bin, cycles/px
    n_bins: int


@lru_cache(maxsize=4)
def polar_grid(patch_px: int) -> Grid:
    """36 angles x 32 radii over the rFFT of a ``patch_px`` square, DC and leakage left out."""
    fy = np.fft.fftfreq(patch_px)[:, None]
    fx = np.fft.rfftfreq(patch_px)[None, :]
    r = np.hypot(fy, fx).ravel()
    ang = np.mod(np.arctan2(fy, fx), np.pi).ravel()
    r_lo = 3.0 / patch_px  # below: DC and the window's own leakage
    ri = np.floor((r - r_lo) / (0.5 - r_lo) * _N_RADIUS_BINS).astype(np.intp)
    ai = np.minimum((ang / np.pi * _N_ANGLE_BINS).astype(np.intp), _N_ANGLE_BINS - 1)
    points = np.flatnonzero((ri >= 0) & (ri < _N_RADIUS_BINS))
    _, bins = np.unique(ri[points] * _N_ANGLE_BINS + ai[points], return_inverse=True)
    counts = np.bincount(bins).astype(np.float64)
    radius = np.bincount(bins, weights=r[points]) / counts
    return Grid(points, bins, counts, radius, len(counts))


def bin_polar(grid: Grid, values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mean of per-frequency ``values`` (..., P, P//2+1) in each polar bin -> (..., n_bins)."""
    lead = values.shape[:-2]
    flat = values.reshape(-1, values.shape[-2] * values.shape[-1])[:, grid.points]
    offsets = (np.arange(flat.shape[0])[:, None] * grid.n_bins + grid.bins[None, :]).ravel()
    sums = np.bincount(offsets, weights=flat.ravel(), minlength=flat.shape[0] * grid.n_bins)
    return sums.reshape(lead + (grid.n_bins,)) / grid.counts


def kernel_power(kernels: list[FloatImage], patch_px: int) -> NDArray[np.float64]:
    """Bin-averaged |K(f)|^2 of each kernel on the polar grid -> (n_kernels, n_bins)."""
    stack = np.zeros((len(kernels), patch_px, patch_px), np.float64)
    for i, k in enumerate(kernels):
        stack[i, : k.shape[0], : k.shape[1]] = k
    otf = np.fft.rfft2(stack)
    return bin_polar(polar_grid(patch_px), otf.real ** 2 + otf.imag ** 2)


@dataclass(frozen=True, slots=True)
class Spectrum:
    """Welch power of one image in the polar bins of ``polar_grid(patch_px)``."""

    power: NDArray[np.float64]   # (n_bins,)
    radius: NDArray[np.float64]  # (n_bins,) cycles/px
    patch_px: int


def welch_spectrum(image_srgb: NDArray[np.floating], patch_px: int,
                    space: BlurSpace = BlurSpace.LINEAR) -> Spectrum:
    """Welch-averaged power spectrum of the luminance (linear light, or the sRGB values),
    polar-binned.

    Raises:
        ImageError: not an HxWx3 float image, NaN/Inf, or smaller than the patch.
    """
    image_srgb = check_image(image_srgb)
    gray = to_space(image_srgb, space) @ _LUMA
    h, w = gray.shape
    if min(h, w) < patch_px:
        raise ImageError(f"image {h}x{w} is smaller than the estimator patch {patch_px} px; "
                         "pass a larger image or set EstimateConfig(patch_px=64)")
    step = patch_px // 2
    ys = np.linspace(0, h - patch_px, max(1, (h - patch_px) // step + 1)).astype(int)
    xs = np.linspace(0, w - patch_px, max(1, (w - patch_px) // step + 1)).astype(int)
    win = np.outer(np.hanning(patch_px), np.hanning(patch_px))
    patches = np.stack([gray[y: y + patch_px, x: x + patch_px] for y in ys for x in xs]).astype(np.float64)
    patches -= (patches * win).sum(axis=(1, 2), keepdims=True) / win.sum()
    spec = np.fft.rfft2(patches * win)
    power = (spec.real ** 2 + spec.imag ** 2).mean(axis=0) / (win ** 2).sum()
    grid = polar_grid(patch_px)
    return Spectrum(np.maximum(bin_polar(grid, power), 1e-30), grid.radius, patch_px)


@dataclass(frozen=True, slots=True)
class Fit:
    """The best-alpha fit of each candidate kernel."""

    residual: NDArray[np.float64]  # (n_candidates,) RMS log misfit at the best alpha
    alpha: NDArray[np.float64]     # (n_candidates,) that alpha
    amplitude: NDArray[np.float64]  # (n_candidates,) A
    noise: NDArray[np.float64]     # (n_candidates,) N


def fit_model(spectrum: Spectrum, bank: NDArray[np.float64]) -> Fit:
    """Fit ``A g + N`` with ``g = |K|^2 |f|^-alpha`` per candidate (``bank``: binned |K|^2, one row
    per kernel, from :func:`kernel_power`) and alpha; keep the best alpha.

    The amplitudes come from a linear least-squares fit of the relative error
    ``(A g + N) / S - 1`` (close to the log error near the optimum); the returned residual
    is the RMS of ``log(A g + N) - log S`` over the polar bins.
    """
    power = spectrum.power
    slope = spectrum.radius[None, :] ** -_ALPHAS[:, None]  # (nA, B)
    # the least-squares sums over bins as (C, B) @ (B, nA) products: no (C, nA, B) temporaries
    v = 1.0 / power
    suu = (bank ** 2) @ ((slope * v) ** 2).T
    suv = bank @ (slope * v * v).T
    su = bank @ (slope * v).T
    svv, sv = float((v * v).sum()), float(v.sum())
    det = suu * svv - suv * suv
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = (su * svv - sv * suv) / det
        n = (suu * sv - suv * su) / det
        no_noise = n < 0
        a = np.where(no_noise, su / suu, a)
        n = np.where(no_noise, 0.0, n)
        # the log misfit of every (candidate, alpha) model, in place in float32 (half the
        # memory traffic of the float64 temporaries; residuals agree to ~1e-6)
        err = bank.astype(np.float32)[:, None, :] * slope.astype(np.float32)[None]  # (C, nA, B)
        err *= a.astype(np.float32)[..., None]
        err += n.astype(np.float32)[..., None]
        np.maximum(err, np.float32(1e-30), out=err)
        np.log(err, out=err)
        err -= np.log(power).astype(np.float32)
        np.square(err, out=err)
        resid = np.sqrt(err.mean(axis=-1, dtype=np.float64))
    resid = np.where((a > 0) & np.isfinite(resid), np.maximum(resid, 1e-9), np.inf)
    k = np.argmin(resid, axis=1)
    rows = np.arange(resid.shape[0])
    return Fit(resid[rows, k], _ALPHAS[k], a[rows, k], n[rows, k])
