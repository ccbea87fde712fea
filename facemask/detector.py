"""``FaceDetector``: faces and 468-point landmarks for still images and video frames."""
from __future__ import annotations

import math
from types import TracebackType

from facemask._backend import FaceBackend
from facemask.errors import FaceMaskError
from facemask.image import to_rgb
from facemask.options import Backend, FaceDetectorOptions, RunningMode
from facemask.result import FaceResult

DEFAULT_FRAME_INTERVAL_MS = 1000.0 / 30.0
"""Time step assumed between VIDEO frames given without a timestamp (30 fps)."""


def _create_backend(options: FaceDetectorOptions) -> FaceBackend:
    if options.backend is Backend.MEDIAPIPE:
        from facemask._mediapipe import MediaPipeBackend

        return MediaPipeBackend(options)
    from facemask._litert import LiteRTBackend

    return LiteRTBackend(options)


class FaceDetector:
    """Finds faces and their face-mesh landmarks in RGB frames.

    Frames are HxWx3 uint8 in RGB order (say ``color_order=ColorOrder.BGR`` in the
    options for OpenCV frames). One detector serves one stream; it is not thread-safe.

    Example::

        with FaceDetector.create_from_options(FaceDetectorOptions()) as detector:
            faces = detector.process(skimage.data.astronaut())
            print(len(faces), faces.boxes_xyxy)
    """

    def __init__(self, options: FaceDetectorOptions, backend: FaceBackend) -> None:
        """Use :meth:`create_from_options`; this wires an already built backend."""
        self._options = options
        self._backend: FaceBackend | None = backend
        self._last_timestamp_ms: float | None = None

    @classmethod
    def create_from_options(cls, options: FaceDetectorOptions | None = None) -> FaceDetector:
        """Loads the models the options name.

        Raises:
            FaceMaskError: The models or a delegate cannot be loaded.
        """
        options = options or FaceDetectorOptions()
        return cls(options, _create_backend(options))

    @property
    def options(self) -> FaceDetectorOptions:
        """The options this detector was created with."""
        return self._options

    def process(self, image: object, timestamp_ms: float | None = None) -> FaceResult:
        """Faces in one frame.

        Args:
            image: HxWx3 uint8 frame in the options' colour order (RGB by default).
            timestamp_ms: Frame time in milliseconds. VIDEO mode: must increase from call
                to call; None means the previous frame's time plus 1/30 s. IMAGE mode: only
                copied into the result.

        Returns:
            A :class:`FaceResult` with 0 to ``max_faces`` faces, most confident first for
            new detections; an empty result (never None) when there is no face.

        Raises:
            FaceMaskError: Bad frame (dtype, channels, empty, too large), a timestamp that
                does not increase in VIDEO mode, or a closed detector.
        """
        if self._backend is None:
            raise FaceMaskError("this FaceDetector is closed; create a new one with create_from_options")
        rgb = to_rgb(image, self._options.color_order, max_side_px=self._options.max_side_px)
        timestamp_ms = self._next_timestamp(timestamp_ms)
        out = self._backend.process(rgb, self._options.running_mode)
        size_wh = (rgb.shape[1], rgb.shape[0])
        return FaceResult.from_landmarks(out.landmarks_px, out.scores, size_wh,
                                         timestamp_ms=timestamp_ms, detection_ran=out.detection_ran)

    def _next_timestamp(self, timestamp_ms: float | None) -> float | None:
        if timestamp_ms is not None and (isinstance(timestamp_ms, bool)
                                         or not isinstance(timestamp_ms, (int, float))
                                         or not math.isfinite(timestamp_ms)):
            raise FaceMaskError(f"timestamp_ms={timestamp_ms!r} must be a finite number of milliseconds")
        if self._options.running_mode is RunningMode.IMAGE:
            return None if timestamp_ms is None else float(timestamp_ms)
        last = self._last_timestamp_ms
        if timestamp_ms is None:
            timestamp_ms = 0.0 if last is None else last + DEFAULT_FRAME_INTERVAL_MS
        elif last is not None and timestamp_ms <= last:
            raise FaceMaskError(
                f"timestamp_ms={timestamp_ms} is not after the previous frame's {last}; VIDEO mode "
                "needs frames in time order (use RunningMode.IMAGE for unrelated images)")
        self._last_timestamp_ms = float(timestamp_ms)
        return self._last_timestamp_ms

    def reset(self) -> None:
        """Starts a new video: forgets tracked faces and the last timestamp.

        Raises:
            FaceMaskError: The detector is closed.
        """
        if self._backend is None:
            raise FaceMaskError("this FaceDetector is closed; create a new one with create_from_options")
        self._backend.reset()
        self._last_timestamp_ms = None

    def close(self) -> None:
        """Releases the models; later :meth:`process` calls raise. Safe to call twice."""
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
