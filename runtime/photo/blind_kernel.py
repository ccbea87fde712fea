"""Blind estimation of a full blur kernel (camera shake) from one blurry photo.

Camera shake is an arbitrary curve, not a disc or a straight streak, so the spectral fits
of ``runtime.photo.estimate`` cannot describe it. This module recovers it by coarse-to-fine
alternating minimisation with an L0 gradient prior (Xu, Zheng & Jia 2013, "Unnatural L0
sparse representation for natural image deblurring"; Pan et al. 2014 use the same
scheme):

1. latent step: ``min_x |k * x - y|^2 + lambda |grad x|_0`` by half-quadratic splitting
   in the Fourier domain; the L0 prior keeps only strong step edges, which is the salient
   structure a kernel can be read from (the role of Cho & Lee 2009's shock filter);
2. kernel step: ``min_k sum_d |d x * k - d y|^2 + gamma |k|^2`` for the two first
   differences d, using only the latent's strongest gradients (at least 20 x kernel
   side of them in each of 4 orientations, Cho & Lee 2009), solved in closed form by
   FFT; then negatives and weights below 5 % of the peak are zeroed, isolated specks
   dropped and the kernel renormalised (Pan et al. 2014);
3. a pyramid in steps of ~sqrt(2) starts where the kernel is ~5 px and upsamples the
   kernel to initialise the next level; ``lambda`` and the edge threshold shrink by 1.1
   per iteration, ``lambda`` across levels too (restarting it at the finest level let
   noise into the kernel on TRAIN_IMAGES).

The kernel fit uses only the image interior (both gradient maps zeroed within a kernel
radius of the border): fitting across the padded margin cost ~0.3 in kernel correlation.

Work happens on the linear-light luminance (blur is linear there, ``runtime.photo.kernels``),
on a central crop of bounded size. A blind kernel is only defined up to a translation;
it comes back with its centroid on the centre pixel, so the restored photo stays
registered with the blurry one and keeps the shift an off-centre shake caused (measure
with ``metrics.aligned_psnr``).

Example:
    >>> result = estimate_kernel(blurry)          # float32 HxWx3 sRGB in [0, 1]
    >>> sharp = hyper_laplacian(blurry, result.kernel)
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np
import scipy.fft
from numpy.typing import NDArray

from runtime.errors import ConfigError, ImageError
from runtime.photo.classical import kernel_otf, pad_tapered
from runtime.photo.imageio import check_image
from runtime.photo.kernels import srgb_to_linear

FloatImage = NDArray[np.float32]

_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
_COARSEST_PX = 5
_LEVEL_SCALE = np.sqrt(0.5)
_BETA_MAX = 1e5
_BETA_GROWTH = 2.0
_DECAY = 1.1
"""Per iteration, the L0 weight and the edge threshold shrink by this (Pan et al. 2014, Cho & Lee 2009)."""
_LAMBDA_MIN = 1e-4
_KERNEL_GAMMA = 2.0
_KERNEL_CUTOFF = 0.05
"""Kernel weights below this fraction of the peak are zeroed (Pan et al. 2014 use 1/20)."""
_MIN_SIDE_PX = 48
_EDGES_PER_KERNEL_PX = 20


@dataclass(frozen=True, slots=True)
class BlindKernelConfig:
    """Search settings of :func:`estimate_kernel`.

    Attributes:
        kernel_size_px: side of the square kernel support, odd; must hold the whole
            shake path around its centroid (about 1.4x the blur extent).
        max_side_px: the estimate runs on the central crop of at most this side.
        iterations: latent/kernel alternations per pyramid level.
        l0_weight: initial L0 weight ``lambda`` for images in [0, 1]; it decays by 1.1
            per iteration to 1e-4.
    """

    kernel_size_px: int = 35
    max_side_px: int = 384
    iterations: int = 5
    l0_weight: float = 4e-3

    def __post_init__(self) -> None:
        if self.kernel_size_px < 5 or self.kernel_size_px % 2 == 0:
            raise ConfigError(f"blind kernel_size_px={self.kernel_size_px} must be odd and >= 5, e.g. 35")
        if self.max_side_px < 4 * self.kernel_size_px:
            raise ConfigError(f"blind max_side_px={self.max_side_px} must be >= 4 x kernel_size_px "
                              f"({4 * self.kernel_size_px})")
        if not 1 <= self.iterations <= 50:
            raise ConfigError(f"blind iterations={self.iterations} must lie in [1, 50]")
        if not 0 < self.l0_weight < 1:
            raise ConfigError(f"blind l0_weight={self.l0_weight} must lie in (0, 1), e.g. 4e-3")


@dataclass(frozen=True, slots=True)
class BlindKernelResult:
    """A blind kernel estimate.

    Attributes:
        kernel: float32 (kernel_size_px, kernel_size_px), non-negative, sum 1, centroid
            on the centre pixel.
        extent_px: larger side of the bounding box of the kernel's non-zero weights.
        levels: pyramid levels used.
        elapsed_ms: wall time of the estimate.
    """

    kernel: FloatImage
    extent_px: int
    levels: int
    elapsed_ms: float


def _grad(x: FloatImage) -> tuple[FloatImage, FloatImage]:
    """Forward differences with circular wrap: d_x[i, j] = x[i, j+1] - x[i, j]."""
    return np.roll(x, -1, axis=1) - x, np.roll(x, -1, axis=0) - x


@dataclass(frozen=True, slots=True)
class _Fourier:
    """Difference-operator spectra on one FFT grid."""

    dx: NDArray[np.complex64]
    dy: NDArray[np.complex64]
    grad_power: NDArray[np.float32]

    @classmethod
    def on(cls, shape: tuple[int, int]) -> _Fourier:
        dx = kernel_otf(np.float32([[1, -1, 0]]), shape)
        dy = kernel_otf(np.float32([[1], [-1], [0]]), shape)
        return cls(dx, dy, (np.abs(dx) ** 2 + np.abs(dy) ** 2).astype(np.float32))


def _latent_l0(observed: FloatImage, kernel: FloatImage, weight: float, four: _Fourier) -> FloatImage:
    """``argmin_x |k * x - y|^2 + weight |grad x|_0`` by half-quadratic splitting (Xu et al. 2013)."""
    shape = (observed.shape[0], observed.shape[1])
    otf = kernel_otf(kernel, shape)
    data = np.conj(otf) * scipy.fft.rfft2(observed)
    k_power = np.abs(otf) ** 2
    x = observed
    beta = 2 * weight
    while beta < _BETA_MAX:
        gx, gy = _grad(x)
        small = gx ** 2 + gy ** 2 < weight / beta
        gx[small] = 0
        gy[small] = 0
        num = data + beta * (np.conj(four.dx) * scipy.fft.rfft2(gx) + np.conj(four.dy) * scipy.fft.rfft2(gy))
        x = scipy.fft.irfft2(num / (k_power + beta * four.grad_power), s=shape).astype(np.float32)
        beta *= _BETA_GROWTH
    return x


def _edge_threshold(gx: FloatImage, gy: FloatImage, size: int) -> float:
    """Squared-gradient threshold leaving >= 20 x ``size`` pixels in each of 4 edge directions.

    Cho & Lee 2009: a kernel is only determined by edges of every orientation, so the
    strongest edges are kept per direction bin, enough of them for the kernel's unknowns.
    """
    mag = gx ** 2 + gy ** 2
    direction = np.minimum((np.mod(np.arctan2(gy, gx), np.pi) / (np.pi / 4)).astype(np.intp), 3)
    need = max(_EDGES_PER_KERNEL_PX * size, 10)
    per_bin = [np.sort(mag[direction == b])[::-1] for b in range(4)]
    return float(min(v[min(need, len(v)) - 1] if len(v) else 0.0 for v in per_bin))


def _kernel_ls(latent: FloatImage, observed: FloatImage, size: int, threshold: float) -> FloatImage:
    """Least-squares kernel from the latent's strong edges, projected onto sum-1 non-negative sparse kernels.

    ``latent`` and ``observed`` cover the image only (no padding). Both gradient maps are
    zeroed within a kernel radius of the border, the same band for both, so neither the
    FFT's wrap-around nor the unknown content beyond the border enters the fit.
    """
    gx, gy = _grad(latent)
    bx, by = _grad(observed)
    weak = gx ** 2 + gy ** 2 < threshold
    band = size // 2 + 1
    inside = np.zeros(latent.shape, bool)
    inside[band:-band, band:-band] = True
    for g in (gx, gy):
        g[weak | ~inside] = 0
    for g in (bx, by):
        g[~inside] = 0
    lx, ly = scipy.fft.rfft2(gx), scipy.fft.rfft2(gy)
    spec = ((np.conj(lx) * scipy.fft.rfft2(bx) + np.conj(ly) * scipy.fft.rfft2(by))
            / (np.abs(lx) ** 2 + np.abs(ly) ** 2 + _KERNEL_GAMMA))
    full = scipy.fft.irfft2(spec, s=latent.shape)
    half = size // 2
    k = np.roll(full, (half, half), axis=(0, 1))[:size, :size]
    return _clean(k)


def _clean(k: NDArray[np.floating]) -> FloatImage:
    """Zero negatives and weak weights, keep components carrying weight, renormalise."""
    k = np.maximum(k, 0)
    peak = float(k.max())
    if peak <= 0:
        out = np.zeros(k.shape, np.float32)
        out[k.shape[0] // 2, k.shape[1] // 2] = 1
        return out
    k = np.where(k >= _KERNEL_CUTOFF * peak, k, 0).astype(np.float32)
    n, labels = cv2.connectedComponents((k > 0).astype(np.uint8), connectivity=8)
    if n > 2:
        mass = np.bincount(labels.ravel(), weights=k.ravel(), minlength=n)
        mass[0] = 0
        k = np.where(mass[labels] >= 0.1 * mass.max(), k, 0).astype(np.float32)
    return (k / k.sum()).astype(np.float32)


def _recentre(k: FloatImage) -> FloatImage:
    """Move the kernel's centroid to the centre pixel by a whole-pixel shift (no resampling blur)."""
    ys, xs = np.mgrid[: k.shape[0], : k.shape[1]]
    dy = int(round((k.shape[0] - 1) / 2 - float((k * ys).sum())))
    dx = int(round((k.shape[1] - 1) / 2 - float((k * xs).sum())))
    return np.roll(k, (dy, dx), axis=(0, 1))


def _resize_kernel(k: FloatImage, size: int) -> FloatImage:
    """Scale a kernel's support to ``size`` x ``size`` (bilinear), renormalised."""
    out = cv2.resize(k, (size, size), interpolation=cv2.INTER_LINEAR)
    out = np.maximum(out, 0)
    return (out / max(float(out.sum()), 1e-12)).astype(np.float32)


def _odd_nearest(n: float) -> int:
    """n rounded to the nearest integer (at least 3), bumped up to odd: a kernel size near n."""
    k = max(int(round(n)), 3)
    return k if k % 2 else k + 1


def _level_sizes(kernel_size_px: int) -> list[int]:
    """Kernel side per level, coarsest first: steps of sqrt(2) down to ~5 px."""
    sizes = [kernel_size_px]
    while sizes[-1] * _LEVEL_SCALE >= _COARSEST_PX:
        sizes.append(_odd_nearest(sizes[-1] * _LEVEL_SCALE))
    return sizes[::-1]


def _luminance_crop(image_srgb: FloatImage, side: int) -> FloatImage:
    """Central crop of at most ``side`` px of the linear-light luminance."""
    h, w = image_srgb.shape[:2]
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    crop = image_srgb[top: top + side, left: left + side]
    return np.ascontiguousarray(srgb_to_linear(crop) @ _LUMA)


def estimate_kernel(image_srgb: NDArray[np.floating], config: BlindKernelConfig = BlindKernelConfig()
                    ) -> BlindKernelResult:
    """Estimate a camera-shake kernel blindly (see the module notes for the method).

    Args:
        image_srgb: blurry float HxWx3 sRGB in [0, 1]; at least 48 px and 2 x the kernel
            size on each side.
        config: kernel size, crop and iteration settings.

    Returns:
        The kernel (centroid-centred, sum 1) and how long the estimate took.

    Raises:
        ImageError: not an HxWx3 float image, NaN/Inf, or too small for the kernel.
    """
    start = time.perf_counter()
    img = check_image(image_srgb)
    h, w = img.shape[:2]
    need = max(_MIN_SIDE_PX, 2 * config.kernel_size_px)
    if min(h, w) < need:
        raise ImageError(f"image {h}x{w} is too small for a {config.kernel_size_px} px blind kernel; "
                         f"it needs >= {need} px a side (set BlindKernelConfig(kernel_size_px=...) smaller)")
    gray = _luminance_crop(img, config.max_side_px)
    sizes = _level_sizes(config.kernel_size_px)
    kernel = np.zeros((sizes[0], sizes[0]), np.float32)
    kernel[sizes[0] // 2, sizes[0] // 2] = 1
    weight = config.l0_weight
    for size in sizes:
        scale = size / config.kernel_size_px
        hs, ws = max(16, round(gray.shape[0] * scale)), max(16, round(gray.shape[1] * scale))
        y = cv2.resize(gray, (ws, hs), interpolation=cv2.INTER_AREA) if scale < 1 else gray
        kernel = _resize_kernel(kernel, size) if kernel.shape[0] != size else kernel
        padded, _, crop = pad_tapered(y[..., None], kernel)
        observed = np.ascontiguousarray(padded[..., 0])
        four = _Fourier.on((observed.shape[0], observed.shape[1]))
        threshold = 0.0
        for iteration in range(config.iterations):
            latent = _latent_l0(observed, kernel, weight, four)[crop]
            if iteration == 0:
                threshold = _edge_threshold(*_grad(latent), size)
            kernel = _recentre(_kernel_ls(latent, y, size, threshold))
            weight = max(weight / _DECAY, _LAMBDA_MIN)
            threshold /= _DECAY
    nz = np.argwhere(kernel > 0)
    extent = int((nz.max(axis=0) - nz.min(axis=0) + 1).max()) if len(nz) else 1
    return BlindKernelResult(kernel, extent, len(sizes), (time.perf_counter() - start) * 1e3)
