"""Battery draw through the Linux ``power_supply`` class (laptops, Android phones).

Format (Linux ``Documentation/ABI/testing/sysfs-class-power``): each supply is a directory
with ``type`` (``Battery``, ``Mains``, ``USB`` ...), ``status`` (``Charging``,
``Discharging``, ``Not charging``, ``Full``, ``Unknown``) and, for batteries, ``power_now``
in microwatts or ``current_now`` in microamps and ``voltage_now`` in microvolts.

Real devices bend the ABI, and this reader allows for it:
- Sign: the ABI says negative current means discharging (since Linux 5.10), but many
  drivers (most laptops, many phones) report a positive current while discharging. The
  sign is ignored; ``status`` decides whether the battery is powering the device.
- Units: some Android fuel-gauge drivers report ``current_now`` in mA and ``voltage_now``
  in mV. Magnitudes tell them apart: a device running a model draws at least 20 mA
  (20,000 uA) and a battery sits between 1 V and 100 V, so ``|current| < 20,000`` is read as
  mA and ``voltage < 100,000`` as mV (``power_now < 100,000`` as mW). Pass the unit
  explicitly where this guess could be wrong.
- Fuel gauges refresh every 0.25-10 s and may average: give segments several seconds.
"""
from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from pathlib import Path

from runtime.energy.base import (Clock, MeterAbsent, MeterInfo, MeterKind, SampledPowerMeter,
                                 read_int, read_text)
from runtime.errors import MeterError

DEFAULT_ROOT = Path("/sys/class/power_supply")
_FIX = "check the battery driver, or use `kind` estimate"
_MILLI_CURRENT_BELOW = 20_000
_MILLI_VOLTAGE_BELOW = 100_000
_MILLI_POWER_BELOW = 100_000


class CurrentUnit(str, enum.Enum):
    """How ``current_now`` is scaled: guessed from its magnitude, microamps or milliamps."""

    AUTO = "auto"
    MICRO = "uA"
    MILLI = "mA"


@dataclass(frozen=True, slots=True)
class BatteryReading:
    """One battery's draw now.

    Attributes:
        name: the supply directory, e.g. ``BAT0``.
        power_w: watts leaving the battery (always >= 0).
        method: how it was computed, e.g. ``"current_now (mA) x voltage_now (uV)"``.
    """

    name: str
    power_w: float
    method: str


def _volts(raw: int) -> tuple[float, str]:
    return (raw / 1e6, "uV") if abs(raw) >= _MILLI_VOLTAGE_BELOW else (raw / 1e3, "mV")


def _amps(raw: int, unit: CurrentUnit) -> tuple[float, str]:
    milli = unit is CurrentUnit.MILLI or (unit is CurrentUnit.AUTO and abs(raw) < _MILLI_CURRENT_BELOW)
    return (abs(raw) / 1e3, "mA") if milli else (abs(raw) / 1e6, "uA")


def read_battery(supply: Path, unit: CurrentUnit = CurrentUnit.AUTO) -> BatteryReading:
    """Read one battery directory now.

    Raises:
        MeterError: the battery is not discharging (a charger powers the device, so the
            battery's flow says nothing about the load), or its files are unreadable.
    """
    status = read_text(supply / "status", "battery status", _FIX)
    if status != "Discharging":
        raise MeterError(f"battery {supply} reports status {status!r}, so it is not powering the "
                         "device; unplug the charger, or use `kind` csv (external meter) or `kind` estimate")
    if (supply / "power_now").exists():
        raw = read_int(supply / "power_now", "battery power", _FIX)
        scale, name = (1e6, "uW") if abs(raw) >= _MILLI_POWER_BELOW else (1e3, "mW")
        return BatteryReading(supply.name, abs(raw) / scale, f"power_now ({name})")
    if not (supply / "current_now").exists() or not (supply / "voltage_now").exists():
        raise MeterError(f"battery {supply} has neither power_now nor current_now + voltage_now; "
                         "this driver cannot report its draw: use `kind` estimate")
    amps, a_unit = _amps(read_int(supply / "current_now", "battery current", _FIX), unit)
    volts, v_unit = _volts(read_int(supply / "voltage_now", "battery voltage", _FIX))
    return BatteryReading(supply.name, amps * volts, f"current_now ({a_unit}) x voltage_now ({v_unit})")


def find_batteries(root: Path) -> tuple[Path, ...]:
    """Supply directories under ``root`` whose ``type`` is ``Battery`` and that are present.

    Raises:
        MeterAbsent: none found.
    """
    found = []
    for supply in sorted(root.iterdir()) if root.is_dir() else []:
        kind = supply / "type"
        if not kind.is_file() or read_text(kind, "power-supply type", _FIX) != "Battery":
            continue
        present = supply / "present"
        if present.is_file() and read_text(present, "battery presence", _FIX) == "0":
            continue
        found.append(supply)
    if not found:
        raise MeterAbsent(f"no battery under {root} (no power_supply with type 'Battery'); "
                          "use `kind` estimate, or `kind` csv with an external USB meter's log")
    return tuple(found)


class BatteryMeter(SampledPowerMeter):
    """Total draw of every present battery, integrated over time.

    Example:
        meter = BatteryMeter()  # or BatteryMeter(Path(fixture_tree))
        meter.start(); run(); reading = meter.stop()
    """

    def __init__(self, root: Path = DEFAULT_ROOT, *, current_unit: CurrentUnit = CurrentUnit.AUTO,
                 clock: Clock = time.monotonic, min_interval_s: float = 0.25) -> None:
        """Find the batteries and read them once, so a charging or unreadable one fails now.

        Raises:
            MeterAbsent: no battery under ``root``.
            MeterError: a battery is charging or unreadable.
        """
        self._supplies = find_batteries(root)
        self._unit = current_unit
        first = [read_battery(s, current_unit) for s in self._supplies]
        source = " + ".join(f"{r.name} {r.method}" for r in first)
        info = MeterInfo(MeterKind.BATTERY, True, source, "whole device, from the battery")
        super().__init__(self._read_power_w, info, min_interval_s=min_interval_s, clock=clock)

    def _read_power_w(self) -> float:
        return sum(read_battery(s, self._unit).power_w for s in self._supplies)
