"""A live capture decoded by PyAV's FFmpeg: network streams and video piped to stdin.

Frames stay PyAV frames until the consumer takes one, so a frame dropped for a fresher one
is never converted; the one taken becomes RGB as a file's does, with the YUV samples it was
decoded from, so a recording keeps the camera's own samples wherever the run changed nothing
(``runtime.video.yuv``). It is the ``Capture`` that ``runtime.video.live.LiveSource`` reads.
"""
from __future__ import annotations

import logging
from typing import Any, BinaryIO, Iterator

import av
import cv2

log = logging.getLogger(__name__)

_RTSP_OPTIONS = {"rtsp_transport": "tcp"}
"""RTSP over TCP, as OpenCV opens it: over UDP a lossy Wi-Fi link tears frames instead of delaying them."""


class AVCapture:
    """The ``Capture`` interface over a URL or a byte stream FFmpeg probes.

    Args:
        target: a ``scheme://`` URL or a readable binary stream (stdin).
        label: what the user gave, for messages.
        timeout_s: how long opening or one read may block (URLs only; a pipe blocks until
            its writer sends or closes).

    ``ended`` says the stream reached its end (rather than failed).
    """

    def __init__(self, target: str | BinaryIO, label: str, timeout_s: float | None = None) -> None:
        self._label = label
        self._frames: Iterator[av.VideoFrame] | None = None
        self._container: Any = None
        self._props: dict[int, float] = {}
        self.ended = False
        url = isinstance(target, str)
        options = _RTSP_OPTIONS if url and target.lower().startswith("rtsp") else {}
        try:
            self._container = av.open(target, mode="r", options=options,
                                      timeout=(timeout_s, timeout_s) if url and timeout_s else None)
            video = self._container.streams.video[0]
        except (av.FFmpegError, IndexError, OSError) as e:
            log.warning("%s: FFmpeg cannot open it as video (%s)", label, e)
            self.release()
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
        except (av.FFmpegError, OSError) as e:
            log.warning("%s: reading failed: %s", self._label, e)
            return False, None
        return True, frame

    def get(self, prop_id: int) -> float:
        return self._props.get(prop_id, 0.0)

    def release(self) -> None:
        self._frames = None
        if self._container is not None:
            self._container.close()
            self._container = None
