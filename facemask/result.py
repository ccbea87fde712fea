"""``FaceResult``: the faces in one frame as parallel arrays (n may be 0, never ``None``)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Union

import numpy as np
from numpy.typing import NDArray

from facemask.errors import FaceMaskError
from facemask.mesh import NUM_LANDMARKS

Index = Union[slice, int, NDArray[np.bool_], NDArray[np.integer], list[int], list[bool]]
"""What ``result[...]`` accepts: a boolean mask of length n, integer indices or a slice."""


def as_index(index: Index, n: int) -> NDArray[np.intp] | slice:
    """Normalises an index into the form numpy needs to keep the leading axis.

    Raises:
        FaceMaskError: A boolean mask of the wrong length.
    """
    if isinstance(index, slice):
        return index
    arr = np.asarray(index)
    if arr.dtype == np.bool_:
        if arr.shape != (n,):
            raise FaceMaskError(f"boolean mask has shape {arr.shape}; it must have length {n}")
        return np.flatnonzero(arr)
    return np.atleast_1d(arr).astype(np.intp)


def check_image_size(image_size_wh: tuple[int, int]) -> None:
    """Raises FaceMaskError unless ``image_size_wh`` is two positive ints."""
    if (len(image_size_wh) != 2 or any(not isinstance(v, (int, np.integer)) or v <= 0
                                       for v in image_size_wh)):
        raise FaceMaskError(f"image_size_wh={image_size_wh!r} must be (width, height) in pixels, both > 0")


@dataclass(frozen=True, slots=True, eq=False)
class FaceResult:
    """Faces in one frame, as parallel arrays of length n.

    Coordinates are continuous pixel coordinates of the frame: x to the right, y down,
    pixel (row r, column c) covers [c, c+1) x [r, r+1).

    Example::

        faces = detector.process(frame_rgb)
        big = faces[faces.boxes_xyxy[:, 2] - faces.boxes_xyxy[:, 0] > 80]

    Attributes:
        boxes_xyxy: (n, 4) float32, tight box around each face's landmarks: x0, y0, x1, y1.
        scores: (n,) float32 in [0, 1], the face detector's confidence (carried over from
            the last detection on frames where only landmarks ran).
        landmarks_px: (n, L, 3) float32 face-mesh landmarks: x, y in pixels, z (depth,
            smaller is nearer the camera) in pixels at the same scale as x. L is 468, or
            478 with refined iris landmarks.
        track_ids: (n,) int64 track identity from :class:`~facemask.tracking.FaceTracker`;
            -1 for untracked faces.
        weights: (n,) float32 in [0, 1]: 1 for a visible face, falling to 0 while a lost
            face fades out; masks are scaled by it.
        image_size_wh: (width, height) of the frame in pixels.
        timestamp_ms: Frame time in milliseconds, or None for still images.
        detection_ran: Whether the face detector ran on this frame (False when faces were
            tracked from the previous frame's landmarks).
    """

    boxes_xyxy: NDArray[np.float32]
    scores: NDArray[np.float32]
    landmarks_px: NDArray[np.float32]
    track_ids: NDArray[np.int64]
    weights: NDArray[np.float32]
    image_size_wh: tuple[int, int]
    timestamp_ms: float | None = None
    detection_ran: bool = True

    def __post_init__(self) -> None:
        check_image_size(self.image_size_wh)
        n = len(self.scores)
        expect = {"boxes_xyxy": (n, 4), "scores": (n,), "track_ids": (n,), "weights": (n,)}
        for field, shape in expect.items():
            if np.shape(getattr(self, field)) != shape:
                raise FaceMaskError(
                    f"FaceResult.{field} has shape {np.shape(getattr(self, field))}, expected {shape}")
        lm = np.shape(self.landmarks_px)
        if len(lm) != 3 or lm[0] != n or lm[2] != 3:
            raise FaceMaskError(f"FaceResult.landmarks_px has shape {lm}, expected ({n}, L, 3)")

    @classmethod
    def empty(cls, image_size_wh: tuple[int, int], *, num_landmarks: int = NUM_LANDMARKS,
              timestamp_ms: float | None = None, detection_ran: bool = True) -> FaceResult:
        """A result with no faces for a frame of ``image_size_wh``."""
        return cls(
            boxes_xyxy=np.zeros((0, 4), np.float32),
            scores=np.zeros(0, np.float32),
            landmarks_px=np.zeros((0, num_landmarks, 3), np.float32),
            track_ids=np.zeros(0, np.int64),
            weights=np.zeros(0, np.float32),
            image_size_wh=image_size_wh,
            timestamp_ms=timestamp_ms,
            detection_ran=detection_ran,
        )

    @classmethod
    def from_landmarks(cls, landmarks_px: NDArray[np.float32], scores: NDArray[np.float32],
                       image_size_wh: tuple[int, int], *, timestamp_ms: float | None = None,
                       detection_ran: bool = True) -> FaceResult:
        """Builds a result from landmarks, deriving the boxes; faces are untracked, weight 1."""
        lm = np.asarray(landmarks_px, np.float32)
        n = lm.shape[0]
        if n == 0:
            return cls.empty(image_size_wh, num_landmarks=lm.shape[1] if lm.ndim == 3 else NUM_LANDMARKS,
                             timestamp_ms=timestamp_ms, detection_ran=detection_ran)
        xy = lm[:, :, :2]
        boxes = np.concatenate([xy.min(axis=1), xy.max(axis=1)], axis=1).astype(np.float32)
        return cls(boxes, np.asarray(scores, np.float32), lm, np.full(n, -1, np.int64),
                   np.ones(n, np.float32), image_size_wh, timestamp_ms, detection_ran)

    def __len__(self) -> int:
        return len(self.scores)

    def __getitem__(self, index: Index) -> FaceResult:
        """A new result holding the selected faces (boolean mask, indices or slice)."""
        i = as_index(index, len(self))
        return replace(self, boxes_xyxy=self.boxes_xyxy[i], scores=self.scores[i],
                       landmarks_px=self.landmarks_px[i], track_ids=self.track_ids[i],
                       weights=self.weights[i])

    def scaled_to(self, image_size_wh: tuple[int, int]) -> FaceResult:
        """The same faces in a resized copy of the frame (detect small, deblur full size).

        Raises:
            FaceMaskError: ``image_size_wh`` is not two positive ints.
        """
        check_image_size(image_size_wh)
        sx = image_size_wh[0] / self.image_size_wh[0]
        sy = image_size_wh[1] / self.image_size_wh[1]
        scale = np.array([sx, sy, sx], np.float32)
        return replace(self, boxes_xyxy=(self.boxes_xyxy * np.array([sx, sy, sx, sy], np.float32)),
                       landmarks_px=self.landmarks_px * scale,
                       image_size_wh=(int(image_size_wh[0]), int(image_size_wh[1])))

    @property
    def num_landmarks(self) -> int:
        """Landmarks per face (468, or 478 when refined)."""
        return int(self.landmarks_px.shape[1])

    @property
    def landmarks_norm(self) -> NDArray[np.float32]:
        """(n, L, 3) float32 landmarks with x / width, y / height and z / width."""
        w, h = self.image_size_wh
        return (self.landmarks_px / np.array([w, h, w], np.float32)).astype(np.float32)
