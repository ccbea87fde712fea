"""Live sources: cameras and network streams, read by a thread that keeps the newest frame.

A slow consumer sees fresh frames and the skipped ones are counted as dropped instead of
piling up in a queue. A live source that stops delivering (and a stream that fails to
open: its server may be starting) is reopened with exponential back-off; when the retries
run out it ends cleanly (``read()`` returns ``None``, ``end`` says why), so the caller can
finalise its recording. A camera that does not open fails at once: retrying helps a camera
that was there and dropped, not one that is absent or busy. Cameras are read by OpenCV,
network streams by PyAV (``runtime.video.av_capture``: their frames carry the samples they
were decoded from). Open one with ``runtime.video.sources.open_source``.

Example:
    >>> with LiveSource(camera_factory(0, SourceConfig()), SourceKind.CAMERA, "0") as source:
    ...     frame = source.read()
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

import cv2
import numpy as np

from runtime.errors import SourceError
from runtime.video.frames import (BaseSource, Capture, CaptureFactory, Frame, SourceConfig, SourceEnd, SourceInfo,
                                  SourceKind, to_rgb)
from runtime.video.yuv import decoded_pixels

log = logging.getLogger(__name__)


class LiveSource(BaseSource):
    """A camera or network stream read by a background thread; the newest frame wins.

    Args:
        factory: opens the capture (called again for every reconnect).
        kind: CAMERA or STREAM.
        uri: what the user gave, for messages.
        config: retry, back-off and stall settings.

    Raises:
        SourceError: the capture cannot be opened (a stream: even after ``config.max_retries``
            retries; a camera: at the first attempt).
    """

    def __init__(self, factory: CaptureFactory, kind: SourceKind, uri: str,
                 config: SourceConfig = SourceConfig()) -> None:
        self._factory = factory
        self._config = config
        self._uri = uri
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._latest: Any = None
        self._latest_seq = -1
        self._latest_ms = 0.0
        self._consumed_seq = -1
        self._seq = -1
        self._dropped = 0
        self._last_frame_at = time.monotonic()
        self._reconnecting = False
        self._t0 = time.monotonic()
        retries = 0 if kind is SourceKind.CAMERA else config.max_retries
        cap = self._open_with_retries(reconnect=False, retries=retries)
        if cap is None:
            tried = f" after {retries} retries" if retries else ""
            raise SourceError(f"cannot open {kind.value} {uri}{tried}; check it is connected, not used by "
                              "another program, and that the index/URL is right")
        self._cap = cap
        self._last_frame_at = time.monotonic()
        size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        fps = cap.get(cv2.CAP_PROP_FPS)
        self._info = SourceInfo(kind, uri, size if min(size) > 0 else None,
                                float(fps) if np.isfinite(fps) and fps > 0 else None, None)
        self._thread = threading.Thread(target=self._reader, name=f"capture-{uri}", daemon=True)
        self._thread.start()

    @property
    def dropped_frames(self) -> int:
        with self._cond:
            return self._dropped

    def _open_with_retries(self, *, reconnect: bool, retries: int | None = None) -> Capture | None:
        """Open the capture: at once plus ``retries`` retries (first open), or
        ``max_retries`` attempts each after a back-off wait (reconnect)."""
        retries = self._config.max_retries if retries is None else retries
        delay = self._config.backoff_s
        for attempt in range(1 if reconnect else 0, retries + 1):
            if attempt:
                log.warning("%s: reconnect attempt %d/%d in %.1f s", self._uri, attempt, retries, delay)
                if self._stop.wait(delay):
                    return None
                delay = min(delay * 2, self._config.backoff_max_s)
            try:
                cap = self._factory()
            except cv2.error as e:
                log.warning("%s: open failed: %s", self._uri, e)
                continue
            if cap.isOpened():
                return cap
            cap.release()
        return None

    def _reader(self) -> None:
        cap: Capture | None = self._cap
        while not self._stop.is_set() and cap is not None:
            ok, bgr = cap.read()
            if ok and bgr is not None:
                now = time.monotonic()
                with self._cond:
                    self._seq += 1
                    if self._latest_seq > self._consumed_seq:
                        self._dropped += 1
                    self._latest, self._latest_seq = bgr, self._seq
                    self._latest_ms = (now - self._t0) * 1000.0
                    self._last_frame_at = now
                    self._cond.notify_all()
                continue
            if self._stop.is_set():
                break
            if self._config.max_retries == 0:        # cannot be reopened (a pipe): it ends here
                with self._cond:
                    self._set_end(SourceEnd.LOST)
                break
            log.warning("%s stopped delivering frames; reconnecting", self._uri)
            cap.release()
            with self._cond:
                self._reconnecting = True
            cap = self._open_with_retries(reconnect=True)
            with self._cond:
                self._reconnecting = False
                self._last_frame_at = time.monotonic()
                if cap is None:
                    self._set_end(SourceEnd.LOST)
        if cap is not None:
            cap.release()

    def _set_end(self, end: SourceEnd) -> None:
        """Record why the source stopped; caller holds ``self._cond``."""
        if self._end is SourceEnd.RUNNING:
            self._end = end
            if end is SourceEnd.LOST:
                log.info("%s lost after %d reconnect attempts; stopping", self._uri,
                            self._config.max_retries)
        self._cond.notify_all()

    def read(self) -> Frame | None:
        with self._cond:
            while self._latest_seq <= self._consumed_seq and self._end is SourceEnd.RUNNING:
                stalled = time.monotonic() - self._last_frame_at > self._config.stall_timeout_s
                if stalled and not self._reconnecting:
                    # the capture blocks inside read(); nothing will arrive
                    self._set_end(SourceEnd.LOST)
                    break
                self._cond.wait(timeout=0.05)
            if self._latest_seq <= self._consumed_seq or self._latest is None:
                return None
            image, seq, ts = self._latest, self._latest_seq, self._latest_ms
            self._consumed_seq = seq
        return self._frame(image, seq, ts)

    def _frame(self, image: Any, seq: int, timestamp_ms: float) -> Frame:
        """The frame of what the capture read: OpenCV's BGR array, or a PyAV frame made RGB as
        a file's is, with its samples for the sink (``runtime.video.yuv``). The consumer makes
        it, so a frame dropped for a fresher one is never converted."""
        if isinstance(image, np.ndarray):
            return Frame(to_rgb(image), seq, timestamp_ms)
        rgb, samples = decoded_pixels(image)
        return Frame(rgb, seq, timestamp_ms, decoded=samples)

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._set_end(SourceEnd.CLOSED)
        self._thread.join(timeout=2.0)


def camera_factory(device: int | str, config: SourceConfig) -> CaptureFactory:
    """Opens camera ``device`` (index or ``/dev/videoN``) at ``config.size_wh``, buffering one frame."""
    def open_camera() -> Capture:
        cap = cv2.VideoCapture(device)
        if config.size_wh is not None:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, config.size_wh[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, config.size_wh[1])
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return cap
    return open_camera


def stream_factory(url: str, config: SourceConfig) -> CaptureFactory:
    """Opens ``url`` with PyAV's FFmpeg (frames carry their samples); open and read give up
    after ``config.stall_timeout_s``."""
    def open_stream() -> Capture:
        from runtime.video.av_capture import AVCapture  # PyAV: only streams need it

        return AVCapture(url, url, config.stall_timeout_s)
    return open_stream
