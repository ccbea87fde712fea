"""Temporal stability for video: track identities, One-Euro smoothing, fade in and out.

Landmarks jitter by a pixel or two from frame to frame even on a still face; crops cut
from them would shake and the blend would shimmer. :class:`FaceTracker` gives each face
an identity, smooths its landmarks with a One-Euro filter (Casiez, Roussel and Vogel,
CHI 2012: a low-pass whose cut-off rises with speed, so still faces are steady and
moving faces do not lag), and lets a face that disappears fade out over a few frames
instead of popping (and a new one fade in).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from facemask._blazeface import iou_matrix
from facemask.errors import FaceMaskError
from facemask.geometry import face_axes
from facemask.result import FaceResult


def _alpha(cutoff_hz: float, dt_s: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """One-Euro filter over an array of any shape, with one cut-off for the whole array.

    A shared cut-off moves all landmarks of a face together, so smoothing never bends
    the face shape. Speed is the RMS length of the vectors along the last axis (for
    (L, 3) landmarks: the RMS point speed), in ``scale`` units per second.

    Example::

        f = OneEuroFilter(min_cutoff_hz=1.0, beta=1.0)
        smooth = [f(x, t_ms) for t_ms, x in samples]
    """

    def __init__(self, min_cutoff_hz: float = 1.0, beta: float = 1.0, d_cutoff_hz: float = 1.0) -> None:
        """Args: cut-off at rest (Hz), its growth per unit of speed, derivative cut-off (Hz)."""
        self.min_cutoff_hz, self.beta, self.d_cutoff_hz = min_cutoff_hz, beta, d_cutoff_hz
        self._x: NDArray[np.float64] | None = None
        self._dx: NDArray[np.float64] | None = None
        self._t_ms = 0.0

    def __call__(self, value: NDArray[np.floating], timestamp_ms: float, scale: float = 1.0) -> NDArray[np.float32]:
        """Filters one sample.

        Args:
            value: The new measurement; same shape on every call.
            timestamp_ms: Its time, later than the previous sample's.
            scale: Speed divisor (pixels per unit), > 0.

        Returns:
            The smoothed value, float32, same shape.

        Raises:
            FaceMaskError: A timestamp that does not increase.
        """
        x = np.asarray(value, np.float64)
        if self._x is None or self._dx is None:
            self._x, self._dx, self._t_ms = x, np.zeros_like(x), timestamp_ms
            return x.astype(np.float32)
        dt = (timestamp_ms - self._t_ms) / 1000.0
        if dt <= 0:
            raise FaceMaskError(
                f"timestamp_ms={timestamp_ms} is not after the previous sample's {self._t_ms}; "
                "feed frames in time order")
        a_d = _alpha(self.d_cutoff_hz, dt)
        self._dx = a_d * (x - self._x) / dt + (1.0 - a_d) * self._dx
        speed = float(np.sqrt(np.mean(np.sum(self._dx ** 2, axis=-1)))) / max(scale, 1e-6)
        a = _alpha(self.min_cutoff_hz + self.beta * speed, dt)
        self._x = a * x + (1.0 - a) * self._x
        self._t_ms = timestamp_ms
        return self._x.astype(np.float32)


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Smoothing and fading of :class:`FaceTracker`.

    Attributes:
        min_cutoff_hz: Cut-off of the landmark filter for a still face (lower = steadier).
        beta: Cut-off increase (Hz) per face-size per second of motion (higher = less
            lag). The defaults cut still-face jitter ~4x and keep within ~6 px of a face
            crossing a 640-px frame in a second (benchmarks/results/faces).
        d_cutoff_hz: Cut-off of the speed estimate.
        fade_in_frames: Frames a face appearing mid-stream takes to reach full weight (1 = at
            once); faces already there on the first frame start at full weight.
        fade_out_frames: Frames a lost face keeps fading before it is dropped.
        match_iou: Box overlap a face needs with a track to continue it.
    """

    min_cutoff_hz: float = 1.0
    beta: float = 20.0
    d_cutoff_hz: float = 4.0
    fade_in_frames: int = 3
    fade_out_frames: int = 6
    match_iou: float = 0.2

    def __post_init__(self) -> None:
        for name in ("min_cutoff_hz", "d_cutoff_hz"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or v <= 0:
                raise FaceMaskError(f"TrackerConfig.{name}={v!r} must be > 0 Hz")
        if not isinstance(self.beta, (int, float)) or self.beta < 0:
            raise FaceMaskError(f"TrackerConfig.beta={self.beta!r} must be >= 0")
        for name in ("fade_in_frames", "fade_out_frames"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < (1 if name == "fade_in_frames" else 0):
                raise FaceMaskError(f"TrackerConfig.{name}={v!r} must be an int >= {1 if name == 'fade_in_frames' else 0}")
        if not isinstance(self.match_iou, (int, float)) or not 0 < self.match_iou < 1:
            raise FaceMaskError(f"TrackerConfig.match_iou={self.match_iou!r} must be in (0, 1)")


@dataclass(slots=True, eq=False)
class _Track:
    track_id: int
    filter: OneEuroFilter
    landmarks: NDArray[np.float32]
    box: NDArray[np.float32]
    score: float
    lost: int = 0
    weight: float = 0.0
    weight_at_loss: float = 0.0


class FaceTracker:
    """Gives faces identities across frames, smooths them and fades them in and out.

    Feed it every :class:`FaceResult` of one video in order (timestamps required). It
    returns a FaceResult with smoothed landmarks and boxes, ``track_ids`` and fade
    ``weights``; faces that just vanished stay in the result, held still, with a
    weight falling to 0. Pass that to ``build_regions`` and ``region_masks``.

    Example::

        tracker = FaceTracker()
        for t_ms, frame in frames:
            faces = tracker.update(detector.process(frame, t_ms))
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self._config = config or TrackerConfig()
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._last_ms: float | None = None
        self._size_wh: tuple[int, int] | None = None

    def reset(self) -> None:
        """Forgets all tracks (call on a scene cut or a new video)."""
        self._tracks, self._last_ms, self._size_wh = [], None, None

    def update(self, faces: FaceResult) -> FaceResult:
        """Tracks and smooths the faces of the next frame.

        Args:
            faces: The detector's result for the frame; ``timestamp_ms`` must be set
                (VIDEO mode sets it) and later than the previous frame's.

        Returns:
            Current faces (in input order) then fading ones, with ``track_ids`` and
            ``weights`` set.

        Raises:
            FaceMaskError: Missing or non-increasing timestamp, or a frame size or
                landmark count that changes between frames.
        """
        t = faces.timestamp_ms
        if t is None:
            raise FaceMaskError("FaceTracker needs timestamps: use RunningMode.VIDEO or pass timestamp_ms to process()")
        if self._last_ms is not None and t <= self._last_ms:
            raise FaceMaskError(f"timestamp_ms={t} is not after the previous frame's {self._last_ms}; feed frames in order")
        if self._size_wh is not None and tuple(faces.image_size_wh) != self._size_wh:
            raise FaceMaskError(
                f"frame size changed from {self._size_wh} to {faces.image_size_wh}; call reset() for a new video "
                "or rescale the faces with FaceResult.scaled_to")
        if self._tracks and len(faces) and faces.num_landmarks != self._tracks[0].landmarks.shape[0]:
            raise FaceMaskError(
                f"faces have {faces.num_landmarks} landmarks but the tracks {self._tracks[0].landmarks.shape[0]}; "
                "use one detector configuration per video or call reset()")
        first_frame = self._last_ms is None
        self._last_ms = t
        self._size_wh = (int(faces.image_size_wh[0]), int(faces.image_size_wh[1]))
        matched = self._match(faces)
        current = [self._advance(matched.get(i), faces, i, t, first_frame) for i in range(len(faces))]
        fading = []
        for track in self._tracks:
            if any(track is c for c in current):
                continue
            if track.lost == 0:
                track.weight_at_loss = track.weight
            track.lost += 1
            if track.lost <= self._config.fade_out_frames:
                track.weight = track.weight_at_loss * (1.0 - track.lost / (self._config.fade_out_frames + 1))
                fading.append(track)
        self._tracks = current + fading
        return self._result(faces, current + fading)

    def _match(self, faces: FaceResult) -> dict[int, _Track]:
        """Face index -> track it continues: greedy on box IoU, best pair first.

        Greedy equals the optimal assignment unless faces overlap each other heavily,
        which the IoU threshold already rules out for distinct faces.
        """
        if not self._tracks or not len(faces):
            return {}
        iou = iou_matrix(faces.boxes_xyxy, np.stack([tr.box for tr in self._tracks]))
        matched: dict[int, _Track] = {}
        used: set[int] = set()
        for flat in np.argsort(-iou, axis=None, kind="stable"):
            f, t = divmod(int(flat), iou.shape[1])
            if iou[f, t] < self._config.match_iou:
                break
            if f not in matched and t not in used:
                matched[f] = self._tracks[t]
                used.add(t)
        return matched

    def _advance(self, track: _Track | None, faces: FaceResult, i: int, t: float, first_frame: bool) -> _Track:
        cfg = self._config
        raw = faces.landmarks_px[i]
        size = float(face_axes(raw[None]).size[0])
        if track is None:
            track = _Track(self._next_id, OneEuroFilter(cfg.min_cutoff_hz, cfg.beta, cfg.d_cutoff_hz),
                           raw, faces.boxes_xyxy[i], float(faces.scores[i]))
            self._next_id += 1
        track.landmarks = track.filter(raw, t, scale=size)
        track.box = faces.boxes_xyxy[i]
        track.score = float(faces.scores[i])
        track.lost = 0
        # faces on a stream's first frame start at full weight: there is nothing to pop against
        track.weight = 1.0 if first_frame else min(1.0, track.weight + 1.0 / cfg.fade_in_frames)
        return track

    @staticmethod
    def _result(faces: FaceResult, tracks: list[_Track]) -> FaceResult:
        if not tracks:
            return FaceResult.empty(faces.image_size_wh, num_landmarks=faces.num_landmarks,
                                    timestamp_ms=faces.timestamp_ms, detection_ran=faces.detection_ran)
        landmarks = np.stack([tr.landmarks for tr in tracks]).astype(np.float32)
        xy = landmarks[:, :, :2]
        return FaceResult(
            boxes_xyxy=np.concatenate([xy.min(axis=1), xy.max(axis=1)], axis=1),
            scores=np.array([tr.score for tr in tracks], np.float32),
            landmarks_px=landmarks,
            track_ids=np.array([tr.track_id for tr in tracks], np.int64),
            weights=np.array([tr.weight for tr in tracks], np.float32),
            image_size_wh=faces.image_size_wh,
            timestamp_ms=faces.timestamp_ms,
            detection_ran=faces.detection_ran,
        )
