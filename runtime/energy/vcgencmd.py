"""Raspberry Pi 5 power from its PMIC's rail monitors, via ``vcgencmd pmic_read_adc``.

Format (Raspberry Pi 5 firmware; one line per ADC channel, rails paired by name)::

       VDD_CORE_A current(7)=2.13300000A
       VDD_CORE_V volt(15)=0.84000000V
       EXT5V_V volt(24)=5.15096000V

``<RAIL>_A current(n)=<amps>A`` and ``<RAIL>_V volt(n)=<volts>V``. Power is the sum of
volts x amps over rails that have both; voltage-only channels (``EXT5V_V`` = USB-C input,
``BATT_V`` = RTC cell) are not summed. The sum covers the PMIC's output rails only: it
leaves out the PMIC's own conversion losses and whatever the 5 V input feeds directly
(USB ports, fan, HATs), so it reads below a USB meter at the wall.

Each reading runs the command once (about 10-20 ms of CPU on a Pi 5), so the meter polls
at most every 0.5 s by default.
"""
from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from typing import Sequence

from runtime.energy.base import Clock, MeterAbsent, MeterInfo, MeterKind, SampledPowerMeter
from runtime.errors import MeterError

DEFAULT_COMMAND: tuple[str, ...] = ("vcgencmd", "pmic_read_adc")
_LINE_RE = re.compile(r"^\s*(?P<rail>\S+?)_(?P<suffix>[AV])\s+(?P<kind>current|volt)\(\d+\)="
                      r"(?P<value>[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)(?P<unit>[AV])\s*$")
_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class RailPower:
    """One PMIC rail.

    Attributes:
        rail: the name without its ``_A``/``_V`` suffix, e.g. ``VDD_CORE``.
        volts: rail voltage, V.
        amps: rail current, A.
    """

    rail: str
    volts: float
    amps: float

    @property
    def watts(self) -> float:
        """Rail power, W."""
        return self.volts * self.amps


def parse_pmic_adc(text: str) -> tuple[RailPower, ...]:
    """Pair the current and voltage lines of ``pmic_read_adc`` output by rail, sorted by name.

    Raises:
        MeterError: no line has the expected shape (not a Pi 5, or old firmware).
    """
    amps: dict[str, float] = {}
    volts: dict[str, float] = {}
    for line in text.splitlines():
        m = _LINE_RE.match(line)
        if m is None:
            continue
        table = amps if m["kind"] == "current" else volts
        table[m["rail"]] = float(m["value"])
    rails = tuple(RailPower(r, volts[r], amps[r]) for r in sorted(amps.keys() & volts.keys()))
    if not rails:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "nothing")
        raise MeterError(f"`vcgencmd pmic_read_adc` printed no rail current/voltage pairs (first line: "
                         f"{first[:60]!r}); it needs a Raspberry Pi 5 with current firmware "
                         "(`sudo rpi-eeprom-update`), or use `kind` estimate")
    return rails


def read_pmic(command: Sequence[str] = DEFAULT_COMMAND) -> tuple[RailPower, ...]:
    """Run the command once and parse its rails.

    Raises:
        MeterAbsent: the command is not installed.
        MeterError: it failed, timed out or printed no rails.
    """
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
    except FileNotFoundError as e:
        raise MeterAbsent(f"`{command[0]}` not found: the PMIC meter needs a Raspberry Pi 5 with "
                          "the firmware tools (`sudo apt install raspi-utils`); use `kind` estimate") from e
    except (subprocess.TimeoutExpired, PermissionError) as e:
        raise MeterError(f"`{' '.join(command)}` did not run ({e}); check it works in a shell, "
                         "or use `kind` estimate") from e
    if done.returncode != 0:
        err = (done.stderr or done.stdout).strip().splitlines()
        raise MeterError(f"`{' '.join(command)}` exited {done.returncode} "
                         f"({err[0][:80] if err else 'no message'}); run it as a user in the "
                         "`video` group, or use `kind` estimate")
    return parse_pmic_adc(done.stdout)


class PmicMeter(SampledPowerMeter):
    """Raspberry Pi 5 PMIC rail power, integrated over time.

    Example:
        meter = PmicMeter()  # or PmicMeter(("/path/to/fake-vcgencmd", "pmic_read_adc"))
        meter.start(); run(); reading = meter.stop()
    """

    def __init__(self, command: Sequence[str] = DEFAULT_COMMAND, *, clock: Clock = time.monotonic,
                 min_interval_s: float = 0.5) -> None:
        """Run the command once so that a missing or broken tool fails now.

        Raises:
            MeterAbsent: ``vcgencmd`` is not installed.
            MeterError: it fails or prints no rails.
        """
        self._command = tuple(command)
        rails = read_pmic(self._command)
        info = MeterInfo(MeterKind.PMIC, True,
                         f"`{' '.join(self._command)}`: {len(rails)} rails ({', '.join(r.rail for r in rails)})",
                         "Raspberry Pi 5 PMIC output rails (excludes PMIC losses, USB and peripherals)")
        super().__init__(self._read_power_w, info, min_interval_s=min_interval_s, clock=clock)

    def _read_power_w(self) -> float:
        return sum(r.watts for r in read_pmic(self._command))
