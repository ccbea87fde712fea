"""Estimated energy from measured CPU time and a device power model (no counters needed).

energy = idle_w x wall seconds + sum over threads of (CPU seconds x busy watts of the core
class the thread is assumed to run on); see :class:`~runtime.energy.power_models.PowerModel`.
The process's CPU time comes from ``CLOCK_PROCESS_CPUTIME_ID`` (``time.process_time``,
nanosecond resolution); per-thread times from the kernel via psutil (``/proc/self/task``,
clock-tick resolution) only split that total between core classes. Time of threads that
ended between two polls is in the total and is charged as one more thread.
"""
from __future__ import annotations

import platform
import time
from dataclasses import dataclass

import psutil

from runtime.energy.base import Clock, EnergyReading, MeterBase, MeterInfo, MeterKind, PowerSample
from runtime.energy.power_models import PowerModel
from runtime.errors import MeterError


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    """Cumulative CPU seconds of this process at one instant.

    Attributes:
        t_s: clock seconds.
        process_s: user + system seconds of the whole process (all threads, exact).
        threads_s: user + system seconds per live thread id (clock-tick resolution).
    """

    t_s: float
    process_s: float
    threads_s: dict[int, float]


def cpu_snapshot(process: psutil.Process, t_s: float) -> CpuSnapshot:
    """Read this process's CPU time and its threads' CPU times now.

    Raises:
        MeterError: the threads cannot be listed (no /proc, or a sandbox hides it).
    """
    try:
        threads = {t.id: t.user_time + t.system_time for t in process.threads()}
    except (psutil.Error, OSError) as e:
        raise MeterError(f"cannot read the CPU times of this process's threads ({e}); the estimate "
                         "needs /proc: mount it, or pick a hardware meter with `kind`") from e
    return CpuSnapshot(t_s, time.process_time(), threads)


def thread_cpu_s(before: CpuSnapshot, after: CpuSnapshot) -> list[float]:
    """Per-thread CPU seconds between two snapshots, summing exactly to the process's.

    A thread id missing before (or whose time went down: a reused id) counts from zero.
    Tick-rounded thread times are scaled down if they exceed the exact total; a shortfall
    (threads that ended, rounding) is returned as one more thread.
    """
    total = max(after.process_s - before.process_s, 0.0)
    deltas = []
    for tid, now in after.threads_s.items():
        old = before.threads_s.get(tid)
        deltas.append(now - old if old is not None and now >= old else now)
    counted = sum(deltas)
    if counted > total:
        return [d * total / counted for d in deltas]
    return deltas + ([total - counted] if total > counted else [])


class EstimateMeter(MeterBase):
    """A CPU-time energy estimate for this process (all its threads) under a :class:`PowerModel`.

    Example:
        meter = EstimateMeter(BUILTIN_MODELS["pi5"])
        meter.start(); run(); reading = meter.stop()  # reading.info.measured is False
    """

    def __init__(self, model: PowerModel, *, clock: Clock = time.monotonic,
                 min_interval_s: float = 0.1) -> None:
        """Args:
            model: the device power model.
            clock: seconds, monotonic (tests may pass a fake one).
            min_interval_s: ``poll`` reads thread times at most this often.
        """
        self._model = model
        self._process = psutil.Process()
        self._clock = clock
        self._min_interval_s = min_interval_s
        info = MeterInfo(
            MeterKind.ESTIMATE, False, f"CPU-time model {model.summary} [basis: {model.source}]",
            f"modelled idle + busy CPU cores from CPU time measured on this {platform.machine()} "
            "machine; no GPU/NPU, DRAM, display or radios; busy cores at full-load watts")
        super().__init__(info, idle_power_w=model.idle_w)
        self._start: CpuSnapshot | None = None
        self._last: CpuSnapshot | None = None
        self._energy_j = 0.0
        self._samples: list[PowerSample] = []

    @property
    def model(self) -> PowerModel:
        """The power model in use."""
        return self._model

    def start(self) -> None:
        self._start = self._last = cpu_snapshot(self._process, self._clock())
        self._energy_j = 0.0
        self._samples = []

    def _step(self, last: CpuSnapshot) -> CpuSnapshot:
        now = cpu_snapshot(self._process, self._clock())
        wall = now.t_s - last.t_s
        joules = self._model.energy_j(wall, thread_cpu_s(last, now))
        self._energy_j += joules
        if wall > 0:
            self._samples.append(PowerSample(now.t_s, joules / wall))
        self._last = now
        return now

    def poll(self) -> None:
        last = self._last
        if last is None:
            raise MeterError("estimate meter polled before start(); call start() first")
        if self._clock() - last.t_s >= self._min_interval_s:
            self._step(last)

    def stop(self) -> EnergyReading:
        start, last = self._start, self._last
        if start is None or last is None:
            raise MeterError("estimate meter stopped before start(); call start() first")
        end = self._step(last)
        self._start = self._last = None
        return EnergyReading(self._energy_j, start.t_s, end.t_s - start.t_s, tuple(self._samples), self._info)
