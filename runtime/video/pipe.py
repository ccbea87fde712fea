"""A video stream on standard input (``--source -``), decoded by PyAV's FFmpeg.

This is how a Raspberry Pi camera reaches the runtime through libcamera:
``rpicam-vid -t 0 -n --codec h264 -o - | edgedeblur run --source - ...`` (raw H.264; MJPEG
and containers FFmpeg can read from a pipe work too). It is a live source: the newest frame
wins and a slow model drops frames instead of letting the pipe back up. A pipe cannot be
reopened, so the source ends when the writer closes it.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from typing import BinaryIO

from runtime.errors import SourceError
from runtime.video.av_capture import AVCapture
from runtime.video.frames import STDIN_SPEC, SourceConfig, SourceEnd, SourceKind
from runtime.video.live import LiveSource


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
        self._pipe = AVCapture(stream, "stdin")
        if not self._pipe.isOpened():
            raise SourceError("stdin carries no video FFmpeg can decode; pipe raw H.264 or MJPEG "
                              "(rpicam-vid --codec h264|mjpeg -o -) or a streamable container")
        # a pipe cannot be reopened: no retries
        super().__init__(lambda: self._pipe, SourceKind.STREAM, STDIN_SPEC, replace(config, max_retries=0))

    def _set_end(self, end: SourceEnd) -> None:
        super()._set_end(SourceEnd.EXHAUSTED if end is SourceEnd.LOST and self._pipe.ended else end)
