"""Run statistics: per-stage latency percentiles, throughput, drops and model load.

Latencies go into log-spaced histograms (about 1 % resolution), so memory stays constant
however long a camera runs, and p50/p95 cover the whole run, not a window.

Example:
    >>> rec = StatsRecorder()
    >>> rec.add(StageTimes(decode_ms=2.0, inference_ms=9.5), model_pixels=65536, faces=1)
    >>> rec.summary().fps
"""
from __future__ import annotations

import enum
import json
import math
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from facemask.files import atomic_write
from runtime.errors import ConfigError, write_error


class Stage(str, enum.Enum):
    """Pipeline stages, in frame order."""

    DECODE = "decode"
    FACES = "faces"
    INFERENCE = "inference"
    BACKGROUND = "background"
    BLEND = "blend"
    ENCODE = "encode"


@dataclass(frozen=True, slots=True)
class StageTimes:
    """Wall-clock milliseconds one frame spent in each stage (0 for a skipped stage)."""

    decode_ms: float = 0.0
    faces_ms: float = 0.0
    inference_ms: float = 0.0
    background_ms: float = 0.0
    blend_ms: float = 0.0
    encode_ms: float = 0.0

    def ms(self, stage: Stage) -> float:
        """Milliseconds spent in ``stage``."""
        return float(getattr(self, f"{stage.value}_ms"))

    @property
    def total_ms(self) -> float:
        """Sum over stages: the frame's end-to-end processing time."""
        return float(sum(getattr(self, f.name) for f in fields(self)))


class LatencyHistogram:
    """Constant-memory latency distribution with log-spaced bins from 1 us to 100 s."""

    _LO_MS = 1e-3
    _RATIO = 1.02
    _N = int(math.ceil(math.log(1e5 / _LO_MS) / math.log(_RATIO))) + 1

    def __init__(self) -> None:
        self._counts = np.zeros(self._N, np.int64)
        self._sum_ms = 0.0

    @property
    def count(self) -> int:
        """Number of samples added."""
        return int(self._counts.sum())

    def add(self, ms: float) -> None:
        """Record one latency in milliseconds (clamped to the histogram's range)."""
        i = int(math.log(max(ms, self._LO_MS) / self._LO_MS) / math.log(self._RATIO))
        self._counts[min(i, self._N - 1)] += 1
        self._sum_ms += ms

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0-100) in ms, at the geometric centre of its bin; 0 if empty."""
        total = self.count
        if total == 0:
            return 0.0
        rank = max(1, math.ceil(q / 100.0 * total))
        i = int(np.searchsorted(np.cumsum(self._counts), rank))
        return self._LO_MS * self._RATIO ** (i + 0.5)

    @property
    def mean_ms(self) -> float:
        """Exact mean of the samples in ms; 0 if empty."""
        n = self.count
        return self._sum_ms / n if n else 0.0


@dataclass(frozen=True, slots=True)
class StageSummary:
    """Latency of one stage over a run, in milliseconds."""

    p50_ms: float
    p95_ms: float
    mean_ms: float

    @classmethod
    def of(cls, hist: LatencyHistogram) -> StageSummary:
        return cls(hist.percentile(50), hist.percentile(95), hist.mean_ms)


@dataclass(frozen=True, slots=True)
class RunStats:
    """What a run did, for ``--stats`` and ``--stats-json``.

    Attributes:
        frames: frames processed (written to the sinks).
        fps: frames per second, end to end, over the run's wall time.
        wall_s: seconds from the first frame request to the last frame written.
        dropped_frames: frames a live source overwrote before they were processed.
        model_pixels_per_frame: mean pixels fed to the model per frame (all crops, tiles).
        faces_per_frame: mean number of faces processed per frame.
        face_blur_mean: mean per-face blur estimate in [0, 1] over all faces judged (0 if none).
        face_strength_mean: mean per-face deblur strength given to them.
        face_blur_last: the blur estimate of each face of the latest frame that had faces.
        stages: latency per stage. Decode and encode may run on their own threads,
            overlapping the other stages, so stage times can add up to more than 1/fps.
        total: per-frame latency, the sum of the stages.
    """

    frames: int
    fps: float
    wall_s: float
    dropped_frames: int
    model_pixels_per_frame: float
    faces_per_frame: float
    stages: dict[Stage, StageSummary]
    total: StageSummary
    face_blur_mean: float = 0.0
    face_strength_mean: float = 0.0
    face_blur_last: tuple[float, ...] = ()

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: top-level counts and rates plus ``stages`` -> ``p50_ms``/``p95_ms``."""
        def row(s: StageSummary) -> dict[str, float]:
            return {"p50_ms": round(s.p50_ms, 3), "p95_ms": round(s.p95_ms, 3),
                    "mean_ms": round(s.mean_ms, 3)}
        return {
            "frames": self.frames,
            "fps": round(self.fps, 3),
            "wall_s": round(self.wall_s, 3),
            "dropped_frames": self.dropped_frames,
            "model_pixels_per_frame": round(self.model_pixels_per_frame, 1),
            "faces_per_frame": round(self.faces_per_frame, 3),
            "face_blur_mean": round(self.face_blur_mean, 3),
            "face_strength_mean": round(self.face_strength_mean, 3),
            "face_blur_last": [round(b, 3) for b in self.face_blur_last],
            "stages": {stage.value: row(s) for stage, s in self.stages.items()},
            "total": row(self.total),
        }

    def line(self) -> str:
        """One human-readable line: fps, drops, model pixels and stage p50s."""
        parts = " ".join(f"{st.value} {s.p50_ms:.1f}" for st, s in self.stages.items()
                         if s.mean_ms > 0)
        blur = (f"face blur {' '.join(f'{b:.2f}' for b in self.face_blur_last)} "
                f"(mean {self.face_blur_mean:.2f}, strength {self.face_strength_mean:.2f})  "
                if self.face_blur_last else "")
        return (f"{self.frames} frames  {self.fps:.1f} fps  dropped {self.dropped_frames}  "
                f"model px/frame {self.model_pixels_per_frame / 1e3:.0f}k  {blur}"
                f"p50 ms: {parts}  total p95 {self.total.p95_ms:.1f}")


@dataclass(slots=True)
class StatsRecorder:
    """Accumulates per-frame timings; ``summary()`` can be called at any time."""

    _hists: dict[Stage, LatencyHistogram] = field(
        default_factory=lambda: {s: LatencyHistogram() for s in Stage})
    _total: LatencyHistogram = field(default_factory=LatencyHistogram)
    _frames: int = 0
    _model_pixels: int = 0
    _faces: int = 0
    _blur_sum: float = 0.0
    _strength_sum: float = 0.0
    _judged: int = 0
    _blur_last: tuple[float, ...] = ()
    _dropped: int = 0
    _t_start: float | None = None
    _t_last: float = 0.0

    def start(self) -> None:
        """Mark the start of the run (the first frame request); implied by the first ``add``."""
        if self._t_start is None:
            self._t_start = time.perf_counter()

    def add(self, times: StageTimes, model_pixels: int, faces: int,
            face_blur: Sequence[float] = (), face_strength: Sequence[float] = ()) -> None:
        """Record one finished frame.

        Args:
            times: the frame's stage timings.
            model_pixels: pixels the model processed for this frame (sum over batch items).
            faces: faces processed in this frame.
            face_blur: blur estimate of each face judged (``--faces-strength auto``).
            face_strength: the strength each of them got.
        """
        if model_pixels < 0 or faces < 0:
            raise ConfigError("model_pixels and faces must be >= 0")
        self.start()
        for stage in Stage:
            ms = times.ms(stage)
            if ms > 0:
                self._hists[stage].add(ms)
        self._total.add(times.total_ms)
        self._frames += 1
        self._model_pixels += model_pixels
        self._faces += faces
        if len(face_blur):
            self._blur_last = tuple(float(b) for b in face_blur)
            self._blur_sum += float(sum(face_blur))
            self._strength_sum += float(sum(face_strength))
            self._judged += len(face_blur)
        self._t_last = time.perf_counter()

    @property
    def frames(self) -> int:
        """Frames recorded so far."""
        return self._frames

    def set_dropped(self, dropped: int) -> None:
        """Set the source's running count of dropped frames."""
        self._dropped = dropped

    def summary(self) -> RunStats:
        """Statistics so far."""
        wall = (self._t_last - self._t_start) if self._t_start is not None and self._frames else 0.0
        n = max(self._frames, 1)
        return RunStats(
            frames=self._frames,
            fps=self._frames / wall if wall > 0 else 0.0,
            wall_s=wall,
            dropped_frames=self._dropped,
            model_pixels_per_frame=self._model_pixels / n,
            faces_per_frame=self._faces / n,
            stages={s: StageSummary.of(h) for s, h in self._hists.items()},
            total=StageSummary.of(self._total),
            face_blur_mean=self._blur_sum / max(self._judged, 1),
            face_strength_mean=self._strength_sum / max(self._judged, 1),
            face_blur_last=self._blur_last,
        )


def write_stats_json(stats: RunStats, path: Path, extra: dict[str, Any] | None = None) -> None:
    """Write ``stats`` (plus ``extra`` top-level keys, e.g. the configuration) atomically.

    Raises:
        ImageError: the folder does not exist or is not writable (DiskFullError when full).
    """
    payload = {**stats.to_json_dict(), **(extra or {})}
    try:
        atomic_write(path, json.dumps(payload, indent=2) + "\n")
    except OSError as e:
        raise write_error(path, e, field="stats_json") from e
