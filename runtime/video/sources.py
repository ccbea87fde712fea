"""Frame sources: video files, image folders, and ``open_source`` for every kind.

An animated WebP or PNG given as an image file plays as the animation
(``runtime.video.animation``), not as its first frame.

Files and folders yield every frame. ``open_source`` opens any kind from what the user
typed: cameras and network streams become live sources (``runtime.video.live``), which
drop stale frames and reconnect with back-off.

Example:
    >>> with open_source("clip.mp4") as source:
    ...     for frame in source:
    ...         use(frame.image_rgb)
"""
from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

import cv2
import numpy as np

from runtime.errors import ConfigError, SourceError
from runtime.video.animation import AnimationSource, animated
from runtime.video.frames import (STDIN_SPEC, BaseSource, CaptureFactory, Frame, FrameSource, SourceConfig,
                                  SourceEnd, SourceInfo, SourceKind, to_rgb)
from runtime.video.live import LiveSource, camera_factory, stream_factory

log = logging.getLogger(__name__)

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
STREAM_SCHEMES: tuple[str, ...] = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")
_FALLBACK_FPS = 30.0


class VideoFileSource(BaseSource):
    """Every frame of a local video file, decoded by OpenCV's FFmpeg backend, turned
    upright by the file's display matrix (phones store portrait clips sideways plus that
    matrix; this OpenCV build leaves auto-orientation off unless asked).

    Ends ``TRUNCATED`` when it yields clearly fewer frames than the container announces
    (a cut-off download or a recording that was never finalised).
    """

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise SourceError(f"video {path} not found; check the path")
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            if _audio_only(path):
                raise SourceError(f"{path} holds only audio, no picture; give a video file")
            raise SourceError(f"cannot decode {path}: not a video OpenCV/FFmpeg can read; "
                              "re-encode it (e.g. to H.264 mp4) or check it is complete")
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)   # a phone's portrait clip: turned as players show it
        fps = cap.get(cv2.CAP_PROP_FPS)
        if not np.isfinite(fps) or fps <= 0:
            log.warning("%s announces no frame rate; assuming %.0f fps", path, _FALLBACK_FPS)
            fps = _FALLBACK_FPS
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self._cap = cap
        self._fps = float(fps)
        self._next = 0
        self._last_ms: float | None = None
        self._info = SourceInfo(SourceKind.FILE, str(path), size, float(fps),
                                count if count > 0 else None, path)

    def read(self) -> Frame | None:
        if self._end is not SourceEnd.RUNNING:
            return None
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            self._finish()
            return None
        frame = Frame(to_rgb(bgr), self._next, self._frame_time_ms())
        self._last_ms = frame.timestamp_ms
        self._next += 1
        return frame

    def _frame_time_ms(self) -> float:
        """The decoded frame's own time (a phone's variable frame rate leaves uneven gaps that
        the audio follows); one nominal frame after the last where the file's times are
        missing or go backwards."""
        pos_ms = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        if self._last_ms is None:
            return pos_ms if np.isfinite(pos_ms) and pos_ms >= 0 else 0.0
        return pos_ms if np.isfinite(pos_ms) and pos_ms > self._last_ms else self._last_ms + 1000.0 / self._fps

    def _finish(self) -> None:
        expected = self._info.frame_count
        if expected is not None and self._next < 0.95 * expected - 1:
            self._end = SourceEnd.TRUNCATED
            log.info("%s ended after %d of the %d frames it announces; the file is probably "
                        "truncated, output stops there", self._info.uri, self._next, expected)
        else:
            self._end = SourceEnd.EXHAUSTED
        self._cap.release()

    def close(self) -> None:
        super().close()
        self._cap.release()


def _audio_only(path: Path) -> bool:
    """Whether FFmpeg finds audio streams and no video in ``path`` (a song or a voice memo)."""
    import av  # only on this error path

    try:
        with av.open(str(path)) as container:
            return not container.streams.video and bool(container.streams.audio)
    except (av.FFmpegError, OSError, ValueError):
        return False


class ImageFolderSource(BaseSource):
    """Still images in name order (a folder, or a single image file).

    Unreadable files are skipped and listed in ``skipped`` (``run`` reports them at the end),
    so one bad photo does not stop a batch.
    """

    def __init__(self, paths: list[Path], uri: str) -> None:
        if not paths:
            raise SourceError(f"no images in {uri}; expected files ending in "
                              f"{', '.join(IMAGE_SUFFIXES)}")
        self._paths = paths
        self._pos = 0
        self._emitted = 0
        self.skipped: list[Path] = []
        self._info = SourceInfo(SourceKind.FOLDER, uri, None, None, len(paths))

    @classmethod
    def from_path(cls, path: Path) -> ImageFolderSource:
        """All images directly inside a folder, or one image file."""
        if path.is_dir():
            files = sorted(p for p in path.iterdir()
                           if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            return cls(files, str(path))
        return cls([path], str(path))

    def sizes(self) -> dict[tuple[int, int], list[Path]]:
        """The images by upright size (width, height), read from their headers (EXIF orientation
        applied, as decoding applies it); unreadable files are left to ``read`` to skip."""
        from PIL import Image

        found: dict[tuple[int, int], list[Path]] = {}
        for path in self._paths:
            try:
                with Image.open(path) as im:
                    w, h = im.size
                    turned = int(im.getexif().get(0x0112, 1) or 1) in (5, 6, 7, 8)
            except (OSError, SyntaxError, ValueError):
                continue
            found.setdefault((h, w) if turned else (w, h), []).append(path)
        return found

    def read(self) -> Frame | None:
        while self._pos < len(self._paths):
            path = self._paths[self._pos]
            self._pos += 1
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                log.debug("skipping %s: not an image OpenCV can decode", path)   # `run` lists them
                self.skipped.append(path)
                continue
            frame = Frame(to_rgb(bgr), self._emitted, float(self._emitted), path.name)
            self._emitted += 1
            return frame
        if self._end is SourceEnd.RUNNING:
            self._end = SourceEnd.EXHAUSTED
        return None


def classify_source(spec: str) -> SourceKind:
    """Tell what kind of source ``spec`` names, without opening it.

    Digits or ``/dev/video*`` are cameras, ``scheme://`` URLs and ``-`` (stdin) are streams,
    folders and image files are folder sources, anything else is a video file.
    """
    if spec == STDIN_SPEC:
        return SourceKind.STREAM
    if spec.isdigit() or re.fullmatch(r"/dev/video\d+", spec):
        return SourceKind.CAMERA
    scheme = spec.split("://", 1)[0].lower() if "://" in spec else ""
    if scheme in STREAM_SCHEMES:
        return SourceKind.STREAM
    if scheme:
        raise ConfigError(f"`spec` {spec}: unsupported scheme {scheme!r}; use one of "
                          f"{', '.join(STREAM_SCHEMES)}")
    path = Path(spec)
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return SourceKind.FOLDER
    return SourceKind.FILE


def open_source(spec: str, config: SourceConfig = SourceConfig(),
                capture_factory: CaptureFactory | None = None) -> FrameSource:
    """Open a camera index/device, stream URL, video file, image folder or image file.

    Args:
        spec: ``"0"``, ``"/dev/video2"``, ``"rtsp://host/cam"``, ``"-"`` (a video piped to
            stdin), ``"clip.mp4"``, ``"photos/"``.
        config: live-source retry settings.
        capture_factory: overrides how a live capture is opened (tests, custom backends).

    Raises:
        SourceError: the source does not exist or cannot be opened.
        ConfigError: the URL scheme is not supported.
    """
    kind = classify_source(spec)
    if kind is SourceKind.CAMERA:
        device: int | str = int(spec) if spec.isdigit() else spec
        node = Path(f"/dev/video{device}" if isinstance(device, int) else device)
        if capture_factory is None and sys.platform.startswith("linux") and not node.exists():
            raise SourceError(f"--source {spec}: no camera {node} on this machine; plug one in or pick "
                              "another (`ls /dev/video*` lists them)")
        return LiveSource(capture_factory or camera_factory(device, config), kind, spec, config)
    if spec == STDIN_SPEC:
        from runtime.video.pipe import PipeSource  # PyAV: only for this source
        return PipeSource(config=config)
    if kind is SourceKind.STREAM:
        return LiveSource(capture_factory or stream_factory(spec, config), kind, spec, config)
    path = Path(spec)
    if not path.exists():
        raise SourceError(f"`spec` {spec} not found; give a camera index (0), /dev/videoN, "
                          "a video file, an image folder or an rtsp:// / http:// URL")
    if kind is SourceKind.FOLDER:
        if path.is_file() and animated(path):
            return AnimationSource(path)
        return ImageFolderSource.from_path(path)
    return VideoFileSource(path)
