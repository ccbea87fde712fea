"""One-Euro filter and FaceTracker on hand-made face sequences (no detector: fast)."""
from __future__ import annotations

from contextlib import nullcontext as does_not_raise

import numpy as np
import pytest
from numpy.typing import NDArray

from facemask.errors import FaceMaskError
from facemask.result import FaceResult
from facemask.tracking import FaceTracker, OneEuroFilter, TrackerConfig

FRAME_MS = 1000 / 30


def test_one_euro_passes_a_constant_and_reduces_noise() -> None:
    rng = np.random.default_rng(0)
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.0)
    assert f(np.full(3, 5.0), 0.0).tolist() == [5.0, 5.0, 5.0]
    assert f(np.full(3, 5.0), 33.0).tolist() == pytest.approx([5.0, 5.0, 5.0])
    noisy = 10 + rng.normal(0, 1, (200, 2))
    g = OneEuroFilter(min_cutoff_hz=1.0, beta=0.0)
    out = np.array([g(x, i * FRAME_MS) for i, x in enumerate(noisy)])
    assert out[50:].std() < noisy[50:].std() / 3


@pytest.mark.parametrize("beta", [0.0, 0.05, 0.5])
def test_one_euro_lags_less_on_fast_motion_with_higher_beta(beta: float) -> None:
    def lag(b: float) -> float:
        f = OneEuroFilter(min_cutoff_hz=1.0, beta=b)
        t = np.arange(60) * FRAME_MS
        xs = 300.0 * t / 1000  # 300 px/s ramp
        out = [f(np.array([x, 0.0]), ti)[0] for x, ti in zip(xs, t)]
        return float(xs[-1] - out[-1])
    assert lag(beta) > lag(beta * 4 + 0.05) > 0


def test_one_euro_needs_increasing_time() -> None:
    f = OneEuroFilter()
    f(np.zeros(2), 10.0)
    with pytest.raises(FaceMaskError, match="not after the previous sample's 10.0"):
        f(np.zeros(2), 10.0)


def _face(cx: float, cy: float, size: float = 100.0) -> NDArray[np.float32]:
    """A fake 468-point face: a grid spanning ``size`` px; chin (152) below forehead (10)."""
    grid = np.stack(np.meshgrid(np.linspace(-0.5, 0.5, 26), np.linspace(-0.5, 0.5, 18)), -1).reshape(-1, 2)
    lm = np.zeros((468, 3), np.float32)
    lm[:, :2] = grid * size + (cx, cy)
    lm[10, :2] = (cx, cy - size / 2)
    lm[152, :2] = (cx, cy + size / 2)
    return lm


def _frame(t_index: int, centres: list[tuple[float, float]]) -> FaceResult:
    lm = np.array([_face(*c) for c in centres], np.float32).reshape(len(centres), 468, 3)
    return FaceResult.from_landmarks(lm, np.full(len(centres), 0.9, np.float32), (640, 480),
                                     timestamp_ms=t_index * FRAME_MS)


def test_ids_persist_and_new_faces_get_new_ids() -> None:
    tracker = FaceTracker(TrackerConfig(fade_in_frames=1))
    ids = []
    for i in range(5):
        centres = [(100 + 5 * i, 200.0)] + ([(400.0, 200.0)] if i >= 2 else [])
        ids.append(tracker.update(_frame(i, centres)).track_ids.tolist())
    assert ids == [[0], [0], [0, 1], [0, 1], [0, 1]]


def test_order_of_detections_does_not_swap_identities() -> None:
    tracker = FaceTracker()
    first = tracker.update(_frame(0, [(100.0, 200.0), (400.0, 200.0)]))
    swapped = tracker.update(_frame(1, [(402.0, 200.0), (101.0, 200.0)]))
    assert first.track_ids.tolist() == [0, 1] and swapped.track_ids.tolist() == [1, 0]


def test_lost_face_fades_out_held_still_then_goes() -> None:
    tracker = FaceTracker(TrackerConfig(fade_in_frames=1, fade_out_frames=3))
    for i in range(3):
        tracker.update(_frame(i, [(200.0, 200.0)]))
    weights, boxes = [], []
    for i in range(3, 8):
        out = tracker.update(_frame(i, []))
        weights.append(out.weights.tolist())
        boxes.append(out.boxes_xyxy.tolist())
    assert weights == [pytest.approx([0.75]), pytest.approx([0.5]), pytest.approx([0.25]), [], []]
    assert boxes[0] == boxes[1] == boxes[2]


def test_face_appearing_mid_stream_fades_in() -> None:
    tracker = FaceTracker(TrackerConfig(fade_in_frames=3))
    tracker.update(_frame(0, []))
    weights = [tracker.update(_frame(i, [(200.0, 200.0)])).weights[0] for i in range(1, 5)]
    assert weights == pytest.approx([1 / 3, 2 / 3, 1.0, 1.0])


def test_face_on_the_first_frame_starts_at_full_weight() -> None:
    tracker = FaceTracker(TrackerConfig(fade_in_frames=3))
    assert tracker.update(_frame(0, [(200.0, 200.0)])).weights[0] == pytest.approx(1.0)
    tracker.reset()
    assert tracker.update(_frame(1, [(200.0, 200.0)])).weights[0] == pytest.approx(1.0)


def test_returning_face_within_fade_window_keeps_its_track() -> None:
    tracker = FaceTracker(TrackerConfig(fade_in_frames=2, fade_out_frames=4))
    for i in range(3):
        tracker.update(_frame(i, [(200.0, 200.0)]))
    faded = tracker.update(_frame(3, []))
    back = tracker.update(_frame(4, [(201.0, 200.0)]))
    assert faded.weights[0] == pytest.approx(0.8)
    assert back.track_ids.tolist() == [0] and back.weights[0] == pytest.approx(1.0)


@pytest.mark.parametrize(("config", "factor"), [
    (TrackerConfig(beta=0.0), 3.0),  # a plain 1 Hz low-pass
    (TrackerConfig(), 1.5),  # speed-adaptive: still smooths, less so for this much noise
])
def test_still_face_is_smoothed(config: TrackerConfig, factor: float) -> None:
    rng = np.random.default_rng(1)
    tracker = FaceTracker(config)
    raw, smooth = [], []
    for i in range(90):
        f = _frame(i, [(300 + rng.normal(0, 0.5), 240 + rng.normal(0, 0.5))])
        raw.append(f.boxes_xyxy[0])
        smooth.append(tracker.update(f).boxes_xyxy[0])
    jitter = lambda b: float(np.sqrt(np.mean(np.diff(np.array(b[10:]), axis=0) ** 2)))  # noqa: E731
    assert jitter(smooth) < jitter(raw) / factor


@pytest.mark.parametrize(("faces", "match"), [
    (FaceResult.empty((640, 480)), "needs timestamps"),
    (FaceResult.empty((640, 480), timestamp_ms=0.0), "not after the previous frame's 0.0"),
])
def test_tracker_input_errors(faces: FaceResult, match: str) -> None:
    tracker = FaceTracker()
    tracker.update(FaceResult.empty((640, 480), timestamp_ms=0.0))
    with pytest.raises(FaceMaskError, match=match):
        tracker.update(faces)


def test_frame_size_change_needs_reset() -> None:
    tracker = FaceTracker()
    tracker.update(_frame(0, [(200.0, 200.0)]))
    other = FaceResult.empty((1280, 720), timestamp_ms=50.0)
    with pytest.raises(FaceMaskError, match=r"frame size changed from \(640, 480\) to \(1280, 720\)"):
        tracker.update(other)
    tracker.reset()
    assert len(tracker.update(other)) == 0


def test_landmark_count_change_needs_reset() -> None:
    tracker = FaceTracker()
    tracker.update(_frame(0, [(200.0, 200.0)]))
    refined = FaceResult.from_landmarks(np.zeros((1, 478, 3), np.float32) + 200, np.ones(1, np.float32),
                                        (640, 480), timestamp_ms=50.0)
    with pytest.raises(FaceMaskError, match="478 landmarks but the tracks 468"):
        tracker.update(refined)
    tracker.reset()
    assert tracker.update(refined).num_landmarks == 478


@pytest.mark.parametrize(("kwargs", "raises"), [
    ({}, does_not_raise()),
    ({"min_cutoff_hz": 0}, pytest.raises(FaceMaskError, match="min_cutoff_hz=0")),
    ({"beta": -1}, pytest.raises(FaceMaskError, match="beta=-1")),
    ({"fade_in_frames": 0}, pytest.raises(FaceMaskError, match="fade_in_frames=0 must be an int >= 1")),
    ({"fade_out_frames": 0}, does_not_raise()),
    ({"fade_out_frames": -1}, pytest.raises(FaceMaskError, match="fade_out_frames=-1")),
    ({"match_iou": 1.0}, pytest.raises(FaceMaskError, match="match_iou=1.0")),
])
def test_tracker_config_validation(kwargs: dict[str, float], raises: object) -> None:
    with raises:  # type: ignore[attr-defined]
        TrackerConfig(**kwargs)  # type: ignore[arg-type]
