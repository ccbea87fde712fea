"""Soft blend masks and eye/mouth emphasis maps at crop resolution.

A face's mask is 1 on the convex hull of its face-oval landmarks grown by ``dilate``
and falls smoothly to 0 over ``feather``, both in proportion to the face size, so the
seam between deblurred face and the rest of the frame has no visible edge at any face
size. Masks also fall to 0 at crop borders that lie inside the frame, so a crop that
cuts a face never leaves a hard line.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from facemask.errors import FaceMaskError
from facemask.geometry import face_axes
from facemask.mesh import FACE_OVAL, LEFT_EYE, LEFT_EYEBROW, LIPS, RIGHT_EYE, RIGHT_EYEBROW
from facemask.regions import FaceRegions
from facemask.result import FaceResult

_WORK_PX = 256
"""Masks are smooth: they are computed at most this size and resized up."""
_EMPHASIS_PARTS = (LEFT_EYE + LEFT_EYEBROW, RIGHT_EYE + RIGHT_EYEBROW, LIPS)


@dataclass(frozen=True, slots=True)
class MaskConfig:
    """Shape of the soft masks, in fractions of the face size.

    Example::

        masks = region_masks(regions, faces, MaskConfig(feather=0.15, emphasis=True))

    Attributes:
        dilate: How far the full-strength area extends past the face oval.
        feather: Width of the fall-off from 1 to 0 beyond that.
        emphasis: Also build emphasis maps weighting eyes (with brows) and mouth.
        emphasis_feather: Fall-off width around eyes and mouth in the emphasis map.
    """

    dilate: float = 0.05
    feather: float = 0.12
    emphasis: bool = False
    emphasis_feather: float = 0.08

    def __post_init__(self) -> None:
        for name in ("dilate", "feather", "emphasis_feather"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise FaceMaskError(f"MaskConfig.{name}={v!r} must be in [0, 1] (a fraction of the face size)")
        if self.feather <= 0 or self.emphasis_feather <= 0:
            raise FaceMaskError("MaskConfig.feather and emphasis_feather must be > 0; a hard edge shows as a seam")


@dataclass(frozen=True, slots=True)
class RegionMasks:
    """Masks for each region of a :class:`FaceRegions`, in region order.

    Attributes:
        blend: One (side, side) float32 array in [0, 1] per region: how much of the
            deblurred crop to use at each pixel (already scaled by the faces' weights).
        emphasis: Same shapes, 1 on eyes and mouth falling to 0; None unless requested.
    """

    blend: tuple[NDArray[np.float32], ...]
    emphasis: tuple[NDArray[np.float32], ...] | None


def _ramp(polygons: list[NDArray[np.float32]], side_px: int, full_px: float, fall_px: float) -> NDArray[np.float32]:
    """1 within ``full_px`` of the polygons' hulls, smoothstep to 0 over ``fall_px``.

    Polygons are in crop pixels of a ``side_px`` square; work happens at ``_WORK_PX``.
    """
    scale = min(1.0, _WORK_PX / side_px)
    work = max(1, round(side_px * scale))
    inside = np.zeros((work, work), np.uint8)
    for poly in polygons:
        # Continuous coordinates (pixel c spans [c, c+1)) to OpenCV's pixel centres, 4 fraction bits.
        hull = cv2.convexHull(((poly * scale - 0.5) * 16).round().astype(np.int32))
        cv2.fillConvexPoly(inside, hull, (1,), lineType=cv2.LINE_8, shift=4)
    if not inside.any():
        return np.zeros((side_px, side_px), np.float32)
    dist = cv2.distanceTransform((inside == 0).astype(np.uint8), cv2.DIST_L2, 5) / scale
    t = np.clip((full_px + fall_px - dist) / fall_px, 0.0, 1.0)
    mask = (t * t * (3.0 - 2.0 * t)).astype(np.float32)
    if work != side_px:
        mask = cv2.resize(mask, (side_px, side_px), interpolation=cv2.INTER_LINEAR)
    return np.clip(mask, 0.0, 1.0)


def _checked(landmarks_px: NDArray[np.float32],
             crop_xyxy: NDArray[np.integer] | tuple[int, int, int, int]) -> tuple[NDArray[np.float32], int, float]:
    """Landmarks relative to the crop, the crop side and the face size, after checks."""
    lm = np.asarray(landmarks_px, np.float32)
    if lm.ndim != 2 or lm.shape[0] <= max(FACE_OVAL) or lm.shape[1] < 2:
        raise FaceMaskError(f"landmarks_px has shape {lm.shape}; expected (468 or 478, 2 or 3) face-mesh points")
    x0, y0, x1, y1 = (int(v) for v in crop_xyxy)
    side = x1 - x0
    if side <= 0 or y1 - y0 != side:
        raise FaceMaskError(f"crop_xyxy={tuple(crop_xyxy)} must be a non-empty square (x1 - x0 == y1 - y0 > 0)")
    size = float(face_axes(lm[None]).size[0])
    return lm[:, :2] - np.array([x0, y0], np.float32), side, size


def soft_mask(landmarks_px: NDArray[np.float32], crop_xyxy: NDArray[np.integer] | tuple[int, int, int, int],
              config: MaskConfig | None = None) -> NDArray[np.float32]:
    """One face's blend mask inside one square crop.

    Args:
        landmarks_px: (L, 2 or 3) landmarks of the face in frame pixels (L = 468 or 478).
        crop_xyxy: Square crop x0, y0, x1, y1 in frame pixels.
        config: Mask shape; defaults to ``MaskConfig()``.

    Returns:
        (side, side) float32 in [0, 1], 1 over the face.

    Raises:
        FaceMaskError: The crop is not a non-empty square or the landmarks are malformed.
    """
    config = config or MaskConfig()
    lm, side, size = _checked(landmarks_px, crop_xyxy)
    return _ramp([lm[list(FACE_OVAL)]], side, config.dilate * size, config.feather * size)


def emphasis_map(landmarks_px: NDArray[np.float32], crop_xyxy: NDArray[np.integer] | tuple[int, int, int, int],
                 config: MaskConfig | None = None) -> NDArray[np.float32]:
    """Where viewers look first: 1 on the eyes (with brows) and mouth, falling to 0 around.

    Args and Raises as :func:`soft_mask`.

    Returns:
        (side, side) float32 in [0, 1].
    """
    config = config or MaskConfig()
    lm, side, size = _checked(landmarks_px, crop_xyxy)
    return _ramp([lm[list(idx)] for idx in _EMPHASIS_PARTS], side, 0.0, config.emphasis_feather * size)


def border_taper(crop_xyxy: NDArray[np.integer], frame_size_wh: tuple[int, int], width_px: float) -> NDArray[np.float32]:
    """(side, side) float32: 1 inside, smoothstep to exactly 0 on crop edges inside the frame.

    Edges on the frame border stay at 1: nothing lies beyond them to blend with.
    """
    x0, y0, x1, y1 = (int(v) for v in crop_xyxy)
    side = x1 - x0
    pos = np.arange(side, dtype=np.float32)
    w = max(1.0, float(width_px))

    def profile(start_inside: bool, end_inside: bool) -> NDArray[np.float32]:
        t = np.ones(side, np.float32)
        if start_inside:
            t = np.minimum(t, pos / w)
        if end_inside:
            t = np.minimum(t, (side - 1 - pos) / w)
        t = np.clip(t, 0.0, 1.0)
        return t * t * (3.0 - 2.0 * t)

    fw, fh = frame_size_wh
    return np.outer(profile(y0 > 0, y1 < fh), profile(x0 > 0, x1 < fw)).astype(np.float32)


def region_masks(regions: FaceRegions, faces: FaceResult, config: MaskConfig | None = None) -> RegionMasks:
    """Blend masks (and optionally emphasis maps) for every region, at crop resolution.

    A region's mask is the per-pixel maximum of its faces' masks, each scaled by the
    face's fade weight, times a taper at crop edges inside the frame.

    Args:
        regions: Regions built from ``faces`` by :func:`~facemask.regions.build_regions`.
        faces: The faces the regions were built from.
        config: Mask shape; defaults to ``MaskConfig()``.

    Returns:
        RegionMasks with one (side, side) float32 array in [0, 1] per region.

    Raises:
        FaceMaskError: ``regions`` were built from a different FaceResult.
    """
    config = config or MaskConfig()
    if regions.members.shape[1] != len(faces) or tuple(regions.frame_size_wh) != tuple(faces.image_size_wh):
        raise FaceMaskError(
            f"regions were built for {regions.members.shape[1]} faces in a {regions.frame_size_wh} frame, "
            f"but faces has {len(faces)} in {faces.image_size_wh}; pass the FaceResult given to build_regions")
    sizes = face_axes(faces.landmarks_px).size if len(faces) else np.zeros(0, np.float32)
    blend, emphasis = [], []
    for crop, members in zip(regions.boxes_xyxy, regions.members):
        side = int(crop[2] - crop[0])
        idx = np.flatnonzero(members)
        taper = border_taper(crop, regions.frame_size_wh,
                             min(side / 4, config.feather * float(sizes[idx].max(initial=0.0))))
        mask = np.zeros((side, side), np.float32)
        emph = np.zeros((side, side), np.float32)
        for f in idx:
            weight = float(faces.weights[f])
            np.maximum(mask, weight * soft_mask(faces.landmarks_px[f], crop, config), out=mask)
            if config.emphasis:
                np.maximum(emph, weight * emphasis_map(faces.landmarks_px[f], crop, config), out=emph)
        blend.append(mask * taper)
        emphasis.append(emph * taper)
    return RegionMasks(tuple(blend), tuple(emphasis) if config.emphasis else None)
