"""The kernel-aware deblur path: estimate the blur, deconvolve, keep the result only when trusted.

Learning to deblur blindly is slow on a CPU; inverting a known blur is not. This path
estimates the blur kernel from the photo itself and inverts it with a sparse-prior
deconvolution (``classical.hyper_laplacian``):

- defocus and straight motion: the spectral fits of ``runtime.estimate`` (radius within
  ~0.05 px, length/angle within ~0.2 px / 1 degree on the benchmark);
- anything else (camera shake, or a "sharp" verdict that may hide shake): a blind full
  kernel from ``runtime.blind_kernel``, kept only if it explains the photo's power
  spectrum much better than no blur does (``estimate.fit_kernels``). Measured on
  TRAIN_IMAGES, blind kernels that failed were the ones with a poor spectral fit.

When nothing is trusted the input comes back unchanged with ``method`` UNSURE, so a
caller can fall back to a learned model (``runtime.deblur`` does).

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

from runtime.blind_kernel import BlindKernelConfig, estimate_kernel
from runtime.classical import check_image, hyper_laplacian
from runtime.errors import ConfigError, ImageError
from runtime.estimate import BlurEstimate, classify_blur, estimate_defocus, estimate_motion, fit_kernels
from runtime.synth import BlurFamily

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
        max_fit_ratio: a blind kernel is trusted when its spectral misfit is at most this
            fraction of the no-blur misfit (and below the parametric fit's).
        weight: data weight of the hyper-Laplacian deconvolution.
        alpha: its prior exponent.
        blind: blind-kernel settings; None skips blind estimation (UNSURE instead).
        estimate_crop_px: parametric estimates use the central crop of at most this side.
    """

    target: BlurTarget = BlurTarget.ANY
    min_confidence: float = 0.5
    max_fit_ratio: float = 0.6
    weight: float = 2000.0
    alpha: float = 0.8
    blind: BlindKernelConfig | None = field(default_factory=BlindKernelConfig)
    estimate_crop_px: int = 1024

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "target", BlurTarget(self.target))
        except ValueError as e:
            raise ConfigError(f"kernel-aware target {self.target!r} is not one of "
                              f"{', '.join(t.value for t in BlurTarget)}") from e
        if not 0 <= self.min_confidence <= 1:
            raise ConfigError(f"kernel-aware min_confidence={self.min_confidence} must lie in [0, 1] (try 0.5)")
        if not 0 < self.max_fit_ratio <= 1:
            raise ConfigError(f"kernel-aware max_fit_ratio={self.max_fit_ratio} must lie in (0, 1] (try 0.6)")
        if not self.weight > 0 or not 0 < self.alpha <= 1:
            raise ConfigError(f"kernel-aware weight={self.weight} must be > 0 and alpha={self.alpha} in (0, 1]")
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
    """

    image: FloatImage
    estimate: BlurEstimate | None
    kernel: FloatImage | None
    method: KernelMethod
    timings_ms: dict[str, float]

    @property
    def trusted(self) -> bool:
        """False when the path gave up (UNSURE) and another method should run."""
        return self.method is not KernelMethod.UNSURE


def _crop(image: FloatImage, side: int) -> FloatImage:
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


def _blind(image: FloatImage, est: BlurEstimate, config: KernelAwareConfig, crop_px: int
           ) -> FloatImage | None:
    """A blind kernel if its spectral fit beats no blur (by ``max_fit_ratio``) and the parametric fit."""
    assert config.blind is not None  # noqa: S101 - checked by the caller, not user input
    try:
        kernel = estimate_kernel(image, config.blind).kernel
    except ImageError as e:            # too small for the kernel support
        log.debug("blind kernel skipped: %s", e)
        return None
    none_fit, blind_fit, param_fit = fit_kernels(_crop(image, crop_px), [_IDENTITY, kernel, est.kernel])
    log.debug("blind kernel fit %.3f, no blur %.3f, parametric %.3f", blind_fit, none_fit, param_fit)
    if blind_fit <= config.max_fit_ratio * none_fit and blind_fit < param_fit:
        return kernel
    return None


def kernel_aware_deblur(image_srgb: NDArray[np.floating], config: KernelAwareConfig = KernelAwareConfig()
                        ) -> KernelAwareResult:
    """Estimate the blur of one photo and deconvolve it, or return it unchanged when unsure.

    Policy: a confident parametric estimate (defocus for target DEFOCUS, streak for
    MOTION, either for ANY) is deconvolved directly. Otherwise (MOTION and ANY only) a
    blind full kernel is estimated and used if its spectral fit is trusted; for ANY this
    includes photos the classifier calls sharp, since strong shake can keep high
    frequencies in some directions. DEFOCUS never runs the blind search.

    Args:
        image_srgb: float (H, W, 3) sRGB in [0, 1].
        config: target family, trust thresholds and deconvolution settings.

    Returns:
        The restored photo, what was estimated and the kernel used.

    Raises:
        ImageError: not an (H, W, 3) float image, or NaN/Inf in it.
    """
    start = time.perf_counter()
    img = np.clip(check_image(image_srgb), 0.0, 1.0)
    timings: dict[str, float] = {}

    def done(out: FloatImage, est: BlurEstimate | None, kernel: FloatImage | None,
             method: KernelMethod) -> KernelAwareResult:
        timings["total"] = (time.perf_counter() - start) * 1e3
        return KernelAwareResult(out, est, kernel, method, timings)

    crop_px = config.estimate_crop_px
    try:
        est = _parametric(_crop(img, crop_px), config.target)
    except ImageError as e:            # smaller than the estimator's patch
        log.debug("blur estimate skipped: %s", e)
        timings["estimate"] = (time.perf_counter() - start) * 1e3
        return done(img, None, None, KernelMethod.UNSURE)
    timings["estimate"] = (time.perf_counter() - start) * 1e3
    method = _usable(est, config)
    kernel: FloatImage | None = est.kernel if method is not None else None
    if method is None and config.target is not BlurTarget.DEFOCUS and config.blind is not None \
            and est.confidence > 0:
        t = time.perf_counter()
        kernel = _blind(img, est, config, crop_px)
        timings["blind"] = (time.perf_counter() - t) * 1e3
        method = KernelMethod.SHAKE if kernel is not None else None
    if method is None:
        sharp = est.is_sharp and est.confidence >= config.min_confidence
        return done(img, est, None, KernelMethod.SHARP if sharp else KernelMethod.UNSURE)
    assert kernel is not None  # noqa: S101 - set together with method above
    t = time.perf_counter()
    out = hyper_laplacian(img, kernel, config.weight, config.alpha)
    timings["deconvolve"] = (time.perf_counter() - t) * 1e3
    return done(out, est, kernel, method)
