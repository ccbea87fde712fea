"""Skip the model on a face crop that barely changed since the last frame.

A face held still in front of a camera gives nearly the same crop frame after frame; its
model output is reused while the crop sits at the same place, the face (its tracked
landmarks' centre) moved less than ``max_shift_px`` since the output was computed, and the
pixels changed less than ``max_mean_diff`` 8-bit levels on average (sensor and compression
noise stay below ~1; a still face's tracked landmarks jitter by ~0.5 px). The shift test
matters on soft faces: a blurry face drifting by a few pixels changes its pixels little,
but a stale output would no longer sit on it.
Reuse also keeps the output steady on a still face: no flicker from the net re-reading noise.

Example:
    >>> cache = CropCache()
    >>> out = cache.get(key, crop_u8, centre_xy)
    >>> if out is None: out = run(crop); cache.put(key, crop_u8, centre_xy, out)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

CropKey = tuple[tuple[int, ...], tuple[int, int, int, int]]
"""(track ids of the region's faces, crop box x0, y0, x1, y1)."""


@dataclass(slots=True)
class CropCache:
    """The last crop and model output per face region; entries unused for a frame are dropped.

    Attributes:
        max_mean_diff: largest mean absolute change (8-bit levels) that still reuses the output.
        max_shift_px: largest face movement (pixels) that still reuses the output.
        max_age_frames: reuse at most this many frames in a row.
    """

    max_mean_diff: float = 0.8
    max_shift_px: float = 1.0
    max_age_frames: int = 10
    _entries: dict[CropKey, tuple[NDArray[np.uint8], NDArray[np.float32], int, NDArray[np.float32]]] = \
        field(default_factory=dict)
    _used: set[CropKey] = field(default_factory=set)

    def get(self, key: CropKey, crop: NDArray[np.uint8], centre_xy: NDArray[np.float32]
            ) -> NDArray[np.float32] | None:
        """The cached output when ``crop`` (whose face centre is ``centre_xy``, frame pixels)
        is close enough to the cached one, else ``None``."""
        self._used.add(key)
        entry = self._entries.get(key)
        if entry is None or entry[0].shape != crop.shape or entry[2] >= self.max_age_frames:
            return None
        if float(np.hypot(*(np.asarray(centre_xy) - entry[3]))) > self.max_shift_px:
            return None
        if float(np.abs(entry[0].astype(np.int16) - crop).mean()) > self.max_mean_diff:
            return None
        self._entries[key] = (entry[0], entry[1], entry[2] + 1, entry[3])
        return entry[1]

    def put(self, key: CropKey, crop: NDArray[np.uint8], centre_xy: NDArray[np.float32],
            output: NDArray[np.float32]) -> None:
        """Remember ``output`` as the model's result on ``crop``."""
        self._used.add(key)
        self._entries[key] = (crop.copy(), output, 0, np.asarray(centre_xy, np.float32))

    def end_frame(self) -> None:
        """Drop entries of regions that did not appear this frame."""
        self._entries = {k: v for k, v in self._entries.items() if k in self._used}
        self._used = set()
