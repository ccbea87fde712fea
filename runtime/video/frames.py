"""The frame and source types every video module shares: Frame, SourceInfo, SourceEnd, BaseSource.

Kept apart from the concrete sources so that files/folders (``sources``) and cameras/streams
(``live``) both build on them without importing each other.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Iterator, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.errors import ConfigError

STDIN_SPEC = "-"
"""The source spec of a video stream piped to standard input (``runtime.video.pipe``)."""


class SourceKind(str, enum.Enum):
    """Where frames come from."""

    CAMERA = "camera"
    FILE = "file"
    STREAM = "stream"
    FOLDER = "folder"


class SourceEnd(str, enum.Enum):
    """Why a source stopped giving frames (``RUNNING`` while it still does)."""

    RUNNING = "running"
    EXHAUSTED = "exhausted"
    TRUNCATED = "truncated"
    LOST = "lost"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame.

    Attributes:
        image_rgb: HxWx3 uint8 RGB, C-contiguous.
        index: position in the source's own sequence, from 0; gaps mean dropped frames.
        timestamp_ms: presentation time, increasing within one source (files: the frame's
            own time, which phones' variable frame rates make uneven; live sources: capture
            time since the source opened; folders: the index).
        name: file name for folder sources (sinks reuse it), else ``None``.
        decoded: the video samples ``image_rgb`` was made from (8-bit 4:2:0 files and stdin), kept on
            the processed frame so that a video sink writes them back where the run changed
            nothing; ``None`` for other sources.
    """

    image_rgb: NDArray[np.uint8]
    index: int
    timestamp_ms: float
    name: str | None = None
    decoded: DecodedSamples | None = None


@dataclass(frozen=True, slots=True)
class DecodedSamples:
    """A decoded video frame's 8-bit 4:2:0 samples and the RGB made from them.

    Converting YUV to RGB and back is not lossless (4:2:0 chroma, rounding), not even at
    crf 0. With these the sink skips that round trip for every pixel whose output RGB is
    still ``rgb`` (``runtime.video.yuv``).

    Attributes:
        i420: (H * 3 / 2, W) uint8: the Y plane, then U and V at half size, as PyAV packs them.
        rgb: the decoded HxWx3 RGB (the source frame's ``image_rgb``, not a copy).
    """

    i420: NDArray[np.uint8]
    rgb: NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What is known about a source once it is open.

    Attributes:
        kind: camera, file, stream or folder.
        uri: what the user gave (index, path or URL), for messages.
        size_wh: frame size (width, height) in pixels; ``None`` for folders of mixed sizes.
        fps: nominal frame rate; ``None`` for folders.
        frame_count: frames the container announces (files, folders), else ``None``.
        path: the local file behind a FILE source (audio pass-through reads it).
    """

    kind: SourceKind
    uri: str
    size_wh: tuple[int, int] | None
    fps: float | None
    frame_count: int | None
    path: Path | None = None

    @property
    def live(self) -> bool:
        """Live sources drop stale frames; files and folders never do."""
        return self.kind in (SourceKind.CAMERA, SourceKind.STREAM)

    @property
    def sequential(self) -> bool:
        """Consecutive frames show the same scene (face tracking may carry over)."""
        return self.kind is not SourceKind.FOLDER


class FrameSource(Protocol):
    """Anything that yields frames; ``read()`` returns ``None`` once ``end`` is set."""

    @property
    def info(self) -> SourceInfo: ...

    @property
    def end(self) -> SourceEnd: ...

    @property
    def dropped_frames(self) -> int: ...

    def read(self) -> Frame | None: ...

    def close(self) -> None: ...

    def __iter__(self) -> Iterator[Frame]: ...

    def __enter__(self) -> FrameSource: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


class Capture(Protocol):
    """The subset of ``cv2.VideoCapture`` that live sources use (tests inject fakes)."""

    def isOpened(self) -> bool: ...  # noqa: N802 - OpenCV's name

    def read(self) -> tuple[bool, Any]:
        """Whether a frame came, and the frame as the source's ``_frame`` takes it (OpenCV: a BGR
        array; ``runtime.video.av_capture``: a PyAV frame)."""

    def get(self, prop_id: int) -> float: ...

    def release(self) -> None: ...


CaptureFactory = Callable[[], Capture]
"""Opens a fresh capture each call (first open and every reconnect)."""


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """How live sources open and recover.

    Attributes:
        max_retries: reopen attempts after a failure before giving up (0 = none).
        backoff_s: wait before the first retry; doubles each attempt up to ``backoff_max_s``.
        backoff_max_s: longest wait between retries.
        stall_timeout_s: a live source that gives no frame for this long counts as failed.
        size_wh: frame size to ask a camera for, or ``None`` for its default.
    """

    max_retries: int = 5
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0
    stall_timeout_s: float = 5.0
    size_wh: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigError(f"max_retries={self.max_retries} must be >= 0")
        if self.backoff_s < 0 or self.backoff_max_s < self.backoff_s:
            raise ConfigError("backoff_s must be >= 0 and backoff_max_s >= backoff_s")
        if self.stall_timeout_s <= 0:
            raise ConfigError(f"stall_timeout_s={self.stall_timeout_s} must be > 0")
        if self.size_wh is not None and min(self.size_wh) <= 0:
            raise ConfigError(f"camera size {self.size_wh} must be positive (width, height)")


class BaseSource:
    """Iteration and context-manager plumbing shared by every source."""

    _info: SourceInfo
    _end: SourceEnd = SourceEnd.RUNNING

    @property
    def info(self) -> SourceInfo:
        return self._info

    @property
    def end(self) -> SourceEnd:
        return self._end

    @property
    def dropped_frames(self) -> int:
        return 0

    def read(self) -> Frame | None:
        raise NotImplementedError

    def close(self) -> None:
        if self._end is SourceEnd.RUNNING:
            self._end = SourceEnd.CLOSED

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self) -> BaseSource:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def to_rgb(bgr: NDArray[np.uint8]) -> NDArray[np.uint8]:
    if bgr.ndim == 2:
        return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    if bgr.shape[2] == 4:
        return cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
