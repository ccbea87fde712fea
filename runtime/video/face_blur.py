"""How blurry is a face? A cheap per-face blur estimate that decides the deblur strength.

The nets smooth sharp skin, eyes and hair (a sharp face comes back a few dB below itself),
so a face that is already sharp must be left alone and only a blurry one gets the model at
full strength. The estimate is the re-blur measure of Crete et al. (SPIE 2007, "The blur
effect"): blur the face a little more and see how much of its gradient energy survives. A
sharp face loses much of it, an already blurry one little. Measured on the inner face (the
landmark box shrunk to cheeks, eyes and mouth: no background, little hair), in the frame's
own pixels: the model works on the face crop at that scale, so blur is judged where it acts
(a larger inner face is cropped about its centre to ``_WORK_PX``, so the cost does not grow).

It is read at two scales, and a face is as blurry as the blurrier reading says. The fine
one compares the face with its sigma-1 re-blur: it tells mild blur from sharp, but pixel
noise passes for detail there, and with 1-2 % sensor noise shaken and defocused training
faces read as sharp as sharp ones (a noisy camera's blurry faces were left alone). The
coarse one compares the sigma-1 and sigma-2 re-blurs, above the scale of pixel noise and
of a codec's losses: it misses mild blur but not a noisy shaken face. On frames decoded from
compressed video the fine reading has its own anchors, measured on H.264 frames: with the
photo anchors, 4 of 13 sharp H.264 clips of training faces got strength 0.1-0.8; with these,
none (at the cost of some blur milder than a 2-px disc: 2 of 6 such clips lost their gain).

``blur`` in [0, 1] maps the measure between what sharp faces at that size have and what
faces blurred enough to need the full model have (small faces carry more fine detail per
pixel, so both anchors fall with face size); they were calibrated on the
training photos (``benchmarks/face_blur_calibration.py``, results in
``benchmarks/results/face_blur/``), never on the evaluation photos.

Example:
    >>> est = estimate_blur(frame_rgb, faces.landmarks_px[0])
    >>> est.blur          # 0 = as sharp as sharp faces get, 1 = needs the full model
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

_WORK_PX = 256
"""Inner faces larger than this are cropped about their centre to it (eyes, nose, mouth), never
resampled: blur is judged in frame pixels, where the model acts, on as many pixels as the
calibrated faces (up to ~370 px) have. Resampled to 256 px (before 2026-12-06), a larger face
read its blur shrunk with it: on 585-px faces a 9-px shake, an r3 defocus and a sigma-2 Gaussian
got strength 0.43 / 0 / 0.51, now 1 / 1 / 1, the sharp face 0 both ways
(``benchmarks/results/face_blur/large_faces.md``). The whole inner face in frame pixels (up to
512 px), tried first, still read another face's 570-px shake and defocus as sharp."""
_INNER = 0.70
"""Fraction of the landmark box (centred) that is measured: skin, eyes, nose, mouth."""
_REBLUR_SIGMA = 1.0
"""Gaussian sigma (work pixels) of the re-blur; the coarse reading compares it with twice it."""

ANCHOR_FACE_PX = (48.0, 80.0, 128.0, 200.0, 320.0)
"""Face sizes (landmark-box side, frame pixels) at which the anchors were calibrated."""
SHARP_ANCHORS = (0.368, 0.316, 0.276, 0.242, 0.219)
"""Re-blur sharpness of sharp faces at those sizes: the 10th percentile of the sharp training
faces after JPEG q85, so nine in ten sharp faces get blur 0."""
BLURRY_ANCHORS = (0.286, 0.242, 0.211, 0.193, 0.193)
"""Sharpness at which the full model is worth it: the median of training faces under a
1-px defocus, the mildest blur calibrated (made non-increasing with size)."""
VIDEO_SHARP_ANCHORS = (0.311, 0.252, 0.201, 0.159, 0.131)
"""The fine reading's sharp anchors on frames decoded from H.264 (CRF 18, and CRF 23 with 1 %
noise): a codec smooths a sharp face's finest detail, which the photo anchors took for blur."""
VIDEO_BLURRY_ANCHORS = (0.269, 0.217, 0.176, 0.149, 0.123)
"""The fine reading's full-model point on those frames: the median under a 1-px defocus (at
320 px, where that is not below the sharp anchor, under a 1.5-px one)."""
COARSE_SHARP_ANCHORS = (0.311, 0.260, 0.221, 0.184, 0.166)
"""The coarse reading's sharp anchors: the 10th percentile of the sharp training faces, pooled
over the calibration's conditions (JPEG, sensor noise, H.264, a raw camera frame)."""
COARSE_BLURRY_ANCHORS = (0.265, 0.221, 0.188, 0.161, 0.150)
"""The coarse reading's full-model point: the median of the faces under a 2.5-px defocus over
the same conditions (milder blur overlaps the softer sharp faces at this scale)."""


@dataclass(frozen=True, slots=True)
class BlurEstimate:
    """One face's blur estimate.

    Attributes:
        sharpness: the fine re-blur loss in [0, 1] (fraction of gradient energy a sigma-1 blur
            removes); higher is sharper.
        blur: in [0, 1]; 0 = as sharp as sharp faces are, 1 = blurry enough for full strength
            (the blurrier of the two readings).
        face_px: the face's landmark-box side in frame pixels (the anchors depend on it).
        coarse_sharpness: the coarse re-blur loss (what a sigma-2 blur removes of the
            sigma-1 re-blur's gradient energy).
    """

    sharpness: float
    blur: float
    face_px: float
    coarse_sharpness: float = 0.0


def _grad_energy(img: NDArray[np.float32]) -> float:
    return float(np.abs(img[:, 1:] - img[:, :-1]).mean() + np.abs(img[1:, :] - img[:-1, :]).mean())


def _reblur(img: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    return cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def _loss(base: NDArray[np.float32], blurred: NDArray[np.float32]) -> float:
    energy = _grad_energy(base)
    return 0.0 if energy < 1e-6 else float(np.clip(1.0 - _grad_energy(blurred) / energy, 0.0, 1.0))


def sharpness_of(gray: NDArray[np.float32]) -> float:
    """Fine re-blur loss of a grayscale patch (float32, any scale): 1 - |grad(G1 * p)| / |grad(p)|.

    Returns 0 for a flat patch (nothing to judge).
    """
    return _loss(gray, _reblur(gray, _REBLUR_SIGMA))


def coarse_sharpness_of(gray: NDArray[np.float32]) -> float:
    """Coarse re-blur loss: 1 - |grad(G2 * p)| / |grad(G1 * p)|; 0 for a flat patch."""
    return _readings(gray)[1]


def _readings(gray: NDArray[np.float32]) -> tuple[float, float]:
    """The fine and the coarse loss, sharing the sigma-1 re-blur (once per face and frame)."""
    reference = _reblur(gray, _REBLUR_SIGMA)
    return _loss(gray, reference), _loss(reference, _reblur(gray, 2 * _REBLUR_SIGMA))


def inner_face(image_rgb: NDArray[np.uint8], landmarks_px: NDArray[np.float32]) -> NDArray[np.float32] | None:
    """The inner face as a grayscale float32 patch in frame pixels, at most ``_WORK_PX`` a side
    (its centre); ``None`` when it is under 8 px or outside the frame."""
    xy = np.asarray(landmarks_px, np.float32)[:, :2]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    centre, half = (lo + hi) / 2, np.minimum((hi - lo) * _INNER / 2, _WORK_PX / 2)
    h, w = image_rgb.shape[:2]
    x0, y0 = (int(max(0, np.floor(v))) for v in centre - half)
    x1 = int(min(w, np.ceil(centre[0] + half[0]), x0 + _WORK_PX))
    y1 = int(min(h, np.ceil(centre[1] + half[1]), y0 + _WORK_PX))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return cv2.cvtColor(np.ascontiguousarray(image_rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY).astype(np.float32)


def blur_from_sharpness(sharpness: float, face_px: float, sharp_anchors: tuple[float, ...] = SHARP_ANCHORS,
                        blurry_anchors: tuple[float, ...] = BLURRY_ANCHORS) -> float:
    """Map a re-blur sharpness to blur in [0, 1] between the anchors for a face of ``face_px``
    (landmark-box side; anchors interpolated in log size, held beyond the calibrated range)."""
    x = np.log(np.clip(face_px, ANCHOR_FACE_PX[0], ANCHOR_FACE_PX[-1]))
    logs = np.log(ANCHOR_FACE_PX)
    sharp, blurry = float(np.interp(x, logs, sharp_anchors)), float(np.interp(x, logs, blurry_anchors))
    return float(np.clip((sharp - sharpness) / max(sharp - blurry, 1e-6), 0.0, 1.0))


def estimate_blur(image_rgb: NDArray[np.uint8], landmarks_px: NDArray[np.float32], *,
                  coded: bool = False) -> BlurEstimate:
    """Blur estimate of one face of a frame.

    Args:
        image_rgb: HxWx3 uint8 RGB frame.
        landmarks_px: (L, 2 or 3) face-mesh landmarks of the face in frame pixels.
        coded: the frame was decoded from compressed video (a file or a stream): the fine
            reading is judged by anchors measured on H.264 frames.

    Returns:
        The estimate; a face too small to judge (inner face under 8 px) counts as blurry
        (blur 1): its crop is upscaled by nature, and the face path decides if it is worth it.
    """
    xy = np.asarray(landmarks_px, np.float32)[:, :2]
    face_px = float(np.max(xy.max(axis=0) - xy.min(axis=0)))
    gray = inner_face(image_rgb, landmarks_px)
    if gray is None:
        return BlurEstimate(0.0, 1.0, face_px)
    fine, coarse = _readings(gray)
    fine_anchors = (VIDEO_SHARP_ANCHORS, VIDEO_BLURRY_ANCHORS) if coded else (SHARP_ANCHORS, BLURRY_ANCHORS)
    blur = max(blur_from_sharpness(fine, face_px, *fine_anchors),
               blur_from_sharpness(coarse, face_px, COARSE_SHARP_ANCHORS, COARSE_BLURRY_ANCHORS))
    return BlurEstimate(fine, blur, face_px, coarse)
