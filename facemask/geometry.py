"""Face-aligned geometry from landmarks, shared by regions and masks.

Sizes are measured along the face's own axes so a tilted face is not counted bigger
than an upright one, and "up" (where the hair is) follows the face, not the image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from facemask.mesh import CHIN, FOREHEAD_TOP


@dataclass(frozen=True, slots=True)
class FaceAxes:
    """Per-face axes, all in frame pixels.

    Attributes:
        up: (n, 2) float32 unit vectors from chin to forehead.
        right: (n, 2) float32 unit vectors perpendicular to ``up`` (image-right when upright).
        lo: (n, 2) float32 smallest landmark coordinates along (right, up)
            relative to ``origin``.
        hi: (n, 2) float32 largest ones.
        origin: (n, 2) float32 point the extents are measured from (mean landmark).
    """

    up: NDArray[np.float32]
    right: NDArray[np.float32]
    lo: NDArray[np.float32]
    hi: NDArray[np.float32]
    origin: NDArray[np.float32]

    @property
    def size(self) -> NDArray[np.float32]:
        """(n,) float32 face size in pixels: the larger extent along the face's axes."""
        return np.max(self.hi - self.lo, axis=1).astype(np.float32)

    def to_image(self, face_xy: NDArray[np.float32]) -> NDArray[np.float32]:
        """Maps (n, k, 2) points from face axes (right, up) back to frame pixels."""
        return (self.origin[:, None, :] + face_xy[..., :1] * self.right[:, None, :]
                + face_xy[..., 1:2] * self.up[:, None, :]).astype(np.float32)


def face_axes(landmarks_px: NDArray[np.float32]) -> FaceAxes:
    """Axes and extents of each face from its (n, L, >=2) landmarks in pixels."""
    xy = np.asarray(landmarks_px, np.float32)[:, :, :2]
    up = xy[:, FOREHEAD_TOP] - xy[:, CHIN]
    norm = np.linalg.norm(up, axis=1, keepdims=True)
    up = np.where(norm > 1e-6, up / np.maximum(norm, 1e-6), np.array([0.0, -1.0], np.float32))
    right = np.stack([-up[:, 1], up[:, 0]], axis=1)
    origin = xy.mean(axis=1)
    rel = xy - origin[:, None, :]
    coords = np.stack([np.einsum("nkd,nd->nk", rel, right), np.einsum("nkd,nd->nk", rel, up)], axis=2)
    return FaceAxes(up.astype(np.float32), right.astype(np.float32),
                    coords.min(axis=1).astype(np.float32), coords.max(axis=1).astype(np.float32),
                    origin.astype(np.float32))
