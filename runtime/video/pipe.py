"""A video stream on standard input (``--source -``), decoded by PyAV's FFmpeg.

This is how a Raspberry Pi camera reaches the runtime through libcamera:
``rpicam-vid -t 0 -n --codec h264 -o - | edgedeblur run --source - ...`` (raw H.264; MJPEG
and containers FFmpeg can read from a pipe work too). It is a live source: the newest frame
wins and a slow model drops frames instead of letting the pipe back up. A pipe cannot be
reopened, so the source ends when the writer closes it.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import replace
from typing import Any, BinaryIO, Iterator

import av
import cv2

from runtime.errors import SourceError
from runtime.video.frames import STDIN_SPEC, Frame, SourceConfig, SourceEnd, SourceKind
from runtime.video.live import LiveSource
from runtime.video.yuv import decoded_pixels

log = logging.getLogger(__name__)


class PipeCapture:
    """The ``Capture`` interface live sources use, over a byte stream FFmpeg probes;
    ``ended`` says the stream reached its end (rather than failed)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._frames: Iterator[av.VideoFrame] | None = None
        self._props: dict[int, float] = {}
        self.ended = False
        try:
            self._container = av.open(stream, mode="r")
            video = self._container.streams.video[0]
        except (av.FFmpegError, IndexError) as e:
            log.warning("stdin: not a video stream FFmpeg can decode (%s)", e)
            self._container = None
            return
        rate = video.average_rate or video.guessed_rate
        self._props = {cv2.CAP_PROP_FRAME_WIDTH: float(video.codec_context.width),
                       cv2.CAP_PROP_FRAME_HEIGHT: float(video.codec_context.height),
                       cv2.CAP_PROP_FPS: float(rate) if rate else 0.0}
        self._frames = self._container.decode(video)

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self._frames is not None

    def read(self) -> tuple[bool, av.VideoFrame | None]:
        if self._frames is None:
            return False, None
        try:
            frame = next(self._frames)
        except StopIteration:
            self.ended = True
            return False, None
        except av.FFmpegError as e:
            log.warning("stdin: decoding failed: %s", e)
            return False, None
        return True, frame          # PipeSource._frame converts the ones it does not drop

    def get(self, prop_id: int) -> float:
        return self._props.get(prop_id, 0.0)

    def release(self) -> None:
        self._frames = None
        if self._container is not None:
            self._container.close()
            self._container = None


class PipeSource(LiveSource):
    """Standard input (or ``stream``) as a live source that ends ``EXHAUSTED`` when the
    writer closes the pipe; a stall or a decoding error ends it ``LOST``.

    Raises:
        SourceError: stdin is a terminal, or what arrives is not a video FFmpeg can decode.
    """

    def __init__(self, stream: BinaryIO | None = None, config: SourceConfig = SourceConfig()) -> None:
        if stream is None:
            if sys.stdin is None or sys.stdin.isatty():
                raise SourceError(f"`spec` {STDIN_SPEC} reads a video stream from a pipe, e.g. "
                                  f"'rpicam-vid -t 0 -n -o - | edgedeblur run --source {STDIN_SPEC} ...'")
            stream = sys.stdin.buffer
        self._pipe = PipeCapture(stream)
        if not self._pipe.isOpened():
            raise SourceError("stdin carries no video FFmpeg can decode; pipe raw H.264 or MJPEG "
                              "(rpicam-vid --codec h264|mjpeg -o -) or a streamable container")
        # a pipe cannot be reopened: no retries
        super().__init__(lambda: self._pipe, SourceKind.STREAM, STDIN_SPEC, replace(config, max_retries=0))

    def _frame(self, image: Any, seq: int, timestamp_ms: float) -> Frame:
        """RGB as a file's is made, with the stream's samples for the sink (``runtime.video.yuv``)."""
        rgb, samples = decoded_pixels(image)
        return Frame(rgb, seq, timestamp_ms, decoded=samples)

    def _set_end(self, end: SourceEnd) -> None:
        super()._set_end(SourceEnd.EXHAUSTED if end is SourceEnd.LOST and self._pipe.ended else end)
