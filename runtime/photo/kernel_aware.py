"""The kernel-aware deblur path: estimate the blur, deconvolve, keep the result only when trusted.

Learning to deblur blindly is slow on a CPU; inverting a known blur is not. This path
estimates the blur kernel from the photo itself and inverts it with a sparse-prior
deconvolution (``classical.hyper_laplacian``):

- defocus and straight motion: the spectral fits of ``runtime.photo.estimate`` (radius within
  ~0.05 px, length/angle within ~0.2 px / 1 degree on the benchmark);
- anything else (camera shake, a "sharp" verdict that may hide shake, or a weakly
  confident streak/disc that may be shake): a blind full kernel from
  ``runtime.photo.blind_kernel``, kept only if it explains the photo's power spectrum much
  better than no blur and the parametric kernel do (``estimate.fit_kernels``). Measured
  on TRAIN_IMAGES, the blind kernels that failed were the ones with a poor spectral fit
  or spread over their whole support.

The kernel is inverted in the space the estimate found it acting in, linear light or the
sRGB values (``BlurEstimate.space``): a lens blurs light, but public blur sets and phone
pipelines often blur encoded values, and inverting in the wrong space cost 3-5 dB at
contrasty edges on training faces.

When nothing is trusted the input comes back unchanged with ``method`` UNSURE, so a
caller can fall back to a learned model (``runtime.photo.deblur`` does).

Example:
    >>> result = kernel_aware_deblur(blurry, KernelAwareConfig(target=BlurTarget.ANY))
    >>> result.method, result.timings_ms["total"]
    (<KernelMethod.DEFOCUS: 'defocus'>, 412.0)
"""
from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from runtime.errors import ConfigError, ImageError, parse_choice
from runtime.photo.blind_kernel import BlindKernelConfig, estimate_kernel
from runtime.photo.classical import hyper_laplacian
from runtime.photo.estimate import BlurEstimate, classify_blur, estimate_defocus, estimate_motion, fit_kernels
from runtime.photo.imageio import check_image
from runtime.photo.kernels import BlurFamily, BlurSpace

log = logging.getLogger(__name__)

FloatImage = NDArray[np.float32]

_IDENTITY = np.ones((1, 1), np.float32)


class BlurTarget(str, enum.Enum):
    """Which blur to look for: any (classified per photo), defocus only, or motion/shake only."""

    ANY = "any"
    DEFOCUS = "defocus"
    MOTION = "motion"


class KernelMethod(str, enum.Enum):
    """What the path did with one photo.

    DEFOCUS / LINEAR_MOTION / SHAKE: deconvolved with an estimated disc, streak or blind
    full kernel. SHARP: no blur found, input returned. UNSURE: no estimate trusted, input
    returned (use another method).
    """

    DEFOCUS = "defocus"
    LINEAR_MOTION = "linear_motion"
    SHAKE = "shake"
    SHARP = "sharp"
    UNSURE = "unsure"


@dataclass(frozen=True, slots=True)
class KernelAwareConfig:
    """Settings of :func:`kernel_aware_deblur`.

    Attributes:
        target: blur family to look for.
        min_confidence: parametric (disc/streak) estimates below this are not used.
        recheck_confidence: a parametric estimate used with a confidence below this is
            challenged by a blind kernel (camera shake can pass for a streak or disc).
        max_fit_ratio: a blind kernel is trusted when its spectral misfit is at most this
            fraction of the no-blur misfit (and below the parametric fit's).
        switch_fit_ratio: a blind kernel replaces a usable parametric one when its misfit
            is at most this fraction of the parametric misfit.
        weight: data weight of the hyper-Laplacian deconvolution with a streak kernel.
        defocus_weight: the same with a disc (a streak's spectral zeros ring at a weight
            where a disc's detail is still held back).
        blind_weight: the same with a blind kernel (lower: an imperfect kernel needs more
            regularisation).
        alpha: the prior exponent.
        blind: blind-kernel settings; None skips blind estimation (UNSURE instead).
        estimate_crop_px: parametric estimates use the central crop of at most this side.
    """

    target: BlurTarget = BlurTarget.ANY
    min_confidence: float = 0.5
    recheck_confidence: float = 0.7
    max_fit_ratio: float = 0.6
    switch_fit_ratio: float = 0.5
    weight: float = 2000.0
    defocus_weight: float = 3000.0
    blind_weight: float = 1000.0
    alpha: float = 0.8
    blind: BlindKernelConfig | None = field(default_factory=BlindKernelConfig)
    estimate_crop_px: int = 1024

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", parse_choice(BlurTarget, self.target, "kernel-aware target"))
        for name in ("min_confidence", "recheck_confidence"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"kernel-aware {name}={getattr(self, name)} must lie in [0, 1]")
        for name in ("max_fit_ratio", "switch_fit_ratio"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"kernel-aware {name}={getattr(self, name)} must lie in (0, 1]")
        if not (self.weight > 0 and self.defocus_weight > 0 and self.blind_weight > 0 and 0 < self.alpha <= 1):
            raise ConfigError(f"kernel-aware weight={self.weight}, defocus_weight={self.defocus_weight} and "
                              f"blind_weight={self.blind_weight} must be > 0 and alpha={self.alpha} in (0, 1]")
        if self.estimate_crop_px < 128:
            raise ConfigError(f"kernel-aware estimate_crop_px={self.estimate_crop_px} must be >= 128")


@dataclass(frozen=True, slots=True, eq=False)
class KernelAwareResult:
    """One photo through the kernel-aware path.

    Attributes:
        image: float32 (H, W, 3) sRGB in [0, 1]; the input itself for SHARP / UNSURE.
        estimate: the parametric estimate consulted (None if the photo was too small).
        kernel: float32 2-D kernel used for deconvolution (sum 1), None when none was used.
        method: what was done (see :class:`KernelMethod`).
        timings_ms: milliseconds per stage ('estimate', 'blind', 'deconvolve', 'total').
        space: where the kernel was found to act and was inverted (see the module notes).
    """

    image: FloatImage
    estimate: BlurEstimate | None
    kernel: FloatImage | None
    method: KernelMethod
    timings_ms: dict[str, float]
    space: BlurSpace = BlurSpace.LINEAR

    @property
    def trusted(self) -> bool:
        """False when the path gave up (UNSURE) and another method should run."""
        return self.method is not KernelMethod.UNSURE


def centre_crop(image: FloatImage, side: int) -> FloatImage:
    """The central ``side`` x ``side`` crop (the whole image along a shorter side)."""
    h, w = image.shape[:2]
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return image[top: top + side, left: left + side]


def _parametric(image: FloatImage, target: BlurTarget) -> BlurEstimate:
    if target is BlurTarget.DEFOCUS:
        return estimate_defocus(image)
    if target is BlurTarget.MOTION:
        return estimate_motion(image)
    return classify_blur(image)


def _usable(est: BlurEstimate, config: KernelAwareConfig) -> KernelMethod | None:
    """DEFOCUS / LINEAR_MOTION when the parametric estimate can be deconvolved as is."""
    if est.is_sharp or est.confidence < config.min_confidence:
        return None
    if est.family is BlurFamily.DEFOCUS:
        return KernelMethod.DEFOCUS
    if est.family is BlurFamily.LINEAR_MOTION:
        return KernelMethod.LINEAR_MOTION
    return None


@dataclass(frozen=True, slots=True)
class _BlindFit:
    """A blind kernel and the spectral misfits (no blur, blind, parametric) it is judged by."""

    kernel: FloatImage
    none_fit: float
    blind_fit: float
    param_fit: float


def _blind(image: FloatImage, est: BlurEstimate, blind: BlindKernelConfig, crop_px: int) -> _BlindFit | None:
    """A blind kernel with its fits, or None when the search failed.

    Failed = too small an image, or a kernel filling its whole support (what a diverged
    estimate looks like: on TRAIN_IMAGES all such kernels lost 2-20 dB).
    """
    try:
        found = estimate_kernel(image, blind)
    except ImageError as e:            # too small for the kernel support
        log.debug("blind kernel skipped: %s", e)
        return None
    if found.extent_px >= blind.kernel_size_px:
        return None
    fits = fit_kernels(centre_crop(image, crop_px), [_IDENTITY, found.kernel, est.kernel])
    log.debug("blind kernel fit %.3f, no blur %.3f, parametric %.3f", fits[1], fits[0], fits[2])
    return _BlindFit(found.kernel, float(fits[0]), float(fits[1]), float(fits[2]))


def _trust_blind(fit: _BlindFit, challenging: bool, config: KernelAwareConfig) -> bool:
    """Use the blind kernel? It must explain the spectrum much better than no blur, and
    better than the parametric kernel (much better when that one is usable itself).

    Set on TRAIN_IMAGES: blind kernels with misfit above 0.6 x no-blur lost PSNR on
    average; true streaks/discs never had a blind misfit below 0.6 x theirs, while camera
    shake mistaken for them had 0.15-0.4.
    """
    if fit.blind_fit > config.max_fit_ratio * fit.none_fit:
        return False
    limit = config.switch_fit_ratio * fit.param_fit if challenging else fit.param_fit
    return fit.blind_fit < limit


def kernel_aware_deblur(image_srgb: NDArray[np.floating], config: KernelAwareConfig = KernelAwareConfig(), *,
                        checked: bool = False) -> KernelAwareResult:
    """Estimate the blur of one photo and deconvolve it, or return it unchanged when unsure.

    Policy: a confident parametric estimate (defocus for target DEFOCUS, streak for
    MOTION, either for ANY) is deconvolved. For MOTION and ANY, a blind full kernel is
    also estimated when there is no usable parametric estimate (this includes photos
    the classifier calls sharp: strong shake can keep high frequencies in some
    directions) or when its confidence is below ``recheck_confidence``; the blind kernel
    is used if it passes :func:`_trust_blind`. DEFOCUS never runs the blind search.

    Args:
        image_srgb: float (H, W, 3) sRGB in [0, 1].
        config: target family, trust thresholds and deconvolution settings.
        checked: the caller already ran ``check_image(..., clip=True)`` on it (no second scan).

    Returns:
        The restored photo, what was estimated and the kernel used.

    Raises:
        ImageError: not an (H, W, 3) float image, or NaN/Inf in it.
    """
    start = time.perf_counter()
    img = image_srgb.astype(np.float32, copy=False) if checked else check_image(image_srgb, clip=True)
    timings: dict[str, float] = {}

    def done(out: FloatImage, est: BlurEstimate | None, kernel: FloatImage | None,
             method: KernelMethod, space: BlurSpace = BlurSpace.LINEAR) -> KernelAwareResult:
        timings["total"] = (time.perf_counter() - start) * 1e3
        return KernelAwareResult(out, est, kernel, method, timings, space)

    try:
        est = _parametric(centre_crop(img, config.estimate_crop_px), config.target)
    except ImageError as e:            # smaller than the estimator's patch
        log.debug("blur estimate skipped: %s", e)
        timings["estimate"] = (time.perf_counter() - start) * 1e3
        return done(img, None, None, KernelMethod.UNSURE)
    timings["estimate"] = (time.perf_counter() - start) * 1e3
    method = _usable(est, config)
    kernel, space = est.kernel, est.space
    weight = config.defocus_weight if method is KernelMethod.DEFOCUS else config.weight
    if config.target is not BlurTarget.DEFOCUS and config.blind is not None and est.confidence > 0 \
            and (method is None or est.confidence < config.recheck_confidence):
        t = time.perf_counter()
        fit = _blind(img, est, config.blind, config.estimate_crop_px)
        timings["blind"] = (time.perf_counter() - t) * 1e3
        if fit is not None and _trust_blind(fit, method is not None, config):  # found in linear light
            method, kernel, weight, space = KernelMethod.SHAKE, fit.kernel, config.blind_weight, BlurSpace.LINEAR
    if method is None:
        sharp = est.is_sharp and est.confidence >= config.min_confidence
        return done(img, est, None, KernelMethod.SHARP if sharp else KernelMethod.UNSURE)
    t = time.perf_counter()
    out = hyper_laplacian(img, kernel, weight, config.alpha, space=space, checked=True)
    timings["deconvolve"] = (time.perf_counter() - t) * 1e3
    return done(out, est, kernel, method, space)
