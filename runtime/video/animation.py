"""Animated WebP and PNG as a frame source: OpenCV and FFmpeg decode only their first frame.
``animated`` tells an animation from a still (``deblur`` notes the animations it was given).

Frames come from Pillow, composited as a viewer shows them, at the times their durations
give, so an animation with uneven frame times keeps them in the output.

Example:
    >>> with AnimationSource(Path("loop.webp")) as source:
    ...     frames = list(source)
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from runtime.errors import SourceError
from runtime.video.frames import BaseSource, Frame, SourceEnd, SourceInfo, SourceKind

_DEFAULT_DURATION_MS = 100.0
"""A frame whose duration the file leaves out or sets to 0 shows this long (browsers' rule)."""
_ANIMATED_SUFFIXES = (".gif", ".webp", ".png", ".apng")


def animated(path: Path) -> bool:
    """Whether a GIF, WebP or PNG holds more than one frame (OpenCV and the photo path read only
    the first). A file PIL cannot open is not animated here: reading it later says what is wrong."""
    if path.suffix.lower() not in _ANIMATED_SUFFIXES:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)   # reading decides on size
            with Image.open(path) as im:
                return bool(getattr(im, "is_animated", False))
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        return False


class AnimationSource(BaseSource):
    """Every frame of an animated WebP or PNG, as RGB on black where it is transparent."""

    def __init__(self, path: Path) -> None:
        try:
            self._im = Image.open(path)
            count = int(getattr(self._im, "n_frames", 1))
        except (OSError, SyntaxError, ValueError) as e:
            raise SourceError(f"cannot decode {path}: {e}; check the file is complete") from e
        first_ms = self._duration_ms()
        self._next = 0
        self._time_ms = 0.0
        self._info = SourceInfo(SourceKind.FILE, str(path), self._im.size, 1000.0 / first_ms, count, path)

    def _duration_ms(self) -> float:
        duration = float(self._im.info.get("duration") or 0.0)
        return duration if duration > 0 else _DEFAULT_DURATION_MS

    def read(self) -> Frame | None:
        if self._end is not SourceEnd.RUNNING:
            return None
        if self._next >= (self._info.frame_count or 0):
            self._end = SourceEnd.EXHAUSTED
            self._im.close()
            return None
        try:
            self._im.seek(self._next)
            rgba = np.asarray(self._im.convert("RGBA"), np.uint16)
        except (OSError, SyntaxError, ValueError, EOFError):
            self._end = SourceEnd.TRUNCATED       # a cut-off file: what decoded so far is kept
            self._im.close()
            return None
        rgb = (rgba[..., :3] * rgba[..., 3:] + 127) // 255     # transparent parts: black
        frame = Frame(rgb.astype(np.uint8), self._next, self._time_ms)
        self._time_ms += self._duration_ms()
        self._next += 1
        return frame

    def close(self) -> None:
        super().close()
        self._im.close()
