"""Blind blur estimation from the power spectrum of a single blurry photo.

A blurred image's power spectrum is the sharp image's spectrum times |K(f)|^2 plus noise.
Natural images have a smooth power-law spectrum ``A |f|^-alpha``, so the kernel's zeros
and fall-off show through: rings for a defocus disc, parallel stripes for a straight
motion streak. We fit ``A |K(f)|^2 |f|^-alpha + N`` (power law, candidate kernel, white
noise floor) to a Welch-averaged spectrum in polar bins and keep the kernel whose model
has the smallest log-domain residual. Shared RESEARCH.md found this picks the defocus
radius and the motion length/angle correctly where gradient-sparsity criteria fail.

A lens blurs linear light, but many public blur sets and phone pipelines blur the encoded
sRGB values, and the sRGB curve between the two refills the kernel's zeros in the other
space's spectrum. So every estimator fits both spaces and keeps the one its best kernel
explains better relative to no blur, linear light unless sRGB is clearly better
(``BlurEstimate.space``, ``_SRGB_MARGIN``): on a training photo blurred on its sRGB
values the linear-light fit alone read a r3.5 disc as r1.7.

Candidate kernels are the ones ``runtime.photo.kernels`` draws, so an estimate plugs straight
into ``runtime.photo.classical.wiener``. Motion is searched coarse-to-fine (24 angles x 12
lengths, then two local refinements) instead of a full fine grid.

Example:
    >>> est = classify_blur(blurry)            # float32 HxWx3 sRGB in [0, 1]
    >>> if est.confidence > 0.5 and not est.is_sharp:
    ...     sharp = wiener(blurry, est.kernel)
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from runtime.errors import ConfigError, ImageError
from runtime.photo.imageio import check_image
from runtime.photo.kernels import BlurFamily, BlurSpace, defocus_kernel, linear_motion_kernel, to_space

FloatImage = NDArray[np.float32]

_ALPHAS = np.arange(1.2, 3.61, 0.2)
_N_ANGLE_BINS = 36
_N_RADIUS_BINS = 32
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
_FEATURELESS_POWER = 1e-12
"""Below this peak binned power the image has no texture to judge blur by."""
_DEFOCUS_STEP_PX = 0.25
_MOTION_ANGLES_DEG = np.arange(0.0, 180.0, 7.5)
_MOTION_LENGTHS_PX = np.array([3, 4, 5, 6.5, 8, 10, 12.5, 15, 18, 22, 26, 32, 38, 45, 54, 64], np.float64)

# Decision thresholds, set on TRAIN_IMAGES (rocket, motorcycle, camera, coins, brick,
# immunohistochemistry, hubble_deep_field, text) with random kernels of every family.
_MOTION_MARGIN = 0.3    # motion must beat defocus and no-blur residuals by 30 %
_DEFOCUS_MARGIN = 0.1   # defocus must beat motion by 10 % ...
_BLUR_GAIN = 0.2        # ... and no-blur by 20 %
_MIN_RADIUS_PX = 1.25
_MIN_LENGTH_PX = 4.0
_SHARP_CUTOFF = 0.4     # cycles/px where signal meets the noise floor; above = sharp
_SRGB_MARGIN = 0.85
"""Blur on sRGB values must explain the spectrum 15 % better than blur in linear light
(what a lens does) to be chosen. On 16 training photos (8 blurs each, made both ways,
noise 0.003-0.02) this named linear-made blur right in 95 % of cases (no margin: 75 %;
mild blur, a Gaussian sigma 1, fits both spaces about alike and went to sRGB 88 % of the
time) and sRGB-made discs r >= 3 and streaks in 88-100 %."""


@dataclass(frozen=True, slots=True)
class EstimateConfig:
    """Search ranges of the estimators.

    Attributes:
        patch_px: Welch patch size (power of two). Larger resolves longer blurs but
            averages fewer patches; the image must be at least this big on both sides.
        max_radius_px: largest defocus radius tried.
        max_length_px: longest motion streak tried.
    """

    patch_px: int = 128
    max_radius_px: float = 8.0
    max_length_px: float = 32.0

    def __post_init__(self) -> None:
        if self.patch_px < 32 or self.patch_px & (self.patch_px - 1):
            raise ConfigError(f"estimate patch_px={self.patch_px} must be a power of two >= 32")
        if not 1.0 <= self.max_radius_px <= self.patch_px / 4:
            raise ConfigError(f"estimate max_radius_px={self.max_radius_px} must lie in [1, patch_px/4]")
        if not 4.0 <= self.max_length_px <= self.patch_px / 2:
            raise ConfigError(f"estimate max_length_px={self.max_length_px} must lie in [4, patch_px/2]")


@dataclass(frozen=True, slots=True)
class BlurEstimate:
    """What blind estimation found.

    Attributes:
        family: DEFOCUS, LINEAR_MOTION, or CAMERA_SHAKE when neither parametric model
            explains the spectrum (then ``kernel`` is only the closer of the two fits and
            ``confidence`` is below 0.5: prefer a learned model). A sharp image comes back
            as DEFOCUS with ``size_px`` 0: no blur is the r = 0 member of the disc family.
        size_px: defocus radius or motion length in pixels; 0 means no blur found.
        angle_deg: motion direction in [0, 180) (0 = horizontal, counter-clockwise, as in
            ``kernels.linear_motion_kernel``); None for other families.
        kernel: float32 2-D kernel summing to 1, centred (a 1x1 identity when sharp).
        confidence: 0..1, how clearly this model beat the alternatives; 0.5 is the
            decision threshold of :func:`classify_blur`.
        residual: RMS log-power misfit of the chosen model (natural-log units).
        space: where the kernel acted: linear light, or the sRGB values (blur made after
            encoding, as in many public blur sets); the space whose spectrum the estimate
            explains better relative to no blur (sRGB only by ``_SRGB_MARGIN``).
    """

    family: BlurFamily
    size_px: float
    angle_deg: float | None
    kernel: FloatImage
    confidence: float
    residual: float
    space: BlurSpace = BlurSpace.LINEAR

    @property
    def is_sharp(self) -> bool:
        """True when the no-blur model fitted best."""
        return bool(self.size_px == 0.0)


@dataclass(frozen=True, slots=True)
class _Grid:
    """Polar binning of the rFFT half-plane of a ``patch_px`` square."""

    points: NDArray[np.intp]      # flat indices into (P, P//2+1) of the frequencies used
    bins: NDArray[np.intp]        # polar bin of each used frequency
    counts: NDArray[np.float64]   # (n_bins,)
    radius: NDArray[np.float64]   # (n_bins,) mean |f| per bin, cycles/px
    n_bins: int


@lru_cache(maxsize=4)
def _grid(patch_px: int) -> _Grid:
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
    return _Grid(points, bins, counts, radius, len(counts))


def _bin(grid: _Grid, values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mean of per-frequency ``values`` (..., P, P//2+1) in each polar bin -> (..., n_bins)."""
    lead = values.shape[:-2]
    flat = values.reshape(-1, values.shape[-2] * values.shape[-1])[:, grid.points]
    offsets = (np.arange(flat.shape[0])[:, None] * grid.n_bins + grid.bins[None, :]).ravel()
    sums = np.bincount(offsets, weights=flat.ravel(), minlength=flat.shape[0] * grid.n_bins)
    return sums.reshape(lead + (grid.n_bins,)) / grid.counts


def _kernel_power(kernels: list[FloatImage], patch_px: int) -> NDArray[np.float64]:
    """Bin-averaged |K(f)|^2 of each kernel on the polar grid -> (n_kernels, n_bins)."""
    stack = np.zeros((len(kernels), patch_px, patch_px), np.float64)
    for i, k in enumerate(kernels):
        stack[i, : k.shape[0], : k.shape[1]] = k
    otf = np.fft.rfft2(stack)
    return _bin(_grid(patch_px), otf.real ** 2 + otf.imag ** 2)


@dataclass(frozen=True, slots=True)
class _Spectrum:
    """Welch power of one image in the polar bins of ``_grid(patch_px)``."""

    power: NDArray[np.float64]   # (n_bins,)
    radius: NDArray[np.float64]  # (n_bins,) cycles/px
    patch_px: int


def _welch_spectrum(image_srgb: NDArray[np.floating], patch_px: int,
                    space: BlurSpace = BlurSpace.LINEAR) -> _Spectrum:
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
    grid = _grid(patch_px)
    return _Spectrum(np.maximum(_bin(grid, power), 1e-30), grid.radius, patch_px)


@dataclass(frozen=True, slots=True)
class _Fit:
    residual: NDArray[np.float64]  # (n_candidates,) RMS log misfit at the best alpha
    alpha: NDArray[np.float64]     # (n_candidates,) that alpha
    amplitude: NDArray[np.float64]  # (n_candidates,) A
    noise: NDArray[np.float64]     # (n_candidates,) N


def _fit(spectrum: _Spectrum, kernel_power: NDArray[np.float64]) -> _Fit:
    """Fit ``A g + N`` with ``g = |K|^2 |f|^-alpha`` per candidate and alpha; keep the best alpha.

    The amplitudes come from a linear least-squares fit of the relative error
    ``(A g + N) / S - 1`` (close to the log error near the optimum); the returned residual
    is the RMS of ``log(A g + N) - log S`` over the polar bins.
    """
    power = spectrum.power
    slope = spectrum.radius[None, :] ** -_ALPHAS[:, None]  # (nA, B)
    # the least-squares sums over bins as (C, B) @ (B, nA) products: no (C, nA, B) temporaries
    v = 1.0 / power
    suu = (kernel_power ** 2) @ ((slope * v) ** 2).T
    suv = kernel_power @ (slope * v * v).T
    su = kernel_power @ (slope * v).T
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
        err = kernel_power.astype(np.float32)[:, None, :] * slope.astype(np.float32)[None]  # (C, nA, B)
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
    return _Fit(resid[rows, k], _ALPHAS[k], a[rows, k], n[rows, k])


@lru_cache(maxsize=4)
def _defocus_bank(patch_px: int, max_radius_px: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Radii (0 = no blur) and their binned kernel power."""
    radii = np.arange(2 * _DEFOCUS_STEP_PX, max_radius_px + 1e-9, _DEFOCUS_STEP_PX)
    power = _kernel_power([defocus_kernel(r) for r in radii], patch_px)
    return np.r_[0.0, radii], np.vstack([np.ones((1, power.shape[1])), power])


@lru_cache(maxsize=4)
def _motion_bank(patch_px: int, max_length_px: float
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Coarse (length, angle) grid and its binned kernel power."""
    lengths = _MOTION_LENGTHS_PX[_MOTION_LENGTHS_PX <= max_length_px]
    ll, aa = (g.ravel() for g in np.meshgrid(lengths, _MOTION_ANGLES_DEG, indexing="ij"))
    power = _kernel_power([linear_motion_kernel(l, a) for l, a in zip(ll, aa)], patch_px)
    return ll, aa, power


@dataclass(frozen=True, slots=True)
class _Best:
    size_px: float
    angle_deg: float  # motion only; 0 for defocus
    residual: float


def _best_defocus(spec: _Spectrum, cfg: EstimateConfig) -> tuple[_Best, float]:
    """Best radius (coarse grid, then a 0.05 px refinement) and the no-blur residual."""
    radii, bank = _defocus_bank(cfg.patch_px, cfg.max_radius_px)
    res = _fit(spec, bank).residual
    i = int(np.argmin(res))
    if radii[i] == 0:
        return _Best(0.0, 0.0, float(res[0])), float(res[0])
    fine = np.arange(radii[i] - 0.2, radii[i] + 0.21, 0.05)
    fine = fine[fine > 0.3]
    res_fine = _fit(spec, _kernel_power([defocus_kernel(r) for r in fine], cfg.patch_px)).residual
    j = int(np.argmin(res_fine))
    if res_fine[j] < res[i]:
        return _Best(float(fine[j]), 0.0, float(res_fine[j])), float(res[0])
    return _Best(float(radii[i]), 0.0, float(res[i])), float(res[0])


def _best_motion(spec: _Spectrum, cfg: EstimateConfig) -> _Best:
    """Coarse 7.5 degree x ~25 % length grid, then two local refinements."""
    lengths, angles, bank = _motion_bank(cfg.patch_px, cfg.max_length_px)
    res = _fit(spec, bank).residual
    i = int(np.argmin(res))
    length, angle, best = float(lengths[i]), float(angles[i]), float(res[i])
    for half_len, n_len, half_ang, n_ang in ((0.25 * length, 7, 6.0, 7), (0.6, 5, 1.5, 5)):
        cand = [(l, a % 180.0) for l in np.linspace(length - half_len, length + half_len, n_len)
                if 2.0 <= l <= cfg.max_length_px
                for a in np.linspace(angle - half_ang, angle + half_ang, n_ang)]
        bank_fine = _kernel_power([linear_motion_kernel(l, a) for l, a in cand], cfg.patch_px)
        res_fine = _fit(spec, bank_fine).residual
        j = int(np.argmin(res_fine))
        if res_fine[j] < best:
            (length, angle), best = cand[j], float(res_fine[j])
    return _Best(float(length), float(angle), best)


def _margin_confidence(margin: float, threshold: float) -> float:
    """0 at no margin, 0.5 at the decision threshold, towards 1 beyond."""
    return float(max(margin, 0.0) / (max(margin, 0.0) + threshold))


def _noise_cutoff(spec: _Spectrum) -> float:
    """Frequency (cycles/px) where the no-blur power law meets the fitted noise floor."""
    fit = _fit(spec, np.ones((1, spec.power.size)))
    if fit.noise[0] <= 0:
        return float("inf")
    return float((fit.amplitude[0] / fit.noise[0]) ** (1.0 / fit.alpha[0]))


def _sharp_estimate(spec: _Spectrum, none_residual: float) -> BlurEstimate:
    """No blur found; confidence from how far the noise cutoff lies above the threshold."""
    conf = float(np.clip(1.0 - 0.5 * _SHARP_CUTOFF / _noise_cutoff(spec), 0.0, 1.0))
    return BlurEstimate(BlurFamily.DEFOCUS, 0.0, None, np.ones((1, 1), np.float32), conf, none_residual)


def _featureless(spec: _Spectrum, family: BlurFamily) -> BlurEstimate | None:
    """A no-blur, zero-confidence estimate when the image has no texture to judge by."""
    if spec.power.max() >= _FEATURELESS_POWER:
        return None
    angle = 0.0 if family is BlurFamily.LINEAR_MOTION else None
    return BlurEstimate(family, 0.0, angle, np.ones((1, 1), np.float32), 0.0, 0.0)


def _defocus_estimate(best: _Best, none_residual: float) -> BlurEstimate:
    conf = _margin_confidence(none_residual / best.residual - 1, _BLUR_GAIN)
    return BlurEstimate(BlurFamily.DEFOCUS, best.size_px, None, defocus_kernel(best.size_px), conf, best.residual)


def _motion_estimate(best: _Best, rival_residual: float) -> BlurEstimate:
    conf = _margin_confidence(rival_residual / best.residual - 1, _MOTION_MARGIN)
    return BlurEstimate(BlurFamily.LINEAR_MOTION, best.size_px, best.angle_deg,
                        linear_motion_kernel(best.size_px, best.angle_deg), conf, best.residual)


def _in_best_space(image_srgb: NDArray[np.floating], config: EstimateConfig,
                   judge: Callable[[_Spectrum], BlurEstimate]) -> BlurEstimate:
    """``judge`` the linear-light and the sRGB spectrum; keep the sRGB estimate only if its
    misfit, as a fraction of its own space's no-blur misfit, beats linear light's by
    ``_SRGB_MARGIN``."""
    def scored(space: BlurSpace) -> tuple[float, BlurEstimate]:
        spec = _welch_spectrum(image_srgb, config.patch_px, space)
        est = replace(judge(spec), space=space)
        none_residual = float(_fit(spec, np.ones((1, spec.power.size))).residual[0])
        return (est.residual / none_residual if none_residual > 0 else 1.0), est

    (linear_score, linear), (srgb_score, srgb) = scored(BlurSpace.LINEAR), scored(BlurSpace.SRGB)
    return srgb if srgb_score < _SRGB_MARGIN * linear_score else linear


def estimate_defocus(image_srgb: NDArray[np.floating], config: EstimateConfig = EstimateConfig()) -> BlurEstimate:
    """Estimate a defocus (disc) radius, assuming the blur is defocus.

    Args:
        image_srgb: float HxWx3 sRGB in [0, 1], at least ``config.patch_px`` on each side.
        config: search ranges.

    Returns:
        A DEFOCUS estimate; ``size_px`` is the radius (0 when no blur fits better), with
        confidence from how much better the disc fits than no blur (0 for a featureless
        image, which has no texture to judge by).

    Raises:
        ImageError: not an HxWx3 float image, NaN/Inf, or smaller than the patch.
    """
    return _in_best_space(image_srgb, config, lambda spec: _judge_defocus(spec, config))


def _judge_defocus(spec: _Spectrum, config: EstimateConfig) -> BlurEstimate:
    flat = _featureless(spec, BlurFamily.DEFOCUS)
    if flat is not None:
        return flat
    best, none_residual = _best_defocus(spec, config)
    return _sharp_estimate(spec, none_residual) if best.size_px == 0 else _defocus_estimate(best, none_residual)


def estimate_motion(image_srgb: NDArray[np.floating], config: EstimateConfig = EstimateConfig()) -> BlurEstimate:
    """Estimate a straight motion streak's length and angle, assuming the blur is linear motion.

    Args:
        image_srgb: float HxWx3 sRGB in [0, 1], at least ``config.patch_px`` on each side.
        config: search ranges.

    Returns:
        A LINEAR_MOTION estimate (length in px, angle in [0, 180) degrees), with
        confidence from how much better the streak fits than no blur (0 for a
        featureless image).

    Raises:
        ImageError: not an HxWx3 float image, NaN/Inf, or smaller than the patch.
    """
    return _in_best_space(image_srgb, config, lambda spec: _judge_motion(spec, config))


def _judge_motion(spec: _Spectrum, config: EstimateConfig) -> BlurEstimate:
    flat = _featureless(spec, BlurFamily.LINEAR_MOTION)
    if flat is not None:
        return flat
    _, none_residual = _best_defocus(spec, config)
    return _motion_estimate(_best_motion(spec, config), none_residual)


def fit_kernels(image_srgb: NDArray[np.floating], kernels: list[NDArray[np.floating]],
                config: EstimateConfig = EstimateConfig()) -> NDArray[np.float64]:
    """How well each candidate kernel explains the image's (linear-light) power spectrum.

    The same model as the estimators (``A |K(f)|^2 |f|^-alpha + N``), so any kernel, a
    blind one included, can be checked against the no-blur model (a 1x1 kernel) without
    a reference image.

    Args:
        image_srgb: float HxWx3 sRGB in [0, 1], at least ``config.patch_px`` on each side.
        kernels: 2-D non-negative kernels summing to 1, each at most ``config.patch_px``.
        config: Welch patch size.

    Returns:
        float64 (len(kernels),) RMS log-power misfit per kernel (natural-log units);
        smaller fits better.

    Raises:
        ImageError: not an HxWx3 float image, NaN/Inf, or smaller than the patch.
        ConfigError: a kernel larger than the patch.
    """
    too_big = [k.shape for k in kernels if max(k.shape) > config.patch_px]
    if too_big:
        raise ConfigError(f"kernel {too_big[0]} exceeds the estimator patch {config.patch_px} px; "
                          "raise EstimateConfig(patch_px=...)")
    spec = _welch_spectrum(image_srgb, config.patch_px)
    bank = _kernel_power([np.asarray(k, np.float32) for k in kernels], config.patch_px)
    return _fit(spec, bank).residual


def classify_blur(image_srgb: NDArray[np.floating], config: EstimateConfig = EstimateConfig()) -> BlurEstimate:
    """Decide between no blur, defocus, linear motion and "other" (camera shake).

    Rules, in order: LINEAR_MOTION when the streak model beats both the disc and no-blur
    models by 30 %; DEFOCUS when the disc beats the streak by 10 % and no blur by 20 %;
    sharp (size 0) when the image keeps signal above the noise floor up to 0.4
    cycles/px; otherwise CAMERA_SHAKE with confidence below 0.5 and the closer
    parametric kernel as a stand-in, so callers can route to a learned model.

    Args:
        image_srgb: float HxWx3 sRGB in [0, 1], at least ``config.patch_px`` on each side.
        config: search ranges.

    Raises:
        ImageError: not an HxWx3 float image, NaN/Inf, or smaller than the patch.
    """
    return _in_best_space(image_srgb, config, lambda spec: _judge_any(spec, config))


def _judge_any(spec: _Spectrum, config: EstimateConfig) -> BlurEstimate:
    """``classify_blur``'s rules on one space's spectrum."""
    flat = _featureless(spec, BlurFamily.DEFOCUS)
    if flat is not None:
        return flat
    defocus, none_residual = _best_defocus(spec, config)
    motion = _best_motion(spec, config)
    motion_est = _motion_estimate(motion, min(defocus.residual, none_residual))
    if motion_est.confidence >= 0.5 and motion.size_px >= _MIN_LENGTH_PX:
        return motion_est
    closer = motion_est
    if defocus.size_px > 0:
        defocus_est = _defocus_estimate(defocus, none_residual)
        over_motion = _margin_confidence(motion.residual / defocus.residual - 1, _DEFOCUS_MARGIN)
        defocus_est = replace(defocus_est, confidence=min(defocus_est.confidence, over_motion))
        if defocus_est.confidence >= 0.5 and defocus.size_px >= _MIN_RADIUS_PX:
            return defocus_est
        closer = defocus_est if defocus.residual < motion.residual else motion_est
    if _noise_cutoff(spec) >= _SHARP_CUTOFF:
        return _sharp_estimate(spec, none_residual)
    return BlurEstimate(BlurFamily.CAMERA_SHAKE, closer.size_px, None, closer.kernel,
                        0.5 * closer.confidence, closer.residual)
