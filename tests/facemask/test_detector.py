"""FaceDetector on real faces (astronaut, Grace Hopper), no-face photos and bad input."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from facemask.detector import FaceDetector
from facemask.errors import FaceMaskError
from facemask.image import ColorOrder
from facemask.mesh import LEFT_EYE, LIPS, NUM_LANDMARKS, NUM_LANDMARKS_REFINED, RIGHT_EYE
from facemask.options import Backend, DetectorModel, FaceDetectorOptions, RunningMode
from facemask.result import FaceResult
from runtime.lab.sample_images import load_sample
from fm_helpers import GOLDEN, astronaut, litert_detector, mediapipe_detector, photos  # noqa: F401 (fixtures)

PARTS = {"right_eye_xy": RIGHT_EYE, "left_eye_xy": LEFT_EYE, "mouth_xy": LIPS}


def _detector(request: pytest.FixtureRequest, backend: Backend) -> FaceDetector:
    name = "litert_detector" if backend is Backend.LITERT else "mediapipe_detector"
    return request.getfixturevalue(name)


def _part_xy(faces: FaceResult, part: str) -> NDArray[np.float32]:
    return faces.landmarks_px[0, list(PARTS[part]), :2].mean(axis=0)


@pytest.mark.parametrize("backend", list(Backend))
@pytest.mark.parametrize("photo", ["astronaut", "grace_hopper", "coffee"])
def test_real_photos_match_golden(request: pytest.FixtureRequest, backend: Backend, photo: str,
                                  photos: dict[str, NDArray[np.uint8]]) -> None:
    golden = GOLDEN[photo]
    faces = _detector(request, backend).process(photos[photo])
    assert isinstance(faces, FaceResult)
    assert faces.image_size_wh == tuple(golden["image_size_wh"])
    assert len(faces) == golden["num_faces"]
    assert faces.landmarks_px.shape == (golden["num_faces"], NUM_LANDMARKS, 3)
    assert faces.landmarks_px.dtype == np.float32 and faces.boxes_xyxy.dtype == np.float32
    assert faces.detection_ran
    if golden["num_faces"] == 0:
        return
    box = faces.boxes_xyxy[0]
    face_w = golden["face_box_xyxy"][2] - golden["face_box_xyxy"][0]
    for part in PARTS:
        x, y = golden[part]
        assert box[0] < x < box[2] and box[1] < y < box[3], part
        assert np.hypot(*(_part_xy(faces, part) - (x, y))) < 0.03 * face_w, part
    np.testing.assert_allclose(box, golden["face_box_xyxy"], atol=0.04 * face_w)
    assert 0.8 < faces.scores[0] <= 1.0
    assert faces.track_ids.tolist() == [-1] and faces.weights.tolist() == [1.0]


@pytest.fixture(scope="module")
def short_range_detector() -> Iterator[FaceDetector]:
    with FaceDetector.create_from_options(FaceDetectorOptions(detector_model=DetectorModel.SHORT_RANGE)) as det:
        yield det


@pytest.mark.parametrize("photo", ["astronaut", "grace_hopper"])
def test_litert_backend_agrees_with_mediapipe_graph(short_range_detector: FaceDetector,
                                                    mediapipe_detector: FaceDetector, photo: str,
                                                    photos: dict[str, NDArray[np.uint8]]) -> None:
    ours = short_range_detector.process(photos[photo])  # the graph's detector: like for like
    ref = mediapipe_detector.process(photos[photo])
    err = np.linalg.norm(ours.landmarks_px[0, :, :2] - ref.landmarks_px[0, :, :2], axis=1)
    face_w = float(ref.boxes_xyxy[0, 2] - ref.boxes_xyxy[0, 0])
    assert err.mean() < 0.01 * face_w and err.max() < 0.03 * face_w
    assert abs(float(ours.scores[0] - ref.scores[0])) < 0.03


@pytest.mark.parametrize(("model", "selection"), [(DetectorModel.SHORT_RANGE, 0), (DetectorModel.FULL_RANGE, 1)])
@pytest.mark.parametrize("photo", ["astronaut", "grace_hopper"])
def test_raw_detector_agrees_with_mediapipe_face_detection(photos: dict[str, NDArray[np.uint8]], photo: str,
                                                           model: DetectorModel, selection: int) -> None:
    import mediapipe as mp

    from facemask._litert import LiteRTBackend

    image = photos[photo]
    h, w = image.shape[:2]
    with mp.solutions.face_detection.FaceDetection(model_selection=selection) as ref:
        det = ref.process(image).detections[0]
    bb = det.location_data.relative_bounding_box
    ours = LiteRTBackend(FaceDetectorOptions(detector_model=model)).detect(image)
    assert len(ours.scores) == 1
    ref_box = np.array([bb.xmin * w, bb.ymin * h, (bb.xmin + bb.width) * w, (bb.ymin + bb.height) * h])
    np.testing.assert_allclose(ours.boxes_xyxy[0], ref_box, atol=0.06 * (ref_box[2] - ref_box[0]))
    assert abs(float(ours.scores[0]) - det.score[0]) < 0.03


def test_litert_backend_loads_without_native_console_chatter(astronaut: NDArray[np.uint8],
                                                             capfd: pytest.CaptureFixture[str]) -> None:
    """LiteRT's per-load 'INFO: Created ... XNNPACK delegate' line stays out of CLI output."""
    capfd.readouterr()
    with FaceDetector.create_from_options(FaceDetectorOptions(backend=Backend.LITERT)) as det:
        assert len(det.process(astronaut)) == 1
    assert "XNNPACK" not in capfd.readouterr().err


def test_refined_landmarks_have_irises(astronaut: NDArray[np.uint8]) -> None:
    opts = FaceDetectorOptions(backend=Backend.MEDIAPIPE, refine_landmarks=True)
    with FaceDetector.create_from_options(opts) as det:
        faces = det.process(astronaut)
        none = det.process(load_sample("coffee"))
    assert faces.landmarks_px.shape == (1, NUM_LANDMARKS_REFINED, 3)
    assert none.landmarks_px.shape == (0, NUM_LANDMARKS_REFINED, 3)
    iris = faces.landmarks_px[0, 468:473, :2].mean(axis=0)
    assert np.hypot(*(iris - GOLDEN["astronaut"]["right_eye_xy"])) < 5


def _paste(face_photo: NDArray[np.uint8], size_wh: tuple[int, int], scale: float) -> NDArray[np.uint8]:
    frame = cv2.resize(load_sample("coffee"), size_wh)
    small = cv2.resize(face_photo[:400], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame[100:100 + small.shape[0], 300:300 + small.shape[1]] = small
    return frame


def test_full_range_model_finds_smaller_faces_in_720p(astronaut: NDArray[np.uint8],
                                                      litert_detector: FaceDetector) -> None:
    frame = _paste(astronaut, (1280, 720), 1.0)  # a 94-px face, 7% of the width
    faces = litert_detector.process(frame)  # full range is the LiteRT default
    assert len(faces) == 1
    x, y = GOLDEN["astronaut"]["left_eye_xy"]
    assert np.hypot(*(_part_xy(faces, "left_eye_xy") - (x + 300, y + 100))) < 4
    with FaceDetector.create_from_options(FaceDetectorOptions(detector_model=DetectorModel.SHORT_RANGE)) as det:
        assert len(det.process(frame)) == 0  # short range misses it


def _rotated(img: NDArray[np.uint8], degrees: float) -> tuple[NDArray[np.uint8], NDArray[np.float64]]:
    m = cv2.getRotationMatrix2D((225.0, 125.0), degrees, 1.0)
    return cv2.warpAffine(img, m, img.shape[1::-1], borderMode=cv2.BORDER_REFLECT), m


@pytest.mark.parametrize("backend", list(Backend))
@pytest.mark.parametrize("degrees", [-45, 30, 60])
def test_rotated_faces(request: pytest.FixtureRequest, astronaut: NDArray[np.uint8],
                       backend: Backend, degrees: float) -> None:
    img, m = _rotated(astronaut, degrees)
    faces = _detector(request, backend).process(img)
    assert len(faces) == 1
    for part in PARTS:
        want = m @ np.array([*GOLDEN["astronaut"][part], 1.0])
        assert np.hypot(*(_part_xy(faces, part) - want)) < 8, part


def _turned(img: NDArray[np.uint8], degrees: float, cx: float = 225.0, r: float = 75.0
            ) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """The head as a cylinder (axis at column ``cx``) turned by ``degrees``: a stand-in for
    a profile view made from a frontal photo. Returns the image and its column map."""
    h, w = img.shape[:2]
    x = np.arange(w, dtype=np.float32)
    phi = np.arcsin(np.clip((x - cx) / r, -1, 1)) + np.deg2rad(degrees)
    src = np.where(np.abs(x - cx) < r, cx + r * np.sin(np.clip(phi, -np.pi / 2, np.pi / 2)), x).astype(np.float32)
    mapy = np.repeat(np.arange(h, dtype=np.float32)[:, None], w, axis=1)
    return cv2.remap(img, np.tile(src, (h, 1)), mapy, cv2.INTER_LINEAR), src


@pytest.mark.parametrize("backend", list(Backend))
@pytest.mark.parametrize("degrees", [20, 35, 50])
def test_turned_faces(request: pytest.FixtureRequest, astronaut: NDArray[np.uint8], backend: Backend,
                      degrees: float) -> None:
    img, src_x = _turned(astronaut, degrees)
    faces = _detector(request, backend).process(img)
    assert len(faces) == 1
    box = faces.boxes_xyxy[0]
    for part in PARTS:
        gx, gy = GOLDEN["astronaut"][part]
        x = float(np.argmin(np.abs(src_x[150:300] - gx))) + 150  # where that column went
        assert box[0] < x < box[2] and box[1] < gy < box[3], part
        assert np.hypot(*(_part_xy(faces, part) - (x, gy))) < 10, part


@pytest.mark.parametrize(("name", "edit"), [
    ("mouth covered", lambda im: im.__setitem__((slice(130, 165), slice(190, 260)), 0)),
    ("eyes covered", lambda im: im.__setitem__((slice(90, 115), slice(190, 265)), 0)),
])
def test_partly_occluded_faces_are_found(litert_detector: FaceDetector, astronaut: NDArray[np.uint8],
                                         name: str, edit: object) -> None:
    img = astronaut.copy()
    edit(img)  # type: ignore[operator]
    faces = litert_detector.process(img)
    assert len(faces) == 1, name
    assert np.hypot(*(_part_xy(faces, "mouth_xy") - GOLDEN["astronaut"]["mouth_xy"])) < 10


def test_face_cut_by_the_frame_edge_has_landmarks_outside(mediapipe_detector: FaceDetector,
                                                          astronaut: NDArray[np.uint8]) -> None:
    img = np.ascontiguousarray(astronaut[:, 197:])  # a fifth of the face is cut off
    faces = mediapipe_detector.process(img)
    assert len(faces) == 1
    assert faces.boxes_xyxy[0, 0] < 0 < faces.boxes_xyxy[0, 2]


def test_several_faces_and_max_faces() -> None:
    from runtime.lab.face_clips import Motion, make_clip

    frame = make_clip(Motion.CROWD, (960, 540), 1).frames[0]
    with FaceDetector.create_from_options(FaceDetectorOptions(max_faces=4)) as det:
        faces = det.process(frame)
    with FaceDetector.create_from_options(FaceDetectorOptions(max_faces=2)) as det:
        two = det.process(frame)
    assert len(faces) == 3 and len(two) == 2
    assert sorted(faces.boxes_xyxy[:, 0].round(-1).tolist()) == sorted(set(faces.boxes_xyxy[:, 0].round(-1).tolist()))


def test_bgr_option_gives_the_same_faces(astronaut: NDArray[np.uint8], litert_detector: FaceDetector) -> None:
    bgr = np.ascontiguousarray(astronaut[..., ::-1])
    with FaceDetector.create_from_options(FaceDetectorOptions(color_order=ColorOrder.BGR)) as det:
        from_bgr = det.process(bgr)
    np.testing.assert_allclose(from_bgr.landmarks_px, litert_detector.process(astronaut).landmarks_px, atol=1e-4)


def test_input_frame_is_not_modified(litert_detector: FaceDetector, astronaut: NDArray[np.uint8]) -> None:
    frame = astronaut.copy()
    litert_detector.process(frame)
    np.testing.assert_array_equal(frame, astronaut)


@pytest.mark.parametrize("backend", list(Backend))
@pytest.mark.parametrize("side", [1, 7, 40])
def test_tiny_frames_give_empty_results(request: pytest.FixtureRequest, backend: Backend, side: int) -> None:
    faces = _detector(request, backend).process(np.full((side, side + 3, 3), 128, np.uint8))
    assert len(faces) == 0 and faces.image_size_wh == (side + 3, side)


@pytest.mark.parametrize(("image", "match"), [
    (np.zeros((0, 0, 3), np.uint8), r"empty \(0x0"),
    (np.zeros((48, 64), np.uint8), "grayscale"),
    (np.zeros((48, 64, 4), np.uint8), "4 channels"),
    (np.zeros((48, 64, 3), np.float32), "float32"),
    (np.zeros((4, 8200, 3), np.uint8), "max_side_px"),
    ("photo.jpg", "str, not a numpy array"),
])
def test_bad_frames_raise_one_line_errors(litert_detector: FaceDetector, image: object, match: str) -> None:
    with pytest.raises(FaceMaskError, match=match) as info:
        litert_detector.process(image)
    assert "\n" not in str(info.value)


def test_video_timestamps_must_increase() -> None:
    frame = np.zeros((32, 32, 3), np.uint8)
    with FaceDetector.create_from_options(FaceDetectorOptions(running_mode=RunningMode.VIDEO)) as det:
        assert [det.process(frame).timestamp_ms for _ in range(2)] == pytest.approx([0.0, 1000 / 30])
        assert det.process(frame, 100).timestamp_ms == 100.0
        with pytest.raises(FaceMaskError, match="not after the previous frame's 100.0"):
            det.process(frame, 100)
        for bad in (float("nan"), True, "5"):
            with pytest.raises(FaceMaskError, match="must be a finite number"):
                det.process(frame, bad)  # type: ignore[arg-type]


def test_image_mode_keeps_timestamps_as_given(litert_detector: FaceDetector) -> None:
    frame = np.zeros((32, 32, 3), np.uint8)
    assert litert_detector.process(frame).timestamp_ms is None
    assert litert_detector.process(frame, 50).timestamp_ms == 50.0
    assert litert_detector.process(frame, 10).timestamp_ms == 10.0


def test_closed_detector_refuses_work(astronaut: NDArray[np.uint8]) -> None:
    with FaceDetector.create_from_options() as det:
        assert len(det.process(astronaut)) == 1
    det.close()
    with pytest.raises(FaceMaskError, match="closed"):
        det.process(astronaut)


def test_missing_delegate_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FaceMaskError, match="cannot load LiteRT delegate .*nope.so"):
        FaceDetector.create_from_options(FaceDetectorOptions(delegate_path=tmp_path / "nope.so"))
