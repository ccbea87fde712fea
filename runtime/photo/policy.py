"""What ``--method auto`` does with one photo: the learned model first, a kernel only where it pays.

Measured on camera-made blur (``benchmarks/results/realblur``), the blind kernel path lost
on real motion: camera shake deconvolved with a blind kernel cost -1.5 to -7.2 dB on 5 of
21 pairs (a wrong kernel leaves ringing the model cannot clean up), while the model alone
never lost more than 0.85 dB with the retrained weights. So:

1. the model's correction is applied only where the photo is locally blurry (``gate``:
   sharp neighbourhoods keep their pixels; on ``val_realblur`` the shipped small without
   the gate made 12 of 21 photos worse, worst -0.85 dB, with it 5, worst -0.31 dB, and
   the gains on camera shake stayed);
2. a kernel result is used only for the families in ``kernel_families`` (default: defocus
   discs and straight streaks, which the spectral fits find reliably), only when the
   estimate is sure of itself (``min_defocus_confidence``, ``min_motion_confidence``:
   camera shake misread as a disc or a streak comes with less confidence), only on photos whose
   noise sigma is at most ``max_noise_sigma`` (noisier photos lost with the kernel even
   when it was right), and only if it passes the re-blur check: the deconvolved photo,
   blurred again with the estimated kernel, must reproduce the input to within
   ``max_reblur_ratio`` times the photo's noise level (grossly wrong kernels cannot); the
   model then cleans up at ``cleanup_strength``. Evidence on training photos with known
   kernels: ``benchmarks/results/policy``;
3. everything else gets the learned model alone, through the gate.
``--method kernel`` still runs the whole kernel path (blind shake kernels included).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.errors import ConfigError
from runtime.photo.kernel_aware import BlurTarget, KernelAwareConfig, KernelAwareResult, KernelMethod, centre_crop
from runtime.photo.gate import GateConfig, noise_sigma
from runtime.photo.kernels import BlurSpace, from_space, to_space

REBLUR_CROP_PX = 768
"""The re-blur check compares the central crop of at most this side (bounded cost)."""


@dataclass(frozen=True, slots=True)
class AutoPolicy:
    """Which path ``--method auto`` may take (see the module notes for the evidence)."""

    kernel_families: frozenset[KernelMethod] = frozenset({KernelMethod.DEFOCUS, KernelMethod.LINEAR_MOTION})
    keep_sharp: bool = False
    """Return photos the spectral estimate calls sharp unchanged. Off: on camera-made blur
    that estimate called 12 of 21 blurry photos sharp (GoPro shake the model improved by
    +0.1 to +0.8 dB); the gate below protects sharp regions instead."""
    gate: GateConfig | None = GateConfig()
    """Apply the model's correction only where the photo is locally blurry
    (``runtime.photo.gate``); None applies it everywhere."""
    cleanup_strength: float = 0.75
    """How much of the model's clean-up of a kernel deconvolution is kept: 0.75 beat 0.5 by
    0.08-0.16 dB on every family and photo set of ``benchmarks/results/policy/cleanup.md``
    (training photos); 1.0 is no better on faces."""
    max_noise_sigma: float = 0.008
    """Grey-level noise sigma (``noise_sigma``) above which the model alone runs
    (``benchmarks/results/policy``: at sRGB noise 0.02, sigma ~0.0115, kernel + clean-up
    lost to the model alone in 11 of 18 cases; at 0.01, sigma ~0.006, it won all 17). Since
    the deconvolution works on colour differences, streaks at sRGB noise 0.02 (sigma ~0.010)
    beat the model there by +2.2 dB (44 of 47), but a 0.011 gate for streaks cost the restore
    chain's motion row 0.57 dB (camera photos, downscaled, JPEG q90: `benchmarks.restore_chain`,
    2026-12-06), so the gate stays one for both families."""
    min_motion_confidence: float = 0.7
    """Straight-streak estimates less sure than this (``BlurEstimate.confidence``) are
    refused: camera shake read as a streak passes the re-blur check and loses up to 7 dB to
    the model alone. In ``benchmarks/results/policy`` (24 training photos; streaks of 5, 9
    and 17 px and shake of 11-27 px, blurred in either space) shake read as a streak came at
    0.50-0.78, and the two cases quiet enough for the noise gate at >= 0.6 sat just under
    0.7 (and beat the model by 0.4-0.5 dB); true streaks came at 0.57-0.95. At 0.75 (the
    earlier setting) the policy row rose 0.11 dB less on streaks, and the restore chain, whose
    streaks a downscale halves (confidence 0.66-0.74), lost 0.2 dB on motion; ``val_realblur``
    came out the same at both, and of 216 shaken training faces (sRGB blur, noise 0.01) one
    fell between 0.7 and 0.75 and lost 0.41 dB. An earlier run of the benchmark had 3 quiet
    shake-as-streak cases at 0.73-0.74 (-0.9 to +0.1 dB)."""
    min_defocus_confidence: float = 0.7
    """Defocus-disc estimates less sure than this are refused, for the same reason. In
    ``benchmarks/results/policy`` (24 training photos, 240 shake cases) shake read as a disc
    came at 0.51-0.73 in the run that set it (7 of 8 below 0.7, where kernel + clean-up lost
    0.2-6.5 dB to the model alone) and at 0.54-0.81 in the rerun (the 4 cases at or above
    0.7 beat the model by 0.04-0.41 dB); true discs (r 2-5) at 0.58-0.98 (4 of 135 below)."""
    max_reblur_ratio: float = 2.0
    """Re-blur residual RMS over the noise sigma above which a kernel is rejected: right
    kernels on the training photos reached 1.97 (at sRGB noise 0.02), so only kernels that
    explain the photo worse than any right one did are refused."""

    def __post_init__(self) -> None:
        bad = self.kernel_families - {KernelMethod.DEFOCUS, KernelMethod.LINEAR_MOTION, KernelMethod.SHAKE}
        if bad:
            raise ConfigError(f"AutoPolicy.kernel_families holds {sorted(m.value for m in bad)}; "
                              "use defocus, linear_motion and/or shake")
        for name in ("min_motion_confidence", "min_defocus_confidence"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"AutoPolicy.{name}={getattr(self, name)} must lie in [0, 1]")
        if not 0 <= self.cleanup_strength <= 1:
            raise ConfigError(f"AutoPolicy.cleanup_strength={self.cleanup_strength} must lie in [0, 1]")

    def kernel_config(self, target: BlurTarget) -> KernelAwareConfig:
        """Kernel-path settings: the blind shake search runs only if its result could be used."""
        if KernelMethod.SHAKE in self.kernel_families:
            return KernelAwareConfig(target=target)
        return KernelAwareConfig(target=target, blind=None)

    def accepts(self, result: KernelAwareResult, image: NDArray[np.float32]) -> bool:
        """Use this deconvolution? Its family must be allowed and it must pass the re-blur check."""
        if result.method not in self.kernel_families or result.kernel is None:
            return False
        least = {KernelMethod.LINEAR_MOTION: self.min_motion_confidence,
                 KernelMethod.DEFOCUS: self.min_defocus_confidence}.get(result.method, 0.0)
        if result.estimate is not None and result.estimate.confidence < least:
            return False
        if noise_sigma(centre_crop(image, REBLUR_CROP_PX)) > self.max_noise_sigma:
            return False
        return reblur_ratio(result.image, result.kernel, image, result.space) <= self.max_reblur_ratio


def reblur_ratio(restored: NDArray[np.float32], kernel: NDArray[np.float32], observed: NDArray[np.float32],
                 space: BlurSpace = BlurSpace.LINEAR) -> float:
    """RMS of (``restored`` blurred again by ``kernel`` in ``space`` - ``observed``) over
    the observed photo's noise sigma (floored at 2/255 so clean photos are not held to 0).

    Both are float (H, W, 3) sRGB; the central crop (``REBLUR_CROP_PX``) minus a border of
    the kernel's size is compared, so padding never enters. 0 when too small to judge.
    """
    r, o = centre_crop(restored, REBLUR_CROP_PX), centre_crop(observed, REBLUR_CROP_PX)
    m = max(kernel.shape) // 2 + 1
    if min(o.shape[:2]) <= 4 * m:
        return 0.0
    flipped = np.ascontiguousarray(kernel[::-1, ::-1], dtype=np.float32)
    reblurred = from_space(cv2.filter2D(to_space(r, space), -1, flipped, borderType=cv2.BORDER_REFLECT_101), space)
    rms = float(np.sqrt(np.mean((reblurred[m:-m, m:-m] - o[m:-m, m:-m]).astype(np.float64) ** 2)))
    return rms / max(noise_sigma(o), 2 / 255)
