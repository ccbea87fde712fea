"""Blur-aware deblur strength per face, steady along each face track.

``--faces-strength auto``: each face gets the strength its blur estimate asks for
(``runtime.video.face_blur``): 0 for a face as sharp as sharp faces are (the net would only
smooth it), 1 for one blurry enough to need the full model. Along a video track two cheap
temporal rules keep this steady:

* the sharpest recent crop decides: a track's blur is the lowest estimate of its last
  ``window_frames`` frames. A face that was sharp a moment ago is a sharp face (a single
  soft frame is compression, a blink or a turn), so sharp faces stay untouched; a face
  that stays blurry for the whole window gets the model.
* the strength then follows that blur with a first-order lag (``rate`` of the gap per
  frame), so it never jumps between frames: no flicker when a face sharpens or blurs.

Strengths below ``floor`` are 0: such faces get no crop and cost no model time.

Example:
    >>> strengths = FaceStrengths(StrengthConfig())
    >>> s = strengths.update(frame_rgb, faces)      # (n,) float32 in [0, 1], one per face
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from facemask.result import FaceResult
from runtime.errors import ConfigError
from runtime.video.face_blur import estimate_blur


@dataclass(frozen=True, slots=True)
class StrengthConfig:
    """How blur estimates become strengths.

    Attributes:
        window_frames: frames of a track's history whose sharpest crop decides its blur
            (1 = every frame on its own).
        rate: fraction of the gap between the current strength and the track's blur closed
            per frame, in (0, 1] (1 = no lag).
        floor: strengths under this are 0 (the face is left as it is).
        ceiling: the most strength any face gets.
        coded_video: frames come decoded from compressed video (files, streams): blur is
            judged with the anchors for codec-smoothed faces (``face_blur.estimate_blur``).
    """

    window_frames: int = 15
    rate: float = 0.25
    floor: float = 0.08
    ceiling: float = 1.0
    coded_video: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.window_frames, int) or self.window_frames < 1:
            raise ConfigError(f"StrengthConfig.window_frames={self.window_frames!r} must be an int >= 1")
        if not 0.0 < self.rate <= 1.0:
            raise ConfigError(f"StrengthConfig.rate={self.rate!r} must be in (0, 1]")
        if not 0.0 <= self.floor < self.ceiling <= 1.0:
            raise ConfigError(f"StrengthConfig floor {self.floor!r} and ceiling {self.ceiling!r} "
                              "must satisfy 0 <= floor < ceiling <= 1")


@dataclass(slots=True)
class _TrackState:
    history: deque[float]
    strength: float
    seen_frame: int = 0


@dataclass(frozen=True, slots=True)
class FaceStrengthResult:
    """Per face of one frame, in the order of the FaceResult given.

    Attributes:
        blur: (n,) float32 in [0, 1], this frame's blur estimate.
        track_blur: (n,) float32: the blur that decides (sharpest of the recent window).
        strength: (n,) float32 in [0, 1], the strength to deblur with.
    """

    blur: NDArray[np.float32]
    track_blur: NDArray[np.float32]
    strength: NDArray[np.float32]

    @classmethod
    def empty(cls) -> FaceStrengthResult:
        z = np.zeros(0, np.float32)
        return cls(z, z, z)


@dataclass(slots=True)
class FaceStrengths:
    """Strength per face track; one per video (``reset`` on a new one).

    Faces without a track (still photos, ``track_ids`` -1) are judged on their own.
    """

    config: StrengthConfig = field(default_factory=StrengthConfig)
    _tracks: dict[int, _TrackState] = field(default_factory=dict)
    _frame: int = 0

    def reset(self) -> None:
        """Forget all tracks."""
        self._tracks.clear()

    def update(self, image_rgb: NDArray[np.uint8], faces: FaceResult) -> FaceStrengthResult:
        """Estimate each face's blur on ``image_rgb`` and advance its track's strength.

        Args:
            image_rgb: HxWx3 uint8 RGB frame the faces were found in (before any deblurring).
            faces: the frame's faces (tracked for video).

        Returns:
            Blur, deciding blur and strength for every face.
        """
        cfg = self.config
        self._frame += 1
        if not len(faces):
            self._tracks.clear()
            return FaceStrengthResult.empty()
        blur = np.array([estimate_blur(image_rgb, lm, coded=cfg.coded_video).blur for lm in faces.landmarks_px],
                        np.float32)
        decided = blur.copy()
        strength = np.zeros(len(faces), np.float32)
        for i, tid in enumerate(faces.track_ids.tolist()):
            state = self._tracks.get(tid) if tid >= 0 else None
            if state is None:
                state = _TrackState(deque(maxlen=cfg.window_frames), float(blur[i]))
                if tid >= 0:
                    self._tracks[tid] = state
            state.history.append(float(blur[i]))
            state.seen_frame = self._frame
            decided[i] = min(state.history)
            if len(state.history) > 1:
                state.strength += cfg.rate * (float(decided[i]) - state.strength)
            s = min(state.strength, cfg.ceiling)
            strength[i] = s if s >= cfg.floor else 0.0
        self._tracks = {t: s for t, s in self._tracks.items() if s.seen_frame == self._frame}
        return FaceStrengthResult(blur, decided, strength)
