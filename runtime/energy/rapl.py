"""Intel/AMD RAPL energy counters through the Linux powercap sysfs tree.

Format (Linux ``Documentation/power/powercap/powercap.rst``): each zone is a directory
``intel-rapl:N`` (one per CPU package) with subzones ``intel-rapl:N:M`` (``core``,
``uncore``, ``dram``), all also linked flat under ``/sys/class/powercap``. A zone holds
``name``, ``energy_uj`` (a cumulative counter, microjoules) and ``max_energy_range_uj``
(the value at which the counter wraps to 0). AMD Zen CPUs expose the same tree through the
same driver since Linux 5.8. Since Linux 5.10 (CVE-2020-8694) ``energy_uj`` is readable by
root only.

What is summed: every ``package-*`` zone plus every ``dram`` zone (DRAM lies outside the
package domain). ``psys`` (whole SoC platform, laptops) already contains the packages, so it
is used only when no package zone exists. ``core``/``uncore`` are parts of a package.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from runtime.energy.base import (Clock, EnergyReading, MeterAbsent, MeterBase, MeterInfo, MeterKind,
                                 PowerSample, read_int, read_text)
from runtime.errors import MeterError

DEFAULT_ROOT = Path("/sys/class/powercap")
_ZONE_RE = re.compile(r"^intel-rapl:\d+(:\d+)?$")
_FIX = "run as root or `sudo chmod o+r` it, or use `kind` estimate"


@dataclass(frozen=True, slots=True)
class RaplZone:
    """One powercap zone that is summed.

    Attributes:
        path: the zone directory.
        name: its ``name`` file, e.g. ``package-0`` or ``dram``.
        max_range_uj: the counter's wrap value, microjoules.
    """

    path: Path
    name: str
    max_range_uj: int

    def read_uj(self) -> int:
        """The counter now, microjoules.

        Raises:
            MeterError: the counter is unreadable or not an integer.
        """
        return read_int(self.path / "energy_uj", "RAPL counter", _FIX)


def energy_delta_uj(start_uj: int, end_uj: int, max_range_uj: int) -> int:
    """Microjoules between two counter readings, allowing for one wrap-around.

    The counter counts up to ``max_range_uj`` and restarts at 0, so a smaller end value
    means it wrapped once (polling every frame makes two wraps impossible in practice:
    the usual range of 2^38 uJ lasts minutes even at hundreds of watts).
    """
    return end_uj - start_uj if end_uj >= start_uj else max_range_uj - start_uj + end_uj


def find_zones(root: Path) -> tuple[RaplZone, ...]:
    """The zones to sum under ``root`` (see the module docstring), sorted by path.

    Raises:
        MeterAbsent: no RAPL zone exists under ``root``.
        MeterError: a zone's ``name`` or ``max_energy_range_uj`` is unreadable.
    """
    dirs = sorted(p for p in root.glob("intel-rapl:*") if _ZONE_RE.match(p.name)) if root.is_dir() else []
    if not dirs:
        raise MeterAbsent(f"no RAPL energy counters under {root} (no intel-rapl:* zones: not an "
                          "Intel/AMD CPU, a VM, or the intel_rapl driver is not loaded); "
                          "use `kind` estimate")
    named = [(d, read_text(d / "name", "RAPL zone name", _FIX)) for d in dirs]
    chosen = [(d, n) for d, n in named if n.startswith("package") or n == "dram"]
    if not any(n.startswith("package") for _, n in chosen):
        chosen = [(d, n) for d, n in named if n == "psys"] or chosen
    if not chosen:
        raise MeterAbsent(f"RAPL zones under {root} have no package, dram or psys domain "
                          f"(found {', '.join(n for _, n in named)}); use `kind` estimate")
    return tuple(RaplZone(d, n, read_int(d / "max_energy_range_uj", "RAPL counter range", _FIX))
                 for d, n in chosen)


class RaplMeter(MeterBase):
    """Joules from RAPL counters, differenced with wrap-around handling.

    Example:
        meter = RaplMeter()  # or RaplMeter(Path(fixture_tree))
        meter.start(); run(); reading = meter.stop()
    """

    def __init__(self, root: Path = DEFAULT_ROOT, *, clock: Clock = time.monotonic,
                 min_interval_s: float = 0.05) -> None:
        """Find the zones and read each counter once, so an unreadable one fails now.

        Raises:
            MeterAbsent: no RAPL zones under ``root``.
            MeterError: a counter exists but cannot be read.
        """
        self._zones = find_zones(root)
        for zone in self._zones:
            zone.read_uj()
        self._clock = clock
        self._min_interval_s = min_interval_s
        names = ", ".join(f"{z.path.name} ({z.name})" for z in self._zones)
        scope = "platform (psys)" if self._zones[0].name == "psys" else (
            "CPU package" + (" + DRAM" if any(z.name == "dram" for z in self._zones) else ""))
        super().__init__(MeterInfo(MeterKind.RAPL, True, f"RAPL {names}", scope))
        self._last: list[int] = []
        self._last_t = 0.0
        self._start_t: float | None = None
        self._total_uj = 0
        self._samples: list[PowerSample] = []

    def start(self) -> None:
        self._last = [z.read_uj() for z in self._zones]
        self._last_t = self._start_t = self._clock()
        self._total_uj = 0
        self._samples = []

    def _accumulate(self) -> None:
        now_uj = [z.read_uj() for z in self._zones]
        now = self._clock()
        step = sum(energy_delta_uj(a, b, z.max_range_uj) for a, b, z in zip(self._last, now_uj, self._zones))
        self._total_uj += step
        if now > self._last_t:
            self._samples.append(PowerSample(now, step / 1e6 / (now - self._last_t)))
        self._last, self._last_t = now_uj, now

    def poll(self) -> None:
        if self._start_t is None:
            raise MeterError("rapl meter polled before start(); call start() first")
        if self._clock() - self._last_t >= self._min_interval_s:
            self._accumulate()

    def stop(self) -> EnergyReading:
        if self._start_t is None:
            raise MeterError("rapl meter stopped before start(); call start() first")
        self._accumulate()
        start_t, self._start_t = self._start_t, None
        return EnergyReading(self._total_uj / 1e6, start_t, self._last_t - start_t, tuple(self._samples),
                             self._info)
