"""Energy and latency profiles: the same frames through several configurations.

How a run cancels drift (thermal throttling, background load, battery sag): frames are
read in chunks; every configuration processes each chunk as its own measured segment, and
the order of configurations rotates from chunk to chunk, so no configuration always runs
first or always runs hot. Decoding happens between segments, outside every measurement.
Before measuring, each configuration processes a few warm-up frames (model load, caches,
thread pools); then, if the meter is a hardware one, idle power is measured for
``idle_s`` seconds so that energy above idle can be reported too. An estimate meter takes
its idle power from its model.

Example:
    >>> result = run_profile(lambda: frames, [ProfileConfig("blur", "blur")],
    ...                      lambda cfg: my_filter, meter, ProfileOptions(frames=60))
    >>> result.configs[0].energy_mj_per_frame
"""
from __future__ import annotations

import itertools
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from runtime.energy.base import Meter, MeterInfo, PowerSample
from runtime.errors import ConfigError, SourceError

FrameRGB = NDArray[np.uint8]


class FrameProcessor(Protocol):
    """Processes one HxWx3 uint8 RGB frame (the result is not inspected)."""

    def __call__(self, image_rgb: FrameRGB) -> object: ...


FrameSupply = Callable[[], Iterable[FrameRGB]]
"""Each call iterates the frames again from the first one (repeats and warm-up re-read)."""


@dataclass(frozen=True, slots=True)
class ProfileConfig:
    """One configuration to profile.

    Attributes:
        name: label in the report, e.g. ``"faces:small.int8"``.
        spec: what the processor factory builds from, often the same text.
    """

    name: str
    spec: str

    def __post_init__(self) -> None:
        if not self.name.strip() or not self.spec.strip():
            raise ConfigError("a profile `config` needs a non-empty name and spec, e.g. full:small.fp32")


ProcessorFactory = Callable[[ProfileConfig], FrameProcessor]


@dataclass(frozen=True, slots=True)
class ProfileOptions:
    """How long and how carefully to measure.

    Attributes:
        frames: frames per pass (fewer if the source is shorter).
        warmup_frames: unmeasured frames per configuration before measuring.
        chunk_frames: frames per measured segment; longer suits slow meters (batteries).
        repeats: passes over the frames.
        idle_s: seconds of idle measured before the runs (hardware meters only; 0 = skip).
    """

    frames: int = 300
    warmup_frames: int = 5
    chunk_frames: int = 30
    repeats: int = 1
    idle_s: float = 0.0

    def __post_init__(self) -> None:
        if self.frames < 1 or self.chunk_frames < 1 or self.repeats < 1:
            raise ConfigError(f"`frames` ({self.frames}), `chunk_frames` ({self.chunk_frames}) and `repeats` "
                              f"({self.repeats}) must each be >= 1")
        if self.warmup_frames < 0 or self.idle_s < 0:
            raise ConfigError(f"`warmup_frames` ({self.warmup_frames}) and `idle_s` ({self.idle_s}) must be >= 0")


@dataclass(frozen=True, slots=True)
class IdleBaseline:
    """Idle power subtracted to get energy above idle.

    Attributes:
        power_w: watts.
        source: ``"measured for 5 s before the runs"`` or ``"the estimate's power model"``.
    """

    power_w: float
    source: str


@dataclass(frozen=True, slots=True)
class Segment:
    """One measured stretch: a configuration over one chunk, timed from the run's start.

    Attributes:
        config: index into ``ProfileResult.configs``.
        t_start_s: seconds since the first segment began.
        t_end_s: seconds since the first segment began.
        frames: frames processed.
        energy_j: joules measured.
    """

    config: int
    t_start_s: float
    t_end_s: float
    frames: int
    energy_j: float


@dataclass(frozen=True, slots=True)
class ConfigResult:
    """Totals for one configuration over all its segments.

    Attributes:
        config: what ran.
        frames: frames measured.
        energy_j: joules, idle included.
        meter_s: seconds the meter measured (sum of segment readings).
        wall_s: wall seconds of the segments (processing plus polling).
        cpu_s: CPU seconds of the whole process over the segments (all threads).
        latencies_ms: float64 (frames,), wall milliseconds per frame call.
        samples: power over time, seconds since the run's start.
        idle_w: idle watts subtracted for energy above idle, or None when unknown.
    """

    config: ProfileConfig
    frames: int
    energy_j: float
    meter_s: float
    wall_s: float
    cpu_s: float
    latencies_ms: NDArray[np.float64]
    samples: tuple[PowerSample, ...]
    idle_w: float | None

    @property
    def energy_mj_per_frame(self) -> float:
        """Millijoules per frame, idle included."""
        return 1e3 * self.energy_j / self.frames

    @property
    def active_energy_mj_per_frame(self) -> float | None:
        """Millijoules per frame above idle power, or None without an idle baseline."""
        if self.idle_w is None:
            return None
        return 1e3 * (self.energy_j - self.idle_w * self.meter_s) / self.frames

    @property
    def average_power_w(self) -> float:
        """Mean watts while this configuration ran."""
        return self.energy_j / self.meter_s if self.meter_s > 0 else 0.0

    @property
    def fps(self) -> float:
        """Frames per wall second over the measured segments."""
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def latency_ms(self, percentile: float) -> float:
        """Per-frame latency at ``percentile`` (0-100), milliseconds."""
        return float(np.percentile(self.latencies_ms, percentile))


def _saving(value: float | None, base: float | None) -> float | None:
    return None if value is None or base is None or base <= 0 else 1.0 - value / base


@dataclass(frozen=True, slots=True)
class ProfileResult:
    """A whole profile; the first configuration is the baseline for savings.

    Attributes:
        configs: per configuration, in the order given.
        meter: the meter behind every energy figure.
        skipped_meters: why more trusted meters were not used (``auto``).
        idle: the idle baseline, or None.
        options: what was asked for.
        segments: every measured segment, in run order.
        started_at: ISO 8601 UTC time of the first segment.
    """

    configs: tuple[ConfigResult, ...]
    meter: MeterInfo
    skipped_meters: tuple[str, ...]
    idle: IdleBaseline | None
    options: ProfileOptions
    segments: tuple[Segment, ...]
    started_at: str

    def saving(self, index: int) -> float | None:
        """Fraction of the baseline's energy per frame that configuration ``index`` saves."""
        return _saving(self.configs[index].energy_mj_per_frame, self.configs[0].energy_mj_per_frame)

    def active_saving(self, index: int) -> float | None:
        """Like :meth:`saving`, on energy above idle (None without an idle baseline)."""
        return _saving(self.configs[index].active_energy_mj_per_frame,
                       self.configs[0].active_energy_mj_per_frame)

    def to_json_dict(self) -> dict[str, Any]:
        """The ``profile.json`` document (units in every key)."""
        def rnd(x: float | None, nd: int = 4) -> float | None:
            return None if x is None else round(float(x), nd)
        entries = [{
            "name": c.config.name, "spec": c.config.spec, "frames": c.frames,
            "energy_j": rnd(c.energy_j), "energy_mj_per_frame": rnd(c.energy_mj_per_frame),
            "active_energy_mj_per_frame": rnd(c.active_energy_mj_per_frame),
            "average_power_w": rnd(c.average_power_w), "fps": rnd(c.fps, 3),
            "latency_ms_p50": rnd(c.latency_ms(50), 3), "latency_ms_p95": rnd(c.latency_ms(95), 3),
            "cpu_s": rnd(c.cpu_s), "cpu_ms_per_frame": rnd(1e3 * c.cpu_s / c.frames, 3),
            "wall_s": rnd(c.wall_s), "saving_vs_baseline": rnd(self.saving(i)),
            "active_saving_vs_baseline": rnd(self.active_saving(i)),
            "meter": self.meter.kind.value, "measured": self.meter.measured,
        } for i, c in enumerate(self.configs)]
        return {
            "version": 1, "started_at": self.started_at, "baseline": self.configs[0].config.name,
            "meter": {"kind": self.meter.kind.value, "measured": self.meter.measured,
                      "source": self.meter.source, "scope": self.meter.scope,
                      "skipped": list(self.skipped_meters)},
            "idle": None if self.idle is None else {"power_w": rnd(self.idle.power_w), "source": self.idle.source},
            "options": {"frames": self.options.frames, "warmup_frames": self.options.warmup_frames,
                        "chunk_frames": self.options.chunk_frames, "repeats": self.options.repeats,
                        "idle_s": self.options.idle_s},
            "configs": entries,
        }


def _chunks(frames: Iterable[FrameRGB], size: int, limit: int) -> Iterator[list[FrameRGB]]:
    """Chunks of read-only frames: a processor writing into its input would corrupt the
    next configuration's frames, so it fails loudly instead."""
    it = iter(itertools.islice(frames, limit))
    while chunk := list(itertools.islice(it, size)):
        for frame in chunk:
            frame.flags.writeable = False
        yield chunk


def measure_idle(meter: Meter, seconds: float, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> float:
    """Mean watts with this process asleep for ``seconds``, polling the meter meanwhile."""
    meter.start()
    end = clock() + seconds
    while (left := end - clock()) > 0:
        sleep(min(0.1, left))
        meter.poll()
    return meter.stop().average_power_w


def _idle_baseline(meter: Meter, idle_s: float) -> IdleBaseline | None:
    if meter.idle_power_w is not None:
        return IdleBaseline(meter.idle_power_w, "the estimate's power model")
    if idle_s > 0:
        return IdleBaseline(measure_idle(meter, idle_s), f"measured for {idle_s:g} s before the runs")
    return None


class _Tally:
    """Running totals for one configuration."""

    def __init__(self) -> None:
        self.frames = 0
        self.energy_j = self.meter_s = self.wall_s = self.cpu_s = 0.0
        self.latencies_ms: list[float] = []
        self.samples: list[PowerSample] = []


def run_profile(supply: FrameSupply, configs: Sequence[ProfileConfig], factory: ProcessorFactory,
                meter: Meter, options: ProfileOptions, *, skipped_meters: Sequence[str] = (),
                progress: bool = True) -> ProfileResult:
    """Profile ``configs`` on the frames from ``supply`` with ``meter``.

    Every processor is built before anything is measured, so a bad configuration (e.g. a
    missing model) fails in seconds, not after the first ones ran.

    Raises:
        ConfigError: no configurations, or duplicate names.
        SourceError: the supply yields no frames.
        MeterError: the meter fails while measuring.
        EdgeDeblurError: whatever the factory or a processor raises.
    """
    names = [c.name for c in configs]
    if not configs or len(set(names)) != len(names):
        raise ConfigError(f"profile needs at least one `config` and unique names (got {names})")
    processors = [factory(c) for c in configs]
    n_warm = min(options.warmup_frames, options.frames)
    warm = next(_chunks(supply(), n_warm, n_warm), [])
    for proc in processors:
        for frame in warm:
            proc(frame)
    idle = _idle_baseline(meter, options.idle_s)
    tallies = [_Tally() for _ in configs]
    segments: list[Segment] = []
    t_origin: float | None = None
    started_at = ""
    bar = tqdm(total=options.frames * options.repeats * len(configs), unit="frame", desc="profile",
               disable=not progress, file=sys.stderr, dynamic_ncols=True)
    rotation = 0
    try:
        for repeat in range(options.repeats):
            for chunk in _chunks(supply(), options.chunk_frames, options.frames):
                order = [(rotation + j) % len(configs) for j in range(len(configs))]
                rotation += 1
                for i in order:
                    if t_origin is None:
                        t_origin = time.perf_counter()
                        started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
                    segments.append(_measure_segment(i, chunk, processors[i], meter, tallies[i], t_origin))
                    bar.update(len(chunk))
            if repeat == 0 and tallies[0].frames < options.frames:  # a short source: fix the ETA
                bar.total = tallies[0].frames * options.repeats * len(configs)
    finally:
        bar.close()
    if not segments:
        raise SourceError("the source gave no frames to profile; check `source` (an empty or unreadable video?)")
    results = tuple(ConfigResult(c, t.frames, t.energy_j, t.meter_s, t.wall_s, t.cpu_s,
                                 np.asarray(t.latencies_ms, np.float64), tuple(t.samples),
                                 None if idle is None else idle.power_w)
                    for c, t in zip(configs, tallies))
    return ProfileResult(results, meter.info, tuple(skipped_meters), idle, options, tuple(segments), started_at)


def _measure_segment(index: int, chunk: list[FrameRGB], proc: FrameProcessor, meter: Meter,
                     tally: _Tally, t_origin: float) -> Segment:
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    meter.start()
    for frame in chunk:
        f0 = time.perf_counter()
        proc(frame)
        tally.latencies_ms.append(1e3 * (time.perf_counter() - f0))
        meter.poll()
    reading = meter.stop()
    t1 = time.perf_counter()
    tally.cpu_s += time.process_time() - cpu0
    tally.frames += len(chunk)
    tally.energy_j += reading.energy_j
    tally.meter_s += reading.duration_s
    tally.wall_s += t1 - t0
    base = t0 - t_origin - reading.start_s
    tally.samples.extend(PowerSample(s.t_s + base, s.power_w) for s in reading.samples)
    return Segment(index, t0 - t_origin, t1 - t_origin, len(chunk), reading.energy_j)
