"""A local video file as a frame source, decoded by PyAV (FFmpeg).

Frames come upright (a phone's portrait clip is stored sideways plus a display matrix), in
RGB made with BT.601 coefficients: bit for bit what OpenCV's FFmpeg backend gives, and what
the video sink converts back with. 8-bit 4:2:0 files, nearly every camera's, also hand each
frame the samples it was decoded from (``Frame.decoded``), so a sink re-encodes what the
run left alone from those samples instead of converting it twice (``runtime.video.yuv``).

Example:
    >>> with VideoFileSource(Path("clip.mp4")) as source:
    ...     for frame in source:
    ...         use(frame.image_rgb)
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from runtime.errors import SourceError
from runtime.video.frames import BaseSource, Frame, SourceEnd, SourceInfo, SourceKind
from runtime.video.yuv import decoded_pixels

log = logging.getLogger(__name__)

_FALLBACK_FPS = 30.0


class VideoFileSource(BaseSource):
    """Every frame of a local video file, each at its own presentation time (a phone's
    variable frame rate leaves uneven gaps that the audio follows).

    Ends ``TRUNCATED`` when it yields clearly fewer frames than the container announces, or
    the file breaks off mid-stream (a cut-off download or a recording never finalised).

    Raises:
        SourceError: the file is missing, holds only audio, or has no frame FFmpeg can decode.
    """

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise SourceError(f"video {path} not found; check the path")
        import av  # heavy; only video files need it

        self._av = av
        self._uri = str(path)
        try:
            self._container = av.open(str(path))
        except (av.FFmpegError, OSError, ValueError) as e:
            raise _undecodable(path) from e
        if not self._container.streams.video:
            audio = bool(self._container.streams.audio)
            self._container.close()
            raise (SourceError(f"{path} holds only audio, no picture; give a video file") if audio
                   else _undecodable(path))
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        self._stream = stream
        self._frames: Iterator[Any] = self._decoded()
        self._broken = False
        self._damaged = 0
        self._pending = self._decode()
        if self._pending is None:
            self._container.close()
            raise _undecodable(path)
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 0.0
        if not np.isfinite(fps) or fps <= 0:
            log.warning("%s announces no frame rate; assuming %.0f fps", path, _FALLBACK_FPS)
            fps = _FALLBACK_FPS
        self._fps = fps
        self._quarters = round(float(self._pending.rotation or 0) / 90) % 4
        w, h = self._pending.width, self._pending.height
        size = (h, w) if self._quarters % 2 else (w, h)
        self._start = stream.start_time or 0
        self._next = 0
        self._last_ms: float | None = None
        self._info = SourceInfo(SourceKind.FILE, self._uri, size, fps, self._announced(fps), path)

    def _announced(self, fps: float) -> int | None:
        """Frames the container stores, or its duration at ``fps`` (as OpenCV counts)."""
        if self._stream.frames:
            return int(self._stream.frames)
        if self._stream.duration and self._stream.time_base:
            return int(round(float(self._stream.duration * self._stream.time_base) * fps))
        if self._container.duration:
            return int(round(self._container.duration / 1e6 * fps))
        return None

    def _decoded(self) -> Iterator[Any]:
        """Frames packet by packet: a damaged packet is skipped (FFmpeg conceals what it can in
        the frames that follow) instead of ending the video there."""
        for packet in self._container.demux(self._stream):
            try:
                yield from packet.decode()
            except self._av.InvalidDataError as e:
                self._damaged += 1
                log.debug("%s: skipped a damaged packet at %s: %s", self._uri, packet.pts, e)

    def _decode(self) -> Any | None:
        """The next decoded frame; ``None`` at the end or where the file breaks off."""
        try:
            return next(self._frames)
        except StopIteration:
            return None
        except (self._av.FFmpegError, OSError) as e:
            log.info("%s: decoding stopped: %s", self._uri, e)
            self._broken = True
            return None

    def read(self) -> Frame | None:
        if self._end is not SourceEnd.RUNNING:
            return None
        decoded, self._pending = self._pending or self._decode(), None
        if decoded is None:
            self._finish()
            return None
        rgb, carried = decoded_pixels(decoded, self._quarters)
        frame = Frame(rgb, self._next, self._frame_time_ms(decoded), decoded=carried)
        self._last_ms = frame.timestamp_ms
        self._next += 1
        return frame

    def _frame_time_ms(self, decoded: Any) -> float:
        """The frame's own time from the stream's start; one nominal frame after the last
        where the file's times are missing or go backwards."""
        pts, base = decoded.pts, decoded.time_base
        ms = float((pts - self._start) * base * 1000) if pts is not None and base else None
        if self._last_ms is None:
            return ms if ms is not None and ms >= 0 else 0.0
        return ms if ms is not None and ms > self._last_ms else self._last_ms + 1000.0 / self._fps

    def _finish(self) -> None:
        expected = self._info.frame_count
        if self._broken or (expected is not None and self._next < 0.95 * expected - 1):
            self._end = SourceEnd.TRUNCATED
            log.info("%s ended after %d of the %s frames it announces; the file is probably truncated, "
                     "output stops there", self._uri, self._next, expected or "?")
        else:
            self._end = SourceEnd.EXHAUSTED
        if self._damaged:
            log.warning("%s: %d damaged packets skipped; the frames around them may show blocks",
                        self._uri, self._damaged)
        self._container.close()

    def close(self) -> None:
        super().close()
        self._container.close()


def _undecodable(path: Path) -> SourceError:
    return SourceError(f"cannot decode {path}: not a video FFmpeg can read; "
                       "re-encode it (e.g. to H.264 mp4) or check it is complete")
