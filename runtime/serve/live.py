"""The live page's one pipeline: a camera, stream or looping file through face priority,
shared by every viewer (one thread, one model), running only while someone watches.

Each processed frame is JPEG-encoded once; every MJPEG viewer sends the newest one, so
ten viewers cost what one does. Energy per frame is the CPU-time estimate of
``runtime.energy`` (this process's CPU seconds x the machine's power model): an
estimate, labelled as such.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.errors import ConfigError, EdgeDeblurError, SourceError
from runtime.video.frames import Frame, SourceConfig, SourceKind
from runtime.video.sources import open_source

if TYPE_CHECKING:
    from runtime.video.pipeline import FacePriorityPipeline

log = logging.getLogger(__name__)

IDLE_STOP_S = 5.0
"""The pipeline stops this long after the last viewer leaves."""
BOUNDARY = "edgedeblurframe"
EMA = 0.2


@dataclass(slots=True)
class LiveSettings:
    """What the page controls: deblurring on/off, its strength, drawn face boxes."""

    enabled: bool = True
    strength: float = 1.0
    boxes: bool = True

    def update(self, enabled: object = None, strength: object = None, boxes: object = None) -> None:
        """Apply the given values (None keeps one).

        Raises:
            ConfigError: strength not a number in [0, 1].
        """
        if strength is not None:
            try:
                s = float(strength)  # type: ignore[arg-type]
            except (TypeError, ValueError) as e:
                raise ConfigError(f"strength {strength!r} is not a number; use 0 to 1") from e
            if not 0 <= s <= 1:
                raise ConfigError(f"strength {s} is outside [0, 1]")
            self.strength = s
        if enabled is not None:
            self.enabled = bool(enabled)
        if boxes is not None:
            self.boxes = bool(boxes)


@dataclass(slots=True)
class LiveStats:
    """Smoothed per-frame figures for the page."""

    frames: int = 0
    fps: float = 0.0
    faces: int = 0
    stages_ms: dict[str, float] = field(default_factory=dict)
    total_ms: float = 0.0
    energy_mj: float = 0.0
    energy_note: str = ""
    viewers: int = 0
    running: bool = False
    error: str | None = None
    source: str | None = None


class LiveHub:
    """One capture + pipeline thread for all viewers of ``source``."""

    def __init__(self, source: str | None, model: str | Path, threads: int) -> None:
        from runtime.energy.power_models import detect_model_name, load_power_models

        self.source, self.model, self.threads = source, model, threads
        self.settings = LiveSettings()
        self._power = load_power_models()[detect_model_name()]
        self._lock = threading.Condition()
        self._stats = LiveStats(source=source, energy_note=f"estimate: CPU time x power model {self._power.summary}")
        self._jpeg: bytes | None = None
        self._seq = 0
        self._viewers = 0
        self._last_viewer_s = time.monotonic()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_done = 0.0

    def stats(self) -> dict[str, object]:
        with self._lock:
            return asdict(self._stats) | {"settings": asdict(self.settings)}

    def _ensure_running(self) -> None:
        if self.source is None:
            raise ConfigError("no live source configured; start the server with --live 0 (camera), "
                              "--live rtsp://... or --live clip.mp4")
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._stats.error = None
                self._thread = threading.Thread(target=self._run, name="live", daemon=True)
                self._thread.start()

    def latest(self, after_seq: int = 0, timeout_s: float = 10.0) -> tuple[int, bytes] | None:
        """The newest frame newer than ``after_seq`` (waits up to ``timeout_s``); None if none came."""
        self._ensure_running()
        with self._lock:
            self._last_viewer_s = time.monotonic()
            self._lock.wait_for(lambda: self._seq > after_seq or self._stats.error is not None, timeout_s)
            if self._seq <= after_seq or self._jpeg is None:
                return None
            return self._seq, self._jpeg

    async def mjpeg(self) -> AsyncIterator[bytes]:
        """multipart/x-mixed-replace parts, one per new frame, for as long as the viewer stays."""
        self._ensure_running()
        with self._lock:
            self._viewers += 1
        seq = 0
        try:
            while True:
                got = await asyncio.to_thread(self.latest, seq, 1.0)
                if got is None:
                    if self._stats.error is not None:
                        return
                    continue
                seq, jpeg = got
                yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                       .encode() + jpeg + b"\r\n")
        finally:
            with self._lock:
                self._viewers -= 1
                self._last_viewer_s = time.monotonic()

    def _idle(self) -> bool:
        with self._lock:
            self._stats.viewers = self._viewers
            return self._viewers == 0 and time.monotonic() - self._last_viewer_s > IDLE_STOP_S

    def _run(self) -> None:
        from runtime.engines import create_engine
        from runtime.engines.base import EngineConfig
        from runtime.video.pipeline import FacePriorityPipeline, PipelineConfig

        pipe: FacePriorityPipeline | None = None
        engine = None
        try:
            engine = create_engine(self.model, EngineConfig(threads=self.threads))
            base = PipelineConfig(model=self.model)
            strength = -1.0
            with self._lock:
                self._stats.running = True
            while not self._stop.is_set() and not self._idle():
                with open_source(self.source, SourceConfig()) as src:  # type: ignore[arg-type]
                    period = 1.0 / src.info.fps if not src.info.live and src.info.fps else 0.0
                    ended, frames = False, 0
                    while not self._stop.is_set() and not self._idle():
                        t0 = time.perf_counter()
                        cpu0 = time.process_time()
                        frame = src.read()
                        if frame is None:
                            ended = True
                            break
                        decode_ms = (time.perf_counter() - t0) * 1e3
                        frames += 1
                        settings = replace(self.settings)
                        if settings.enabled and settings.strength != strength:
                            if pipe is not None:
                                pipe.close()
                            strength = settings.strength
                            pipe = FacePriorityPipeline(replace(base, faces_strength=strength), engine=engine)
                        self._step(frame.image_rgb, pipe if settings.enabled else None, settings, decode_ms, t0, cpu0)
                        wait = period - (time.perf_counter() - t0)
                        if wait > 0:
                            time.sleep(wait)
                    if ended and (src.info.kind is not SourceKind.FILE or not frames):  # files loop; others end
                        raise SourceError(f"live source {self.source} stopped ({src.end.value}); check the "
                                          "camera or stream and reload the page")
        except EdgeDeblurError as e:
            log.warning("live: %s", e)
            with self._lock:
                self._stats.error = str(e)
                self._lock.notify_all()
        finally:
            if pipe is not None:
                pipe.close()
            if engine is not None:
                engine.close()
            with self._lock:
                self._stats.running = False
                self._lock.notify_all()

    def _step(self, image: NDArray[np.uint8], pipe: FacePriorityPipeline | None, settings: LiveSettings, decode_ms: float,
              t0: float, cpu0: float) -> None:
        stages = {"decode": decode_ms}
        boxes = np.zeros((0, 4), np.float32)
        if pipe is not None:
            res = pipe.process(Frame(image, 0, time.monotonic() * 1e3))
            image, boxes = res.image_rgb, res.faces.boxes_xyxy
            t = res.times
            stages |= {"faces": t.faces_ms, "model": t.inference_ms, "blend": t.blend_ms + t.background_ms}
        shown = _draw(image, boxes) if settings.boxes else image
        t = time.perf_counter()
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(shown, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
        stages["encode"] = (time.perf_counter() - t) * 1e3
        now = time.perf_counter()
        wall_s = now - t0
        energy_j = self._power.energy_j(wall_s, [time.process_time() - cpu0])
        gap_s, self._last_done = max(now - self._last_done, 1e-3), now   # frame to frame, waits included
        with self._lock:
            s = self._stats
            s.frames += 1
            s.faces = len(boxes)
            s.fps = 1.0 / max(wall_s, 1e-3) if s.frames == 1 else (1 - EMA) * s.fps + EMA / gap_s
            for k, v in stages.items():
                s.stages_ms[k] = round(v if s.frames == 1 else (1 - EMA) * s.stages_ms.get(k, v) + EMA * v, 2)
            s.total_ms = round(sum(s.stages_ms.values()), 2)
            s.energy_mj = round(energy_j * 1e3 if s.frames == 1 else (1 - EMA) * s.energy_mj + EMA * energy_j * 1e3, 2)
            if ok:
                self._jpeg, self._seq = buf.tobytes(), self._seq + 1
            self._lock.notify_all()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)


def _draw(image: NDArray[np.uint8], boxes_xyxy: NDArray[np.float32]) -> NDArray[np.uint8]:
    out = image.copy()
    thick = max(2, image.shape[1] // 320)
    for x0, y0, x1, y1 in np.asarray(boxes_xyxy).astype(int).tolist():
        cv2.rectangle(out, (x0, y0), (x1, y1), (255, 210, 0), thick)
    return out
