"""Classical (non-learned) deblurring: Wiener, Richardson-Lucy, hyper-Laplacian and unsharp masking.

They are the baselines of the quality benchmark and the deconvolution stage behind blind
blur estimation (``runtime.photo.estimate``). Images are float32 HxWx3 sRGB in [0, 1], in and
out; the work happens in linear light, where ``runtime.photo.kernels`` models blur, so a kernel
known to that model is inverted exactly rather than approximately (``hyper_laplacian`` also
inverts blur made on sRGB values: ``BlurSpace``).

Boundaries: an FFT treats the image as periodic, so the jump between opposite borders
would ring through the whole result. Wiener therefore reflects the image (reflect-101, the
extension ``degradations.convolve`` assumes) into a margin of twice the kernel size and tapers
that margin towards the image's own circular blur (Matlab's ``edgetaper`` idea), so at the
outer edge the data fit the periodic blur model exactly; a few passes then refill the
margin with the re-blurred estimate.
Richardson-Lucy filters in the spatial domain with the same reflection.

Kernels are 2-D, non-negative, finite and are normalised to sum 1. Even-sized kernels are
fine: their origin is the pixel at index (size - 1) // 2 on each axis, matching
``degradations.convolve``.
"""
from __future__ import annotations

import enum

import cv2
import numpy as np
import scipy.fft
from numpy.typing import NDArray

from runtime.errors import ConfigError, parse_choice
from runtime.photo.imageio import check_image
from runtime.photo.kernels import BlurSpace, from_space, linear_to_srgb, srgb_to_linear, to_space

FloatImage = NDArray[np.float32]

_EPS = 1e-6
_BOUNDARY_PASSES = 3
"""Wiener re-solves this many times with the margin refilled by the re-blurred estimate."""


class Regulariser(str, enum.Enum):
    """Prior penalised by Wiener deconvolution (the denominator's ``balance * |R(f)|^2``).

    GRADIENT (first differences) is the default: RESEARCH.md measured the LAPLACIAN failing
    on long straight motion blur even with the true kernel, because it lets through the
    low-frequency ripple along the streak.
    """

    IDENTITY = "identity"
    GRADIENT = "gradient"
    LAPLACIAN = "laplacian"


def check_kernel(kernel: NDArray[np.floating], image_shape: tuple[int, ...] | None = None) -> FloatImage:
    """Validate a blur kernel and return it odd-sized, float32, normalised to sum 1.

    Even dimensions get a zero row/column in front, which keeps the origin at
    ``(size - 1) // 2`` (the ``degradations.convolve`` convention) at the new centre.

    Args:
        kernel: 2-D point-spread function, non-negative.
        image_shape: when given, the kernel must fit inside an image of this shape.

    Raises:
        ConfigError: not 2-D, empty, NaN/Inf, negative, all zero, or larger than the image.
    """
    k = np.asarray(kernel)
    if k.ndim != 2:
        raise ConfigError(f"blur kernel must be a 2-D array, got shape {k.shape}")
    if k.size == 0:
        raise ConfigError("blur kernel is empty; pass at least a 1x1 array")
    if not np.all(np.isfinite(k)):
        raise ConfigError("blur kernel contains NaN or Inf; check how it was estimated")
    if np.any(k < 0):
        raise ConfigError("blur kernel has negative weights; clip it to >= 0 first")
    total = float(k.sum())
    if total <= 0:
        raise ConfigError("blur kernel sums to 0; it must carry some weight")
    if image_shape is not None and (k.shape[0] > image_shape[0] or k.shape[1] > image_shape[1]):
        raise ConfigError(f"blur kernel {k.shape} is larger than the image {image_shape[:2]}; use a smaller kernel")
    k = np.pad(k.astype(np.float32) / np.float32(total), ((1 - k.shape[0] % 2, 0), (1 - k.shape[1] % 2, 0)))
    return k


def _fft_size(n: int) -> int:
    return int(scipy.fft.next_fast_len(n, real=True))


def _taper_ramp(inner: int, margin: int, total: int) -> NDArray[np.float32]:
    """1 over the image, a raised-cosine fall to 0 across each margin, 0 beyond."""
    r = np.zeros(total, np.float32)
    r[margin: margin + inner] = 1
    rise = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, margin + 2)[1:-1])).astype(np.float32)
    r[:margin] = rise
    r[margin + inner: margin + inner + margin] = rise[::-1]
    return r


def pad_tapered(lin: FloatImage, kernel: FloatImage
                 ) -> tuple[FloatImage, NDArray[np.complex64], tuple[slice, slice]]:
    """Reflect-pad ``lin`` and blend the margin into its circular blur (edge taper).

    Args:
        lin: float32 HxWxC linear-light image.
        kernel: validated blur kernel (odd-sized, sum 1).

    Returns:
        The padded float32 image (an FFT-friendly size, margin of twice the kernel size),
        the kernel's OTF at that size, and the (rows, cols) crop of the image in it.
    """
    h, w = lin.shape[:2]
    margin = max(2 * max(kernel.shape), 16)
    hp, wp = _fft_size(h + 2 * margin), _fft_size(w + 2 * margin)
    padded = np.pad(lin, ((margin, hp - h - margin), (margin, wp - w - margin), (0, 0)), mode="reflect")
    otf = kernel_otf(kernel, (hp, wp))
    alpha = _taper_ramp(h, margin, hp)[:, None] * _taper_ramp(w, margin, wp)[None, :]
    for c in range(padded.shape[2]):    # one channel at a time: a third of the memory
        circ = scipy.fft.irfft2(scipy.fft.rfft2(padded[..., c]) * otf, s=(hp, wp))
        padded[..., c] = alpha * padded[..., c] + (1 - alpha) * circ.astype(np.float32)
    return padded, otf, (slice(margin, margin + h), slice(margin, margin + w))


def kernel_otf(kernel: FloatImage, shape: tuple[int, int]) -> NDArray[np.complex64]:
    """rFFT of ``kernel`` zero-padded to ``shape`` (H, W) with its origin moved to (0, 0).

    The origin is the pixel at ``(size - 1) // 2`` on each axis, as in ``degradations.convolve``;
    the result has shape (H, W // 2 + 1), complex.
    """
    kh, kw = kernel.shape
    big = np.zeros(shape, np.float32)
    big[:kh, :kw] = kernel
    big = np.roll(big, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return scipy.fft.rfft2(big)


def _regulariser_power(reg: Regulariser, shape: tuple[int, int]) -> NDArray[np.float32]:
    """|R(f)|^2 on the rFFT grid of ``shape``."""
    wy = 2 * np.pi * np.fft.fftfreq(shape[0])[:, None]
    wx = 2 * np.pi * np.fft.rfftfreq(shape[1])[None, :]
    if reg is Regulariser.IDENTITY:
        return np.ones((shape[0], shape[1] // 2 + 1), np.float32)
    grad = (2 - 2 * np.cos(wy)) + (2 - 2 * np.cos(wx))
    if reg is Regulariser.GRADIENT:
        return grad.astype(np.float32)
    return (grad ** 2).astype(np.float32)


def wiener(image: NDArray[np.floating], kernel: NDArray[np.floating], balance: float = 0.01,
           regulariser: Regulariser | str = Regulariser.GRADIENT, *, checked: bool = False) -> FloatImage:
    """Regularised (Wiener-Tikhonov) deconvolution in linear light.

    Solves ``X = conj(K) Y / (|K|^2 + balance |R|^2)`` per channel on the edge-tapered,
    reflect-padded image, then treats the margin as missing data: it is refilled with the
    re-blurred estimate and the solve repeated, which removes most of the border error
    that straight motion blur (whole lines of near-zero |K|) otherwise spreads inwards.

    Args:
        image: blurry float32 HxWx3 sRGB in [0, 1].
        kernel: the blur's point-spread function (see module notes).
        balance: regularisation weight; larger trades detail for less noise and ringing.
            0.01 with the gradient prior suits sRGB noise sigma ~0.01.
        regulariser: a :class:`Regulariser` or its string value.

    Returns:
        Deblurred float32 HxWx3 sRGB in [0, 1].

    ``checked=True`` says the caller already ran ``check_image`` on it (no second scan).

    Raises:
        ImageError: the image is not HxWx3 float or holds NaN/Inf.
        ConfigError: bad kernel, ``balance <= 0`` or an unknown regulariser.
    """
    img = image.astype(np.float32, copy=False) if checked else check_image(image)
    k = check_kernel(kernel, img.shape)
    if not balance > 0:
        raise ConfigError(f"wiener balance={balance} must be > 0 (try 0.01)")
    reg = parse_choice(Regulariser, regulariser, "wiener regulariser")
    lin = srgb_to_linear(img)
    observed, otf, crop = pad_tapered(lin, k)
    shape = (observed.shape[0], observed.shape[1])
    gain = (np.conj(otf) / (np.abs(otf) ** 2 + np.float32(balance) * _regulariser_power(reg, shape)))[..., None]
    for _ in range(_BOUNDARY_PASSES):
        spec = scipy.fft.rfft2(observed, axes=(0, 1)) * gain
        observed = scipy.fft.irfft2(spec * otf[..., None], s=shape, axes=(0, 1)).astype(np.float32)
        observed[crop] = lin
    spec = scipy.fft.rfft2(observed, axes=(0, 1)) * gain
    out = scipy.fft.irfft2(spec, s=shape, axes=(0, 1))[crop]
    return linear_to_srgb(out.astype(np.float32))


def richardson_lucy(image: NDArray[np.floating], kernel: NDArray[np.floating],
                    iterations: int = 30, *, checked: bool = False) -> FloatImage:
    """Richardson-Lucy deconvolution (Poisson maximum likelihood) in linear light.

    Starts from the blurry image; each iteration costs two spatial filterings with
    reflect-101 borders. More iterations sharpen more and amplify noise more; there is no
    regulariser, so stop early (~30 at sRGB noise sigma 0.01).

    Args:
        image: blurry float32 HxWx3 sRGB in [0, 1].
        kernel: the blur's point-spread function.
        iterations: number of multiplicative updates, >= 1.

    Returns:
        Deblurred float32 HxWx3 sRGB in [0, 1].

    ``checked=True`` says the caller already ran ``check_image`` on it (no second scan).

    Raises:
        ImageError: the image is not HxWx3 float or holds NaN/Inf.
        ConfigError: bad kernel or ``iterations < 1``.
    """
    img = image.astype(np.float32, copy=False) if checked else check_image(image)
    k = check_kernel(kernel, img.shape)
    if iterations < 1:
        raise ConfigError(f"richardson_lucy iterations={iterations} must be >= 1")
    observed = np.maximum(srgb_to_linear(img), _EPS)
    flipped = np.ascontiguousarray(k[::-1, ::-1])
    est = observed.copy()
    for _ in range(iterations):
        predicted = cv2.filter2D(est, -1, flipped, borderType=cv2.BORDER_REFLECT_101)
        ratio = observed / np.maximum(predicted, _EPS)
        est *= cv2.filter2D(ratio, -1, k, borderType=cv2.BORDER_REFLECT_101)
    return linear_to_srgb(est)


_HL_BETA_START = 1.0
_HL_BETA_GROWTH = 2 * np.sqrt(2)
_HL_BETA_STOP = 256.0
"""Half-quadratic continuation of Krishnan & Fergus 2009: beta from 1 to 256, x2.8 a step."""
_HL_LUT_SIZE = 4096
_OPPONENT = np.float32([[1 / 3, 1 / 3, 1 / 3], [1 / 2, 0, -1 / 2], [1 / 4, -1 / 2, 1 / 4]])
"""Rows: luminance and two colour differences, the channels ``hyper_laplacian`` works in. Colour
differences have sparser gradients than R, G and B, so the prior suppresses colour noise and
fringes there; measured on 128 blurred training-photo cases through the default photo path
(defocus, soft focus, streaks; 2026-12-06): +0.08 dB over deconvolving R, G and B."""
_OPPONENT_INV = np.linalg.inv(_OPPONENT).astype(np.float32)


def _shrink_lut(alpha: float, beta: float, v_max: float) -> NDArray[np.float64]:
    """Table of ``w*(v) = argmin_w |w|^alpha + beta/2 (w - v)^2`` on ``_HL_LUT_SIZE`` evenly
    spaced v in [0, v_max].

    For alpha < 1 the minimiser is 0 or the larger root of ``alpha w^(alpha-1) + beta (w - v)``;
    Newton from w = v finds that root, and the energy decides between the two
    (Krishnan & Fergus 2009 tabulate the same function).
    """
    v = np.linspace(0.0, v_max, _HL_LUT_SIZE)
    if alpha >= 1.0:                      # alpha == 1: soft threshold (total variation)
        return np.maximum(v - 1.0 / beta, 0.0)
    w = v.copy()
    for _ in range(12):
        wp = np.maximum(w, 1e-12)
        f = alpha * wp ** (alpha - 1) + beta * (wp - v)
        df = alpha * (alpha - 1) * wp ** (alpha - 2) + beta
        w = np.clip(wp - f / df, 1e-12, v)
    keep = w ** alpha + 0.5 * beta * (w - v) ** 2 < 0.5 * beta * v ** 2
    return np.where(keep & (v > 0), w, 0.0)


def _grad(x: FloatImage, axis: int) -> FloatImage:
    """Forward difference with wrap-around along ``axis`` (the prior's gradient)."""
    return np.roll(x, -1, axis=axis) - x


def _shrink(d: FloatImage, alpha: float, beta: float, v_max: float | None = None) -> FloatImage:
    """Apply the hyper-Laplacian shrinkage to every gradient value of ``d`` (odd in d);
    ``v_max`` (at least ``|d|.max()``) sets the table's range, so channels shrunk one at a
    time share the table they would get together."""
    mag = np.abs(d)
    v_max = (float(mag.max()) if v_max is None else v_max) + 1e-6
    w = _shrink_lut(alpha, beta, v_max)
    # the table's v grid is uniform, so index it directly (np.interp's binary search was the
    # slowest step of the deconvolution)
    pos = mag * np.float32((w.size - 1) / v_max)
    i = pos.astype(np.intp)
    np.minimum(i, w.size - 2, out=i)
    lo, step = w[:-1].astype(np.float32), np.diff(w).astype(np.float32)
    out = np.take(lo, i)          # np.take gathers ~1.7x faster than lo[i]; same values
    pos -= i
    pos *= np.take(step, i)
    out += pos
    return np.copysign(out, d, out=out)


def hyper_laplacian(image: NDArray[np.floating], kernel: NDArray[np.floating], weight: float = 2000.0,
                    alpha: float = 0.8, *, space: BlurSpace = BlurSpace.LINEAR, checked: bool = False) -> FloatImage:
    """Deconvolution under a sparse (hyper-Laplacian) gradient prior, in linear light (or
    in sRGB values, ``space``, for blur made after encoding).

    Minimises ``weight/2 |k * x - y|^2 + sum |grad x|^alpha`` by half-quadratic splitting
    (Krishnan & Fergus 2009, "Fast image deconvolution using hyper-Laplacian priors"):
    gradients are shrunk through a lookup table, the image is solved in closed form in
    the Fourier domain, and the coupling weight rises from 1 to 256. Heavy-tailed
    gradients keep edges sharp while the flat areas lose the ringing and noise that
    Wiener's Gaussian prior lets through. It works in luminance and colour differences
    (``_OPPONENT``), where colour noise is sparser to the prior. Borders: the edge-tapered
    reflected margin of :func:`wiener`, refilled with the re-blurred estimate at every step.

    Args:
        image: blurry float32 HxWx3 sRGB in [0, 1].
        kernel: the blur's point-spread function (see module notes).
        weight: data-fidelity weight; larger keeps more detail and more noise. 2000 suits
            sRGB noise sigma ~0.01 (chosen on TRAIN_IMAGES, with ``alpha`` 0.8, over
            camera shake, linear motion and defocus).
        alpha: prior exponent in (0, 1]; 1 is total variation, 2/3 the paper's choice.
        space: where the kernel acted (the blur estimates tell: ``BlurEstimate.space``).

    Returns:
        Deblurred float32 HxWx3 sRGB in [0, 1].

    ``checked=True`` says the caller already ran ``check_image`` on it (no second scan).

    Raises:
        ImageError: the image is not HxWx3 float or holds NaN/Inf.
        ConfigError: bad kernel, ``weight <= 0`` or ``alpha`` outside (0, 1].
    """
    img = image.astype(np.float32, copy=False) if checked else check_image(image)
    k = check_kernel(kernel, img.shape)
    if not weight > 0:
        raise ConfigError(f"hyper_laplacian weight={weight} must be > 0 (try 2000)")
    if not 0 < alpha <= 1:
        raise ConfigError(f"hyper_laplacian alpha={alpha} must lie in (0, 1] (try 0.8)")
    return from_space(_hl_solve(to_space(img, space) @ _OPPONENT.T, k, weight, alpha) @ _OPPONENT_INV.T, space)


def _hl_solve(opp: FloatImage, k: FloatImage, weight: float, alpha: float) -> FloatImage:
    """The half-quadratic splitting of :func:`hyper_laplacian` on its (H, W, C) channels.

    Its own function so the padded planes and spectra are freed before the caller converts
    the result back (a 12 MP photo's held ~0.4 GB through that conversion); the crop it
    returns is a view, dropped as soon as the caller has mixed the channels back.
    """
    observed, otf, crop = pad_tapered(opp, k)
    shape = (observed.shape[0], observed.shape[1])
    dx_otf, dy_otf = kernel_otf(np.float32([[1, -1, 0]]), shape), kernel_otf(np.float32([[1], [-1], [0]]), shape)
    grad_power = np.abs(dx_otf) ** 2 + np.abs(dy_otf) ** 2
    k_power = np.abs(otf) ** 2
    x, y = observed.copy(), observed
    beta = _HL_BETA_START
    while beta <= _HL_BETA_STOP * 1.0001:
        ratio = np.float32(weight / beta)
        reach = {axis: max(float(np.abs(_grad(x[..., c], axis)).max()) for c in range(x.shape[2]))
                 for axis in (1, 0)}        # the largest step of each direction over all channels
        for c in range(x.shape[2]):     # one channel at a time: a third of the memory
            gx = _shrink(_grad(x[..., c], 1), alpha, beta, reach[1])
            gy = _shrink(_grad(x[..., c], 0), alpha, beta, reach[0])
            num = np.conj(dx_otf) * scipy.fft.rfft2(gx)
            num += np.conj(dy_otf) * scipy.fft.rfft2(gy)
            num += ratio * np.conj(otf) * scipy.fft.rfft2(y[..., c])
            num /= grad_power + ratio * k_power
            x[..., c] = scipy.fft.irfft2(num, s=shape)
            num *= otf
            y[..., c] = scipy.fft.irfft2(num, s=shape)
        y[crop] = opp
        beta *= _HL_BETA_GROWTH
    return x[crop]


def unsharp_mask(image: NDArray[np.floating], amount: float, radius_px: float, *,
                 checked: bool = False) -> FloatImage:
    """Classic sharpening: add back ``amount`` times the detail above a Gaussian blur.

    Works in linear light like the rest of this module. It does not deconvolve anything,
    so it is the "no kernel knowledge" baseline.

    Args:
        image: float32 HxWx3 sRGB in [0, 1].
        amount: detail gain, >= 0 (0 returns the input).
        radius_px: Gaussian sigma of the low-pass, > 0, in pixels.

    Returns:
        Sharpened float32 HxWx3 sRGB in [0, 1].

    ``checked=True`` says the caller already ran ``check_image`` on it (no second scan).

    Raises:
        ImageError: the image is not HxWx3 float or holds NaN/Inf.
        ConfigError: ``amount < 0`` or ``radius_px <= 0``.
    """
    img = image.astype(np.float32, copy=False) if checked else check_image(image)
    if amount < 0:
        raise ConfigError(f"unsharp amount={amount} must be >= 0")
    if not radius_px > 0:
        raise ConfigError(f"unsharp radius_px={radius_px} must be > 0")
    lin = srgb_to_linear(img)
    low = cv2.GaussianBlur(lin, (0, 0), float(radius_px), borderType=cv2.BORDER_REFLECT_101)
    return linear_to_srgb(lin + np.float32(amount) * (lin - low))
