"""The meter interface shared by every energy reader, and the sysfs helpers they use.

A meter measures one segment at a time: ``start()``, any number of ``poll()`` calls while
work runs (each may add a :class:`PowerSample`), then ``stop()`` returns an
:class:`EnergyReading`. Meters never start threads: the profile runner polls between
frames, so sampling costs nothing while a frame is being processed.

Two shapes of hardware exist. Energy *counters* (RAPL) accumulate joules themselves; the
meter differences them. *Power* sensors (batteries, PMIC rails, INA3221 shunts) report
instantaneous watts; :class:`SampledPowerMeter` integrates those samples with the
trapezoid rule, so its accuracy depends on how often it is polled.
"""
from __future__ import annotations

import enum
import errno
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from runtime.errors import MeterError

Clock = Callable[[], float]


class MeterKind(str, enum.Enum):
    """Every meter edgedeblur knows, named as on the command line (``--meter``)."""

    RAPL = "rapl"
    BATTERY = "battery"
    PMIC = "pmic"
    JETSON = "jetson"
    CSV = "csv"
    ESTIMATE = "estimate"


class MeterAbsent(MeterError):
    """The meter's hardware or log is not present on this machine (``auto`` moves on)."""


@dataclass(frozen=True, slots=True)
class MeterInfo:
    """What a meter is and what it covers, printed next to every figure it produces.

    Attributes:
        kind: which meter.
        measured: True for hardware readings, False for a model's estimate.
        source: the files, rails or model used, e.g. ``"intel-rapl:0 (package-0)"``.
        scope: what the figure includes, e.g. ``"CPU package + DRAM"``.
    """

    kind: MeterKind
    measured: bool
    source: str
    scope: str


@dataclass(frozen=True, slots=True)
class PowerSample:
    """Power at ``t_s``: instantaneous for sensors, the mean since the previous sample for
    counters and models.

    Attributes:
        t_s: seconds on the meter's clock (the runner re-bases them to the run's start).
        power_w: watts.
    """

    t_s: float
    power_w: float


@dataclass(frozen=True, slots=True)
class EnergyReading:
    """Energy used over one measured segment.

    Attributes:
        energy_j: joules over the segment (whole device or domain, idle included).
        start_s: when the segment began, seconds on the meter's clock (re-bases samples).
        duration_s: segment length in seconds on the meter's clock.
        samples: power over time inside the segment, oldest first (may be empty).
        info: the meter that produced the figure.
    """

    energy_j: float
    start_s: float
    duration_s: float
    samples: tuple[PowerSample, ...]
    info: MeterInfo

    @property
    def average_power_w(self) -> float:
        """Mean watts over the segment (0 for a zero-length segment)."""
        return self.energy_j / self.duration_s if self.duration_s > 0 else 0.0


class Meter(Protocol):
    """A reader that turns start/stop into joules; see the module docstring."""

    @property
    def info(self) -> MeterInfo:
        """What this meter is and covers."""
        ...

    @property
    def idle_power_w(self) -> float | None:
        """Idle watts this meter already knows (a model's), or None if it must be measured."""
        ...

    def start(self) -> None:
        """Begin a segment."""
        ...

    def poll(self) -> None:
        """Take a sample if the meter's minimum interval has passed; cheap otherwise."""
        ...

    def stop(self) -> EnergyReading:
        """End the segment and return its energy.

        Raises:
            MeterError: the counters or log could not be read or do not cover the segment.
        """
        ...


def read_text(path: Path, what: str, fix: str) -> str:
    """Read a small sysfs-style file, turning OS failures into one-line :class:`MeterError`.

    Args:
        path: the file.
        what: what the file is, for the message (e.g. ``"RAPL counter"``).
        fix: how the user can fix an unreadable file (appended to the message).

    Raises:
        MeterError: missing, not a file, permission denied or any other read failure.
    """
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except PermissionError as e:
        raise MeterError(f"{what} {path} is not readable (permission denied); {fix}") from e
    except IsADirectoryError as e:
        raise MeterError(f"{what} {path} is a directory, not a counter file; {fix}") from e
    except FileNotFoundError as e:
        raise MeterError(f"{what} {path} disappeared while measuring; {fix}") from e
    except OSError as e:
        reason = os.strerror(e.errno) if e.errno else str(e)
        if e.errno == errno.ENODATA:
            reason = "the driver returned no data"
        raise MeterError(f"{what} {path} could not be read ({reason}); {fix}") from e


def read_int(path: Path, what: str, fix: str) -> int:
    """Read an integer sysfs attribute (see :func:`read_text`).

    Raises:
        MeterError: unreadable, or the content is not an integer.
    """
    text = read_text(path, what, fix)
    try:
        return int(text)
    except ValueError as e:
        shown = repr(text[:40]) if text else "nothing"
        raise MeterError(f"{what} {path} holds {shown}, not an integer; {fix}") from e


def trapezoid_j(samples: list[PowerSample]) -> float:
    """Integrate instantaneous power samples (watts at times ``t_s``) to joules."""
    return sum((b.t_s - a.t_s) * (a.power_w + b.power_w) / 2 for a, b in zip(samples, samples[1:]))


class MeterBase:
    """The :class:`Meter` properties every meter has, held once: a meter passes only its own
    :class:`MeterInfo` and, for a model's estimate, the idle watts it already knows.

    Example:
        class MyMeter(MeterBase):
            def __init__(self) -> None:
                super().__init__(MeterInfo(MeterKind.CSV, True, "my log", "whole device"))
    """

    def __init__(self, info: MeterInfo, idle_power_w: float | None = None) -> None:
        """Args:
            info: the meter's description.
            idle_power_w: idle watts known without measuring (a model's), else None.
        """
        self._info = info
        self._idle_power_w = idle_power_w

    @property
    def info(self) -> MeterInfo:
        """What this meter is and covers."""
        return self._info

    @property
    def idle_power_w(self) -> float | None:
        """Idle watts this meter already knows (a model's), or None if it must be measured."""
        return self._idle_power_w


class SampledPowerMeter(MeterBase):
    """A meter over an instantaneous-power reader, integrated with the trapezoid rule.

    Example:
        meter = SampledPowerMeter(reader.read_power_w, reader.info)
        meter.start(); work(); meter.poll(); reading = meter.stop()
    """

    def __init__(self, read_power_w: Callable[[], float], info: MeterInfo, *,
                 min_interval_s: float = 0.02, clock: Clock = time.monotonic) -> None:
        """Args:
            read_power_w: returns the present draw in watts; raises MeterError on failure.
            info: the meter's description.
            min_interval_s: ``poll`` reads the sensor at most this often.
            clock: seconds, monotonic (tests pass a fake one).
        """
        super().__init__(info)
        self._read = read_power_w
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._points: list[PowerSample] = []

    def start(self) -> None:
        self._points = [PowerSample(self._clock(), self._read())]

    def poll(self) -> None:
        if not self._points:
            raise MeterError(f"{self._info.kind.value} meter polled before start(); call start() first")
        now = self._clock()
        if now - self._points[-1].t_s >= self._min_interval_s:
            self._points.append(PowerSample(now, self._read()))

    def stop(self) -> EnergyReading:
        if not self._points:
            raise MeterError(f"{self._info.kind.value} meter stopped before start(); call start() first")
        self._points.append(PowerSample(self._clock(), self._read()))
        points, self._points = self._points, []
        return EnergyReading(trapezoid_j(points), points[0].t_s, points[-1].t_s - points[0].t_s,
                             tuple(points), self._info)
