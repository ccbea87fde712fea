"""The streaming loop: frames from a source, through a pipeline, into sinks.

``run_stream`` decodes the next frame and encodes the previous one on worker threads
(bounded queues, frame order kept) while the pipeline processes the current one, records
per-frame statistics, and finalises every sink on the way out, also on errors, so a run
that stops early still leaves playable output.

Example:
    >>> with open_source("clip.mp4") as source, FacePriorityPipeline(config) as pipe:
    ...     report = run_stream(source, pipe, [VideoFileSink(Path("out.mp4"))])
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from runtime.video.frames import Frame, FrameSource, SourceEnd
from runtime.video.pipeline import FacePriorityPipeline, FrameResult
from runtime.video.sinks import Sink, SinkResult
from runtime.video.stats import RunStats, StatsRecorder


@dataclass(frozen=True, slots=True)
class StreamReport:
    """How a run over a whole source went.

    Attributes:
        stats: frames, fps, stage latencies, drops and model load.
        end: why the source stopped (``RUNNING`` when the run was stopped from outside).
        outputs: one result per sink, in the order given (every sink is finalised).
    """

    stats: RunStats
    end: SourceEnd
    outputs: tuple[SinkResult, ...]


FrameCallback = Callable[[FrameResult, StatsRecorder], None]
"""Called after each frame is written (progress bars, live statistics)."""

_QUEUE_FRAMES = 4
"""Frames decoded ahead / waiting to be encoded: bounded, so memory stays flat."""


class _DecodeAhead:
    """Decodes frames ahead on a thread; ``read()`` returns (frame or None, decode ms)."""

    def __init__(self, source: FrameSource) -> None:
        self._source = source
        self._queue: queue.Queue[tuple[Frame | None, float] | BaseException] = queue.Queue(_QUEUE_FRAMES)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="decode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                t = time.perf_counter()
                frame = self._source.read()
                if not self._put((frame, (time.perf_counter() - t) * 1e3)) or frame is None:
                    return
        except BaseException as e:  # handed to the main thread, which raises it
            self._put(e)

    def _put(self, item: tuple[Frame | None, float] | BaseException) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read(self) -> tuple[Frame | None, float]:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class _EncodeBehind:
    """Writes frames to the sinks on a thread and records each frame's statistics there."""

    def __init__(self, sinks: Sequence[Sink], recorder: StatsRecorder, on_frame: FrameCallback | None) -> None:
        self._sinks, self._recorder, self._on_frame = sinks, recorder, on_frame
        self._queue: queue.Queue[tuple[Frame, FrameResult, float, int] | None] = queue.Queue(_QUEUE_FRAMES)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="encode", daemon=True)
        self._thread.start()

    def submit(self, frame: Frame, result: FrameResult, decode_ms: float, dropped: int) -> None:
        """Queue one processed frame; blocks while the queue is full."""
        while self.error is None:
            try:
                self._queue.put((frame, result, decode_ms, dropped), timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.error is None:
                try:
                    _write_frame(self._sinks, self._recorder, self._on_frame, *item)
                except BaseException as e:  # raised again by run_stream
                    self.error = e

    def finish(self) -> None:
        """Write what is queued, then stop."""
        self._queue.put(None)
        self._thread.join()


def _write_frame(sinks: Sequence[Sink], recorder: StatsRecorder, on_frame: FrameCallback | None,
          frame: Frame, result: FrameResult, decode_ms: float, dropped: int) -> None:
    """Write one processed frame to every sink, then record its statistics."""
    t = time.perf_counter()
    out = replace(frame, image_rgb=result.image_rgb)
    for sink in sinks:
        sink.write(out)
    times = replace(result.times, decode_ms=decode_ms, encode_ms=(time.perf_counter() - t) * 1e3)
    recorder.add(times, result.model_pixels, len(result.faces),
                 result.strengths.blur.tolist(), result.strengths.strength.tolist())
    recorder.set_dropped(dropped)
    if on_frame is not None:
        on_frame(result, recorder)


def run_stream(source: FrameSource, pipeline: FacePriorityPipeline, sinks: Sequence[Sink] = (), *,
               recorder: StatsRecorder | None = None, on_frame: FrameCallback | None = None,
               should_stop: Callable[[], bool] | None = None, max_frames: int | None = None,
               overlap_io: bool = True) -> StreamReport:
    """Read, process and write frames until the source ends or ``should_stop()`` says so.

    With ``overlap_io`` the next frame is decoded (files and folders; live sources have
    their own reader) and the previous one encoded on worker threads while this one is
    processed, so decode and encode leave the critical path; sinks and ``on_frame`` then
    run on the encode thread, in frame order. Every sink is closed (finalised) on the way
    out, also when an error propagates, so a recording that stops early is still a
    playable file.

    Args:
        source: where frames come from.
        pipeline: the per-frame processor.
        sinks: where processed frames go (video file, image folder, preview).
        recorder: collects statistics; a fresh one if ``None``.
        on_frame: called after each frame is written.
        should_stop: polled before each frame; ``True`` ends the run cleanly.
        max_frames: stop after this many frames.
        overlap_io: decode and encode on worker threads (False: all on the calling
            thread, e.g. for a GUI preview that must stay there).

    Raises:
        EdgeDeblurError, FaceMaskError: processing or writing failed (sinks are finalised first).
    """
    recorder = recorder or StatsRecorder()
    decoder = _DecodeAhead(source) if overlap_io and not source.info.live else None
    encoder = _EncodeBehind(sinks, recorder, on_frame) if overlap_io else None
    outputs: list[SinkResult] = []
    count = 0
    recorder.start()
    try:
        while not (should_stop and should_stop()) and (max_frames is None or count < max_frames):
            if encoder is not None and encoder.error is not None:
                break
            t = time.perf_counter()
            frame, decode_ms = decoder.read() if decoder is not None else (
                source.read(), (time.perf_counter() - t) * 1e3)
            if frame is None:
                break
            result = pipeline.process(frame)
            count += 1
            if encoder is not None:
                encoder.submit(frame, result, decode_ms, source.dropped_frames)
            else:
                _write_frame(sinks, recorder, on_frame, frame, result, decode_ms, source.dropped_frames)
    finally:
        if decoder is not None:
            decoder.stop()
        if encoder is not None:
            encoder.finish()
        for sink in sinks:
            outputs.append(sink.close())
    if encoder is not None and encoder.error is not None:
        raise encoder.error
    return StreamReport(recorder.summary(), source.end, tuple(outputs))
