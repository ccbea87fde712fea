"""NVIDIA Jetson power from its INA3221 rail monitors through Linux hwmon.

Format (Linux ``Documentation/hwmon/ina3221.rst``): a ``/sys/class/hwmon/hwmonN`` whose
``name`` is ``ina3221`` has, per channel i = 1..3, ``in{i}_label`` (rail name),
``in{i}_input`` (bus voltage, mV) and ``curr{i}_input`` (current, mA). ``in4..6_input`` are
*shunt* voltages in uV and ``in7``/``curr4`` are sums over channels: they are not rails and
are never paired. A channel whose ``in{i}_enable`` is 0 is skipped.

Which rails are summed: NVIDIA's Jetson power guides name the module input ``VDD_IN``
(Orin, Xavier) or ``POM_5V_IN`` (Nano); the other rails (``VDD_CPU_GPU_CV``, ``VDD_SOC``
...) are parts of it, so when an input rail exists only input rails are summed, and
otherwise every rail is. The carrier board's own draw is outside all of them.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from runtime.energy.base import (Clock, MeterAbsent, MeterInfo, MeterKind, SampledPowerMeter,
                                 read_int, read_text)

DEFAULT_ROOT = Path("/sys/class/hwmon")
_FIX = "run as root or check the ina3221 driver, or use `kind` estimate"
_INPUT_RAIL_RE = re.compile(r"(^|_)IN$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Rail:
    """One INA3221 channel.

    Attributes:
        label: rail name from ``in{i}_label``, e.g. ``VDD_IN``.
        volts_path: ``in{i}_input`` (mV).
        amps_path: ``curr{i}_input`` (mA).
    """

    label: str
    volts_path: Path
    amps_path: Path

    def read_w(self) -> float:
        """Rail power now, W.

        Raises:
            MeterError: a file is unreadable or not an integer.
        """
        mv = read_int(self.volts_path, "INA3221 voltage", _FIX)
        ma = read_int(self.amps_path, "INA3221 current", _FIX)
        return mv * ma / 1e6


def find_rails(root: Path) -> tuple[Rail, ...]:
    """The rails to sum under ``root`` (see the module docstring).

    Raises:
        MeterAbsent: no ``ina3221`` hwmon device with a labelled channel exists.
        MeterError: a ``name`` or label file is unreadable.
    """
    rails: list[Rail] = []
    for dev in sorted(root.iterdir()) if root.is_dir() else []:
        name = dev / "name"
        if not name.is_file() or read_text(name, "hwmon name", _FIX) != "ina3221":
            continue
        for i in (1, 2, 3):
            label, volts, amps = dev / f"in{i}_label", dev / f"in{i}_input", dev / f"curr{i}_input"
            enable = dev / f"in{i}_enable"
            if not (label.is_file() and volts.exists() and amps.exists()):
                continue
            if enable.is_file() and read_text(enable, "INA3221 channel enable", _FIX) == "0":
                continue
            rails.append(Rail(read_text(label, "INA3221 label", _FIX), volts, amps))
    if not rails:
        raise MeterAbsent(f"no INA3221 rail monitor under {root} (no hwmon device named 'ina3221' "
                          "with labelled channels): not a Jetson, or an L4T release without the "
                          "hwmon driver; use `kind` estimate")
    inputs = [r for r in rails if _INPUT_RAIL_RE.search(r.label)]
    return tuple(inputs or rails)


class JetsonMeter(SampledPowerMeter):
    """Jetson module power from INA3221 rails, integrated over time.

    Example:
        meter = JetsonMeter()  # or JetsonMeter(Path(fixture_tree))
        meter.start(); run(); reading = meter.stop()
    """

    def __init__(self, root: Path = DEFAULT_ROOT, *, clock: Clock = time.monotonic,
                 min_interval_s: float = 0.02) -> None:
        """Find the rails and read them once, so an unreadable one fails now.

        Raises:
            MeterAbsent: no INA3221 under ``root``.
            MeterError: a rail is unreadable.
        """
        self._rails = find_rails(root)
        for rail in self._rails:
            rail.read_w()
        only_inputs = all(_INPUT_RAIL_RE.search(r.label) for r in self._rails)
        info = MeterInfo(MeterKind.JETSON, True,
                         "INA3221 " + " + ".join(r.label for r in self._rails),
                         "Jetson module input" if only_inputs else "sum of Jetson module rails")
        super().__init__(self._read_power_w, info, min_interval_s=min_interval_s, clock=clock)

    def _read_power_w(self) -> float:
        return sum(r.read_w() for r in self._rails)
