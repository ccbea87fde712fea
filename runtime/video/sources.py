"""Frame sources: image folders, and ``open_source`` for every kind (video files: ``runtime.video.file_source``).

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
import os
import re
import stat
import sys
from pathlib import Path

import cv2

from runtime.errors import ConfigError, SourceError
from runtime.video.animation import AnimationSource, animated
from runtime.video.file_source import VideoFileSource
from runtime.video.frames import (STDIN_SPEC, BaseSource, CaptureFactory, Frame, FrameSource, SourceConfig,
                                  SourceEnd, SourceInfo, SourceKind, to_rgb)
from runtime.video.live import LiveSource, camera_factory, stream_factory

log = logging.getLogger(__name__)

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
STREAM_SCHEMES: tuple[str, ...] = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp")
"""What PyAV's bundled FFmpeg opens (it has no SRT, nor had OpenCV's)."""


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
        redirected = _stdin_file()
        if redirected is not None:      # `--source - < clip.mp4`: a file, every frame of it
            return VideoFileSource(redirected)
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


def _stdin_file() -> Path | None:
    """A name for the regular file standard input is redirected from; ``None`` for a pipe,
    a terminal or no stdin (a pipe is live: its writer may be a camera)."""
    try:
        regular = stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return None
    return Path("/dev/stdin") if regular and Path("/dev/stdin").exists() else None
