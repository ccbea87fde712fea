"""What the detector needs from a backend: one frame in, raw faces out."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from facemask.options import RunningMode


@dataclass(frozen=True, slots=True)
class BackendOutput:
    """Raw faces of one frame.

    Attributes:
        landmarks_px: (n, L, 3) float32 landmarks, x/y/z in frame pixels.
        scores: (n,) float32 detector scores in [0, 1].
        detection_ran: Whether the detector ran on this frame.
    """

    landmarks_px: NDArray[np.float32]
    scores: NDArray[np.float32]
    detection_ran: bool


class FaceBackend(Protocol):
    """A face detector + landmark model with optional state between VIDEO frames."""

    def process(self, image_rgb: NDArray[np.uint8], running_mode: RunningMode) -> BackendOutput:
        """Faces in one HxWx3 uint8 RGB frame."""

    def reset(self) -> None:
        """Forgets what was tracked: the next frame starts a new video."""

    def close(self) -> None:
        """Releases models and graphs."""
