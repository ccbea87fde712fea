"""FaceDetectorOptions: enums from strings with typo hints, ranges, backend combinations."""
from __future__ import annotations

from contextlib import nullcontext as does_not_raise

import pytest

from facemask.errors import FaceMaskError
from facemask.image import ColorOrder
from facemask.options import Backend, DetectorModel, FaceDetectorOptions, RunningMode


@pytest.mark.parametrize(("kwargs", "raises", "match"), [
    ({}, does_not_raise(), None),
    ({"running_mode": "video", "backend": "MEDIAPIPE"}, does_not_raise(), None),
    ({"running_mode": "vidoe"}, pytest.raises(FaceMaskError), "did you mean 'video'"),
    ({"backend": "tflite"}, pytest.raises(FaceMaskError), "backend='tflite' is not one of litert, mediapipe"),
    ({"color_order": "bgr"}, does_not_raise(), None),
    ({"max_faces": 0}, pytest.raises(FaceMaskError), "max_faces=0 must be an int >= 1"),
    ({"max_faces": 2.5}, pytest.raises(FaceMaskError), "max_faces"),
    ({"min_detection_confidence": 1.5}, pytest.raises(FaceMaskError), r"min_detection_confidence=1.5 .*\[0, 1\]"),
    ({"min_tracking_confidence": -0.1}, pytest.raises(FaceMaskError), "min_tracking_confidence"),
    ({"detect_interval_frames": 0}, pytest.raises(FaceMaskError), "detect_interval_frames=0"),
    ({"max_side_px": 8}, pytest.raises(FaceMaskError), "max_side_px=8"),
    ({"num_threads": 0}, pytest.raises(FaceMaskError), "num_threads=0"),
    ({"refine_landmarks": True}, pytest.raises(FaceMaskError), "refine_landmarks=True needs backend=MEDIAPIPE"),
    ({"refine_landmarks": True, "backend": Backend.MEDIAPIPE}, does_not_raise(), None),
    ({"backend": Backend.MEDIAPIPE, "detector_model": "full_range"}, pytest.raises(FaceMaskError),
     "detector_model=FULL_RANGE needs backend=LITERT"),
    ({"backend": Backend.MEDIAPIPE, "detect_interval_frames": 5, "delegate_path": "x.so"},
     pytest.raises(FaceMaskError), "detect_interval_frames, delegate_path need backend=LITERT"),
])
def test_options_validation(kwargs: dict[str, object], raises: object, match: str | None) -> None:
    with raises as info:  # type: ignore[attr-defined]
        FaceDetectorOptions(**kwargs)  # type: ignore[arg-type]
    if match is not None:
        assert info.match(match)


def test_strings_become_enums() -> None:
    opts = FaceDetectorOptions(running_mode="video", detector_model="full_range", color_order="bgr")  # type: ignore[arg-type]
    assert opts.running_mode is RunningMode.VIDEO
    assert opts.detector_model is DetectorModel.FULL_RANGE
    assert opts.color_order is ColorOrder.BGR


def test_defaults_resolve_per_backend() -> None:
    opts = FaceDetectorOptions()
    assert (opts.effective_detect_interval, opts.effective_num_threads) == (10, 1)
    assert opts.effective_detector_model is DetectorModel.FULL_RANGE
    assert FaceDetectorOptions(backend="mediapipe").effective_detector_model is DetectorModel.SHORT_RANGE  # type: ignore[arg-type]
    assert FaceDetectorOptions(detect_interval_frames=3).effective_detect_interval == 3
