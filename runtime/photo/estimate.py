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

from runtime.errors import ConfigError
from runtime.photo.kernels import BlurFamily, BlurSpace, defocus_kernel, linear_motion_kernel
from runtime.photo.spectrum import Fit, Spectrum, fit_model, kernel_power, welch_spectrum

FloatImage = NDArray[np.float32]

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


@lru_cache(maxsize=4)
def _defocus_bank(patch_px: int, max_radius_px: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Radii (0 = no blur) and their binned kernel power."""
    radii = np.arange(2 * _DEFOCUS_STEP_PX, max_radius_px + 1e-9, _DEFOCUS_STEP_PX)
    power = kernel_power([defocus_kernel(r) for r in radii], patch_px)
    return np.r_[0.0, radii], np.vstack([np.ones((1, power.shape[1])), power])


@lru_cache(maxsize=4)
def _motion_bank(patch_px: int, max_length_px: float
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Coarse (length, angle) grid and its binned kernel power."""
    lengths = _MOTION_LENGTHS_PX[_MOTION_LENGTHS_PX <= max_length_px]
    ll, aa = (g.ravel() for g in np.meshgrid(lengths, _MOTION_ANGLES_DEG, indexing="ij"))
    power = kernel_power([linear_motion_kernel(l, a) for l, a in zip(ll, aa)], patch_px)
    return ll, aa, power


@dataclass(frozen=True, slots=True)
class _Best:
    size_px: float
    angle_deg: float  # motion only; 0 for defocus
    residual: float


def _best_defocus(spec: Spectrum, cfg: EstimateConfig) -> tuple[_Best, float]:
    """Best radius (coarse grid, then a 0.05 px refinement) and the no-blur residual."""
    radii, bank = _defocus_bank(cfg.patch_px, cfg.max_radius_px)
    res = fit_model(spec, bank).residual
    i = int(np.argmin(res))
    if radii[i] == 0:
        return _Best(0.0, 0.0, float(res[0])), float(res[0])
    fine = np.arange(radii[i] - 0.2, radii[i] + 0.21, 0.05)
    fine = fine[fine > 0.3]
    res_fine = fit_model(spec, kernel_power([defocus_kernel(r) for r in fine], cfg.patch_px)).residual
    j = int(np.argmin(res_fine))
    if res_fine[j] < res[i]:
        return _Best(float(fine[j]), 0.0, float(res_fine[j])), float(res[0])
    return _Best(float(radii[i]), 0.0, float(res[i])), float(res[0])


def _best_motion(spec: Spectrum, cfg: EstimateConfig) -> _Best:
    """Coarse 7.5 degree x ~25 % length grid, then two local refinements."""
    lengths, angles, bank = _motion_bank(cfg.patch_px, cfg.max_length_px)
    res = fit_model(spec, bank).residual
    i = int(np.argmin(res))
    length, angle, best = float(lengths[i]), float(angles[i]), float(res[i])
    for half_len, n_len, half_ang, n_ang in ((0.25 * length, 7, 6.0, 7), (0.6, 5, 1.5, 5)):
        cand = [(l, a % 180.0) for l in np.linspace(length - half_len, length + half_len, n_len)
                if 2.0 <= l <= cfg.max_length_px
                for a in np.linspace(angle - half_ang, angle + half_ang, n_ang)]
        bank_fine = kernel_power([linear_motion_kernel(l, a) for l, a in cand], cfg.patch_px)
        res_fine = fit_model(spec, bank_fine).residual
        j = int(np.argmin(res_fine))
        if res_fine[j] < best:
            (length, angle), best = cand[j], float(res_fine[j])
    return _Best(float(length), float(angle), best)


def _margin_confidence(margin: float, threshold: float) -> float:
    """0 at no margin, 0.5 at the decision threshold, towards 1 beyond."""
    return float(max(margin, 0.0) / (max(margin, 0.0) + threshold))


def _no_blur_fit(spec: Spectrum) -> Fit:
    """The fit of a plain power-law image (no blur) plus noise."""
    return fit_model(spec, np.ones((1, spec.power.size)))


def _noise_cutoff(spec: Spectrum) -> float:
    """Frequency (cycles/px) where the no-blur power law meets the fitted noise floor."""
    fit = _no_blur_fit(spec)
    if fit.noise[0] <= 0:
        return float("inf")
    return float((fit.amplitude[0] / fit.noise[0]) ** (1.0 / fit.alpha[0]))


def _sharp_estimate(spec: Spectrum, none_residual: float) -> BlurEstimate:
    """No blur found; confidence from how far the noise cutoff lies above the threshold."""
    conf = float(np.clip(1.0 - 0.5 * _SHARP_CUTOFF / _noise_cutoff(spec), 0.0, 1.0))
    return BlurEstimate(BlurFamily.DEFOCUS, 0.0, None, np.ones((1, 1), np.float32), conf, none_residual)


def _featureless(spec: Spectrum, family: BlurFamily) -> BlurEstimate | None:
    """A no-blur, zero-confidence estimate when the image has no texture to judge by: too
    little power, or a spectrum no power-law image explains (white noise: the no-blur fit's
    amplitude comes out <= 0, every misfit infinite and every confidence undefined)."""
    if spec.power.max() >= _FEATURELESS_POWER and np.isfinite(_no_blur_fit(spec).residual[0]):
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
                   judge: Callable[[Spectrum], BlurEstimate]) -> BlurEstimate:
    """``judge`` the linear-light and the sRGB spectrum; keep the sRGB estimate only if its
    misfit, as a fraction of its own space's no-blur misfit, beats linear light's by
    ``_SRGB_MARGIN``."""
    def scored(space: BlurSpace) -> tuple[float, BlurEstimate]:
        spec = welch_spectrum(image_srgb, config.patch_px, space)
        est = replace(judge(spec), space=space)
        none_residual = float(_no_blur_fit(spec).residual[0])
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


def _judge_defocus(spec: Spectrum, config: EstimateConfig) -> BlurEstimate:
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


def _judge_motion(spec: Spectrum, config: EstimateConfig) -> BlurEstimate:
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
    spec = welch_spectrum(image_srgb, config.patch_px)
    bank = kernel_power([np.asarray(k, np.float32) for k in kernels], config.patch_px)
    return fit_model(spec, bank).residual


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


def _judge_any(spec: Spectrum, config: EstimateConfig) -> BlurEstimate:
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
