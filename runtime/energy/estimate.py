"""Estimated energy from measured CPU time and a device power model (no counters needed).

energy = idle_w x wall seconds + sum over threads of (CPU seconds x busy watts of the core
class the thread is assumed to run on); see :class:`~runtime.energy.power_models.PowerModel`.
CPU time comes from the kernel per thread (psutil reads ``/proc/self/task/*/stat``); time
of threads that ended between two polls is still in the process total and is charged as
one more thread.

Assumptions, printed with every estimate: a busy core draws its full-load watts whatever
its frequency and whatever it runs (so light or memory-bound loads are over-charged); the
GPU/NPU, DRAM traffic, display and radios are not modelled; other processes are not
charged; and CPU seconds measured on this machine stand for CPU seconds on the modelled
device, which is only exact when they are the same device.
"""
from __future__ import annotations

import platform
import time
from dataclasses import dataclass

import psutil

from runtime.energy.base import Clock, EnergyReading, MeterInfo, MeterKind, PowerSample
from runtime.energy.power_models import PowerModel
from runtime.errors import MeterError


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    """Cumulative CPU seconds of this process at one instant.

    Attributes:
        t_s: clock seconds.
        process_s: user + system seconds of the whole process.
        threads_s: user + system seconds per live thread id.
    """

    t_s: float
    process_s: float
    threads_s: dict[int, float]


def cpu_snapshot(process: psutil.Process, t_s: float) -> CpuSnapshot:
    """Read the process's and its threads' CPU times now.

    Raises:
        MeterError: the process cannot be inspected (exited, or /proc is not mounted).
    """
    try:
        times = process.cpu_times()
        threads = {t.id: t.user_time + t.system_time for t in process.threads()}
    except (psutil.Error, OSError) as e:
        raise MeterError(f"cannot read CPU times of process {process.pid} ({e}); the estimate needs "
                         "/proc; mount it or pick a hardware meter with --meter") from e
    return CpuSnapshot(t_s, times.user + times.system, threads)


def thread_deltas_s(before: CpuSnapshot, after: CpuSnapshot) -> list[float]:
    """CPU seconds per thread between two snapshots, plus the time of threads that ended.

    A thread id missing before (or whose time went down: a reused id) counts from zero.
    """
    deltas = []
    for tid, now in after.threads_s.items():
        old = before.threads_s.get(tid)
        deltas.append(now - old if old is not None and now >= old else now)
    ended = (after.process_s - before.process_s) - sum(deltas)
    return deltas + ([ended] if ended > 0 else [])


class EstimateMeter:
    """A CPU-time energy estimate for this process under a :class:`PowerModel`.

    Example:
        meter = EstimateMeter(BUILTIN_MODELS["pi5"])
        meter.start(); run(); reading = meter.stop()  # reading.info.measured is False
    """

    def __init__(self, model: PowerModel, *, process: psutil.Process | None = None,
                 clock: Clock = time.monotonic, min_interval_s: float = 0.1) -> None:
        """Args:
            model: the device power model.
            process: whose CPU time to charge (default: this process).
            clock: seconds, monotonic (tests may pass a fake one).
            min_interval_s: ``poll`` reads thread times at most this often.
        """
        self._model = model
        self._process = process or psutil.Process()
        self._clock = clock
        self._min_interval_s = min_interval_s
        self._info = MeterInfo(
            MeterKind.ESTIMATE, False, f"CPU-time model {model.summary} [basis: {model.source}]",
            f"modelled idle + busy CPU cores from CPU time measured on this {platform.machine()} "
            "machine; no GPU/NPU, DRAM, display or radios; busy cores at full-load watts")
        self._start: CpuSnapshot | None = None
        self._last: CpuSnapshot | None = None
        self._energy_j = 0.0
        self._samples: list[PowerSample] = []

    @property
    def info(self) -> MeterInfo:
        return self._info

    @property
    def idle_power_w(self) -> float | None:
        return self._model.idle_w

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
        joules = self._model.energy_j(wall, thread_deltas_s(last, now))
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
