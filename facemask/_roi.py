"""Rotated square face ROIs: from detections or landmarks, crop matrices, projection back.

A ROI row is (centre x, centre y, side, rotation): pixels and radians, rotation
counter-clockwise in the image as MediaPipe defines it (``RectTransformationCalculator``,
``LandmarkProjectionCalculator``). The 1.5 enlargement and eye-based rotation follow
MediaPipe's ``face_detection_front_detection_to_roi`` and
``face_landmark_landmarks_to_roi`` graphs.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from facemask.mesh import LEFT_EYE_OUTER, RIGHT_EYE_OUTER

ROI_SCALE = 1.5


def _rotation(start_xy: NDArray[np.float32], end_xy: NDArray[np.float32]) -> NDArray[np.float32]:
    """Angle that turns the start->end vector (subject's right to left eye) horizontal."""
    d = end_xy - start_xy
    angle = -np.arctan2(-d[..., 1], d[..., 0])
    return ((angle + np.pi) % (2 * np.pi) - np.pi).astype(np.float32)


def rois_from_detections(boxes_xyxy: NDArray[np.float32],
                         keypoints_xy: NDArray[np.float32]) -> NDArray[np.float32]:
    """(n, 4) ROIs around detector boxes, rotated by the eye keypoints (0 -> 1)."""
    centre = (boxes_xyxy[:, :2] + boxes_xyxy[:, 2:]) / 2
    side = ROI_SCALE * np.max(boxes_xyxy[:, 2:] - boxes_xyxy[:, :2], axis=1)
    angle = _rotation(keypoints_xy[:, 0], keypoints_xy[:, 1])
    return np.column_stack([centre, side, angle]).astype(np.float32)


def rois_from_landmarks(landmarks_px: NDArray[np.float32]) -> NDArray[np.float32]:
    """(n, 4) ROIs for the next frame: landmark box enlarged, rotated by the eye corners."""
    xy = landmarks_px[:, :, :2]
    lo, hi = xy.min(axis=1), xy.max(axis=1)
    side = ROI_SCALE * np.max(hi - lo, axis=1)
    angle = _rotation(xy[:, RIGHT_EYE_OUTER], xy[:, LEFT_EYE_OUTER])
    return np.column_stack([(lo + hi) / 2, side, angle]).astype(np.float32)


def roi_boxes(rois: NDArray[np.float32]) -> NDArray[np.float32]:
    """(n, 4) axis-aligned xyxy boxes of the ROIs ignoring rotation (for association)."""
    half = rois[:, 2:3] / 2
    return np.concatenate([rois[:, :2] - half, rois[:, :2] + half], axis=1)


def crop_matrix(roi: NDArray[np.float32], out_px: int) -> NDArray[np.float64]:
    """2x3 matrix mapping output pixel indices to source pixel indices (WARP_INVERSE_MAP)."""
    cx, cy, side, angle = (float(v) for v in roi)
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    step = side / out_px
    offset = rot @ np.full(2, step / 2 - side / 2) + np.array([cx, cy]) - 0.5
    return np.column_stack([rot * step, offset])


def project(points: NDArray[np.float32], roi: NDArray[np.float32], in_px: int) -> NDArray[np.float32]:
    """Maps (L, 3) model-space points (pixels of an ``in_px`` input) into the frame.

    x and y become frame pixels; z is scaled by the same factor as x.
    """
    cx, cy, side, angle = (float(v) for v in roi)
    c, s = np.cos(angle), np.sin(angle)
    u = (points[:, 0] / in_px - 0.5) * side
    v = (points[:, 1] / in_px - 0.5) * side
    out = np.empty_like(points, dtype=np.float32)
    out[:, 0] = c * u - s * v + cx
    out[:, 1] = s * u + c * v + cy
    out[:, 2] = points[:, 2] / in_px * side
    return out
