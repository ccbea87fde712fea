"""Options of :class:`~facemask.detector.FaceDetector`, checked before any model loads."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TypeVar

from facemask.errors import FaceMaskError
from facemask.image import DEFAULT_MAX_SIDE_PX, ColorOrder

DEFAULT_DETECT_INTERVAL_FRAMES = 10
DEFAULT_NUM_THREADS = 1


class RunningMode(Enum):
    """How consecutive calls relate."""

    IMAGE = "image"
    """Every call is an unrelated still: detection and landmarks on each."""
    VIDEO = "video"
    """Calls are frames of one video in time order: landmarks are tracked from the
    previous frame and the detector runs only every few frames or when a face is lost."""


class Backend(Enum):
    """Which runtime executes MediaPipe's bundled face models."""

    LITERT = "litert"
    """facemask's own pipeline over the bundled ``.tflite`` files in ai-edge-litert:
    accepts LiteRT delegates, both detector ranges and a detection interval."""
    MEDIAPIPE = "mediapipe"
    """MediaPipe's face-mesh graph (the reference): short range only, refined 478-point
    landmarks available; in VIDEO mode it re-detects whenever fewer than ``max_faces``
    faces are tracked."""


class DetectorModel(Enum):
    """Which bundled BlazeFace detector finds faces."""

    SHORT_RANGE = "short_range"
    """128x128 input; faces within about 2 m of the camera (selfies, video calls)."""
    FULL_RANGE = "full_range"
    """192x192 input; also small faces up to about 5 m (group shots, 720p/1080p scenes)."""


E = TypeVar("E", bound=Enum)


def coerce_enum(value: object, cls: type[E], option: str) -> E:
    """Accepts an enum member or its string value; a typo gets the closest valid name.

    Raises:
        FaceMaskError: ``value`` names no member of ``cls``.
    """
    if isinstance(value, cls):
        return value
    names = [m.value for m in cls]
    if isinstance(value, str) and value.lower() in names:
        return cls(value.lower())
    close = difflib.get_close_matches(str(value).lower(), names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise FaceMaskError(f"{option}={value!r} is not one of {', '.join(names)}{hint}")


@dataclass(frozen=True, slots=True)
class FaceDetectorOptions:
    """What the face detector runs and how.

    Example::

        opts = FaceDetectorOptions(running_mode=RunningMode.VIDEO, max_faces=2)
        with FaceDetector.create_from_options(opts) as det: ...

    Attributes:
        running_mode: IMAGE for stills, VIDEO for frames of one video in order.
        backend: LITERT (default) or MEDIAPIPE; both run the same bundled models.
        detector_model: SHORT_RANGE or FULL_RANGE (LITERT only). None picks FULL_RANGE on
            LITERT (finds 720p faces down to ~85 px wide and gave no false faces on the
            coffee clips, where SHORT_RANGE did) and SHORT_RANGE, its only one, on MEDIAPIPE.
        max_faces: Most faces reported per frame, >= 1.
        min_detection_confidence: Detector score in [0, 1] a face needs to be found.
            0.6, above MediaPipe's 0.5: noisy frames of scikit-image's coffee photo score
            up to 0.52 and pass the landmark model; real faces here score above 0.9.
        min_tracking_confidence: Landmark model's face-presence score in [0, 1] below which
            a face counts as lost.
        refine_landmarks: 478 landmarks with irises instead of 468 (MEDIAPIPE only).
        detect_interval_frames: VIDEO mode, LITERT: run the detector at least every this
            many frames to find new faces (default 10); it also runs whenever a face is
            lost or none is tracked.
        color_order: Channel order of the frames you pass (RGB unless you say BGR).
        max_side_px: Frames with a larger width or height are rejected.
        num_threads: CPU threads for the LiteRT interpreters (LITERT only; default 1).
        delegate_path: A LiteRT delegate library (``.so``) to run the models on an
            accelerator (LITERT only); None runs them on the CPU.
    """

    running_mode: RunningMode = RunningMode.IMAGE
    backend: Backend = Backend.LITERT
    detector_model: DetectorModel | None = None
    max_faces: int = 4
    min_detection_confidence: float = 0.6
    min_tracking_confidence: float = 0.5
    refine_landmarks: bool = False
    detect_interval_frames: int | None = None
    color_order: ColorOrder = ColorOrder.RGB
    max_side_px: int = DEFAULT_MAX_SIDE_PX
    num_threads: int | None = None
    delegate_path: str | Path | None = None

    def __post_init__(self) -> None:
        for option, cls in (("running_mode", RunningMode), ("backend", Backend),
                            ("detector_model", DetectorModel), ("color_order", ColorOrder)):
            if option != "detector_model" or self.detector_model is not None:
                object.__setattr__(self, option, coerce_enum(getattr(self, option), cls, option))
        if not isinstance(self.max_faces, int) or self.max_faces < 1:
            raise FaceMaskError(f"max_faces={self.max_faces!r} must be an int >= 1")
        for option in ("min_detection_confidence", "min_tracking_confidence"):
            v = getattr(self, option)
            if not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise FaceMaskError(f"{option}={v!r} must be a number in [0, 1]")
        if self.detect_interval_frames is not None and (
                not isinstance(self.detect_interval_frames, int) or self.detect_interval_frames < 1):
            raise FaceMaskError(
                f"detect_interval_frames={self.detect_interval_frames!r} must be an int >= 1 (1 = every frame)")
        if not isinstance(self.max_side_px, int) or self.max_side_px < 16:
            raise FaceMaskError(f"max_side_px={self.max_side_px!r} must be an int >= 16")
        if self.num_threads is not None and (not isinstance(self.num_threads, int) or self.num_threads < 1):
            raise FaceMaskError(f"num_threads={self.num_threads!r} must be an int >= 1")
        self._check_backend()

    def _check_backend(self) -> None:
        if self.backend is Backend.LITERT:
            if self.refine_landmarks:
                raise FaceMaskError(
                    "refine_landmarks=True needs backend=MEDIAPIPE: the refined landmark model "
                    "uses MediaPipe custom ops LiteRT cannot run")
            return
        only_litert = {
            "detector_model=FULL_RANGE": self.detector_model is DetectorModel.FULL_RANGE,
            "detect_interval_frames": self.detect_interval_frames is not None,
            "num_threads": self.num_threads is not None,
            "delegate_path": self.delegate_path is not None,
        }
        bad = [name for name, is_set in only_litert.items() if is_set]
        if bad:
            raise FaceMaskError(
                f"{', '.join(bad)} {'needs' if len(bad) == 1 else 'need'} backend=LITERT; "
                "MediaPipe's face-mesh graph fixes them. "
                "Use Backend.LITERT or drop the option")

    @property
    def effective_detector_model(self) -> DetectorModel:
        """The detector the backend runs."""
        if self.detector_model is not None:
            return self.detector_model
        return DetectorModel.FULL_RANGE if self.backend is Backend.LITERT else DetectorModel.SHORT_RANGE

    @property
    def effective_detect_interval(self) -> int:
        """Detection interval in frames the LiteRT backend uses."""
        return self.detect_interval_frames or DEFAULT_DETECT_INTERVAL_FRAMES

    @property
    def effective_num_threads(self) -> int:
        """Interpreter threads the LiteRT backend uses."""
        return self.num_threads or DEFAULT_NUM_THREADS
