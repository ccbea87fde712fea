"""End to end on generated videos: OpenCV-written mp4s of real faces moving, zooming,
leaving and re-entering, several at once, and a face-free clip; real detector, tracker,
regions and masks."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from facemask.detector import FaceDetector
from facemask.masks import region_masks
from facemask.options import Backend, FaceDetectorOptions, RunningMode
from facemask.regions import FaceRegions, RegionConfig, build_regions
from facemask.result import FaceResult
from facemask.tracking import FaceTracker, TrackerConfig
from runtime.lab.face_clips import Motion, SyntheticClip, make_clip, read_video_rgb, write_mp4

SIZE = (640, 480)
N_FRAMES = 40
FPS = 30.0
REGION = RegionConfig(tile=128)


@dataclass
class Run:
    clip: SyntheticClip
    raw: list[FaceResult]
    tracked: list[FaceResult]
    regions: list[FaceRegions]


@pytest.fixture(scope="module")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    with FaceDetector.create_from_options(FaceDetectorOptions(running_mode=RunningMode.VIDEO)) as det:
        yield det


_RUNS: dict[Motion, Run] = {}


def run_clip(motion: Motion, video_dir: Path, detector: FaceDetector) -> Run:
    """Generates, encodes, decodes and processes a clip once per module."""
    if motion not in _RUNS:
        clip = make_clip(motion, SIZE, N_FRAMES, fps=FPS, noise_sigma=6.0, seed=3)
        frames = read_video_rgb(write_mp4(video_dir / f"{motion.value}.mp4", clip.frames, FPS))
        assert len(frames) == N_FRAMES and frames[0].shape == (SIZE[1], SIZE[0], 3)
        detector.reset()
        tracker = FaceTracker()
        raw, tracked, regions = [], [], []
        for i, frame in enumerate(frames):
            raw.append(detector.process(frame, i * 1000 / FPS))
            tracked.append(tracker.update(raw[-1]))
            regions.append(build_regions(tracked[-1], REGION))
        _RUNS[motion] = Run(clip, raw, tracked, regions)
    return _RUNS[motion]


def _contains(region_boxes: NDArray[np.int32], box: NDArray[np.float32], frame_wh: tuple[int, int]) -> bool:
    x0, y0 = max(box[0], 0), max(box[1], 0)
    x1, y1 = min(box[2], frame_wh[0]), min(box[3], frame_wh[1])
    return bool(np.any((region_boxes[:, 0] <= x0) & (region_boxes[:, 1] <= y0)
                       & (region_boxes[:, 2] >= x1) & (region_boxes[:, 3] >= y1)))


def _jitter_px(boxes: NDArray[np.float32]) -> float:
    """RMS frame-to-frame change of box coordinates."""
    return float(np.sqrt(np.mean(np.diff(boxes, axis=0) ** 2)))


@pytest.mark.parametrize("motion", [Motion.STILL, Motion.MOVE, Motion.ZOOM, Motion.CROWD])
def test_every_true_face_is_inside_a_region_on_every_frame(motion: Motion, video_dir: Path,
                                                           detector: FaceDetector) -> None:
    run = run_clip(motion, video_dir, detector)
    for i, (regions, truth) in enumerate(zip(run.regions, run.clip.face_boxes_xyxy)):
        assert len(run.raw[i]) == len(truth), f"frame {i}"
        for box in truth:
            assert _contains(regions.boxes_xyxy, box, SIZE), f"frame {i}: {box} not in {regions.boxes_xyxy}"
        sides = regions.sides_px
        assert np.all(sides % REGION.tile == 0)


@pytest.mark.parametrize("motion", [Motion.STILL, Motion.MOVE, Motion.ZOOM])
def test_one_identity_per_face_through_the_clip(motion: Motion, video_dir: Path, detector: FaceDetector) -> None:
    run = run_clip(motion, video_dir, detector)
    assert {tuple(t.track_ids.tolist()) for t in run.tracked} == {(0,)}


def test_crowd_faces_keep_three_distinct_identities(video_dir: Path, detector: FaceDetector) -> None:
    run = run_clip(Motion.CROWD, video_dir, detector)
    assert all(sorted(t.track_ids.tolist()) == [0, 1, 2] for t in run.tracked)


def test_still_face_boxes_and_crops_are_steady(video_dir: Path, detector: FaceDetector) -> None:
    run = run_clip(Motion.STILL, video_dir, detector)
    raw = np.array([r.boxes_xyxy[0] for r in run.raw[5:]])
    smooth = np.array([t.boxes_xyxy[0] for t in run.tracked[5:]])
    assert _jitter_px(smooth) < 0.25 and _jitter_px(smooth) < _jitter_px(raw) / 2
    crops = np.array([r.boxes_xyxy[0] for r in run.regions[5:]])
    assert np.abs(np.diff(crops, axis=0)).max() <= 1


def test_moving_face_is_followed_without_lag(video_dir: Path, detector: FaceDetector) -> None:
    run = run_clip(Motion.MOVE, video_dir, detector)
    truth = run.clip.face_boxes_xyxy[:, 0]
    got = np.array([t.boxes_xyxy[0] for t in run.tracked])
    err = (got[:, :2] + got[:, 2:]) / 2 - (truth[:, :2] + truth[:, 2:]) / 2
    err -= err.mean(axis=0)  # landmark box and pasted face box differ by a fixed offset
    face_h = float(np.mean(truth[:, 3] - truth[:, 1]))
    assert np.abs(err).max() < 0.06 * face_h


def test_zooming_face_regions_grow_and_shrink(video_dir: Path, detector: FaceDetector) -> None:
    run = run_clip(Motion.ZOOM, video_dir, detector)
    sides = [int(r.sides_px[0]) for r in run.regions]
    assert min(sides) < max(sides)
    masks = region_masks(run.regions[20], run.tracked[20])
    assert masks.blend[0].shape == (sides[20], sides[20]) and masks.blend[0].max() == pytest.approx(1.0)


def test_face_leaving_fades_out_and_returns_as_a_new_track(video_dir: Path, detector: FaceDetector) -> None:
    run = run_clip(Motion.EXIT_REENTER, video_dir, detector)
    found = [len(r) for r in run.raw]
    lost = found.index(0)
    back = lost + found[lost:].index(1)
    in_view = ~np.isnan(run.clip.face_boxes_xyxy[:, 0, 0])  # at least half the face inside
    assert all(found[i] == 1 for i in np.flatnonzero(in_view))
    weights = [float(t.weights.max(initial=0.0)) for t in run.tracked]
    fade = TrackerConfig().fade_out_frames
    assert back > lost + fade + 1, "the clip must keep the face away longer than the fade"
    assert weights[lost - 1] == pytest.approx(1.0)
    assert all(0 < weights[i] < weights[i - 1] for i in range(lost, lost + fade))
    assert weights[lost + fade] == 0.0 and len(run.regions[lost + fade]) == 0
    assert all(len(r) == 0 for r in run.regions[lost + fade:back])
    assert weights[-1] == pytest.approx(1.0) and len(run.regions[-1]) == 1
    assert run.tracked[0].track_ids.tolist() == [0] and run.tracked[-1].track_ids.tolist() == [1]


def test_face_free_video_never_gets_a_region(video_dir: Path, coffee_frames: list[NDArray[np.uint8]],
                                              detector: FaceDetector) -> None:
    detector.reset()
    tracker = FaceTracker()
    for i, frame in enumerate(coffee_frames):
        faces = tracker.update(detector.process(frame, i * 1000 / FPS))
        assert len(faces) == 0 and len(build_regions(faces, REGION)) == 0
        assert faces.detection_ran  # nothing tracked: the detector looks every frame


@pytest.fixture(scope="module")
def coffee_frames(video_dir: Path) -> list[NDArray[np.uint8]]:
    from runtime.lab.sample_images import load_sample

    import cv2

    base = cv2.resize(load_sample("coffee"), SIZE)
    rng = np.random.default_rng(0)
    frames = [np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8) for _ in range(10)]
    return read_video_rgb(write_mp4(video_dir / "coffee.mp4", frames, FPS))


def test_litert_tracking_skips_detection_until_due(video_dir: Path) -> None:
    frames = make_clip(Motion.STILL, SIZE, 12, seed=4).frames
    opts = FaceDetectorOptions(running_mode=RunningMode.VIDEO, detect_interval_frames=5)
    with FaceDetector.create_from_options(opts) as det:
        ran = [det.process(f).detection_ran for f in frames]
    assert ran == [True, False, False, False, False, True, False, False, False, False, True, False]


def test_litert_lost_face_triggers_detection_next_frame(video_dir: Path, detector: FaceDetector) -> None:
    run = run_clip(Motion.EXIT_REENTER, video_dir, detector)
    counts = [len(r) for r in run.raw]
    lost = next(i for i in range(1, N_FRAMES) if counts[i] < counts[i - 1])
    assert run.raw[lost + 1].detection_ran


def test_mediapipe_video_mode_tracks_without_detecting() -> None:
    frames = make_clip(Motion.STILL, SIZE, 6, seed=5).frames
    opts = FaceDetectorOptions(running_mode=RunningMode.VIDEO, backend=Backend.MEDIAPIPE, max_faces=1)
    with FaceDetector.create_from_options(opts) as det:
        results = [det.process(f) for f in frames]
    assert [r.detection_ran for r in results] == [True] + [False] * 5
    assert all(len(r) == 1 and r.scores[0] > 0.8 for r in results)  # score carried over


def test_image_mode_detects_every_frame() -> None:
    frames = make_clip(Motion.STILL, SIZE, 3, seed=6).frames
    with FaceDetector.create_from_options(FaceDetectorOptions()) as det:
        assert [det.process(f).detection_ran for f in frames] == [True, True, True]
