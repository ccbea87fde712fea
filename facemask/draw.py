"""An overlay that shows users what will be deblurred: masks, crops, boxes, landmarks."""
from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from facemask.image import to_rgb
from facemask.masks import RegionMasks
from facemask.regions import FaceRegions
from facemask.result import FaceResult

MASK_RGB = (40, 220, 90)
REGION_RGB = (255, 200, 0)
BOX_RGB = (0, 200, 255)
LANDMARK_RGB = (255, 40, 40)


def draw_faces(image_rgb: NDArray[np.uint8], faces: FaceResult, regions: FaceRegions | None = None,
               masks: RegionMasks | None = None) -> NDArray[np.uint8]:
    """A copy of the frame with the face-priority plan drawn on it.

    Masks tint the pixels that get the deblurred face (green, by blend weight), region
    crops are yellow squares labelled with their size, face boxes are blue with their
    score and landmarks are red dots. The input is not modified.

    Args:
        image_rgb: HxWx3 uint8 RGB frame the faces were found in.
        faces: Faces of the frame.
        regions: Their regions, or None to skip.
        masks: Masks of ``regions``, or None to skip.

    Returns:
        HxWx3 uint8 RGB image.

    Raises:
        FaceMaskError: ``image_rgb`` is not an HxWx3 uint8 array.
    """
    out = to_rgb(image_rgb).copy()
    thick = max(1, round(max(out.shape[:2]) / 500))
    if regions is not None and masks is not None:
        tint = np.zeros(out.shape[:2], np.float32)
        for (x0, y0, x1, y1), m in zip(regions.boxes_xyxy.tolist(), masks.blend):
            np.maximum(tint[y0:y1, x0:x1], m, out=tint[y0:y1, x0:x1])
        alpha = 0.45 * tint[:, :, None]
        out = (out * (1 - alpha) + np.array(MASK_RGB, np.float32) * alpha).round().astype(np.uint8)
    if regions is not None:
        for (x0, y0, x1, y1), side in zip(regions.boxes_xyxy.tolist(), regions.sides_px.tolist()):
            cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), REGION_RGB, thick)
            _label(out, f"{side}px", (x0 + 2 * thick, y1 - 3 * thick), REGION_RGB, thick)
    radius = max(1, thick)
    for box, score, lm in zip(faces.boxes_xyxy, faces.scores, faces.landmarks_px):
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x0, y0), (x1, y1), BOX_RGB, thick)
        _label(out, f"{score:.2f}", (x0, max(10, y0 - 3 * thick)), BOX_RGB, thick)
        for x, y in np.round(lm[:, :2]).astype(int).tolist():
            cv2.circle(out, (x, y), radius, LANDMARK_RGB, -1)
    return out


def _label(img: NDArray[np.uint8], text: str, org: tuple[int, int], rgb: tuple[int, int, int], thick: int) -> None:
    scale = 0.4 * thick
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, rgb, thick, cv2.LINE_AA)
