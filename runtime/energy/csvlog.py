"""An external USB power meter's CSV log, aligned to the run by wall-clock time.

The log must be written while the profile runs (a logger appending rows, e.g. a USB
meter's PC tool in live-CSV mode). At the end of each segment the meter re-reads the file,
waits briefly for rows covering the segment's end, and integrates the rows inside the
segment with the trapezoid rule; the segment's ends are linearly interpolated.

Format: a header row, then one row per sample. Columns are found by name (case, spaces and
a unit in brackets do not matter: ``Power (W)`` = ``power_w``):
- time: ``timestamp``/``time``/``unix_time``/``epoch``/``ts``/``t``/``datetime``: Unix
  seconds (milliseconds if > 1e12) or ISO 8601 (naive = local time);
- power: ``watts``/``power``/``power_w``/``w``, or ``power_mw``/``mw``; or else
- voltage ``volts``/``voltage``/``voltage_v``/``v`` (or ``_mv``) and current
  ``amps``/``current``/``current_a``/``a`` (or ``_ma``).
``offset_s`` is added to every log time to correct the meter's clock (use the epoch of the
log's zero for logs with relative times). Gaps longer than ``max_gap_s`` are bridged
linearly but may cover at most ``max_gap_fraction`` of a segment.
"""
from __future__ import annotations

import csv
import enum
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

import numpy as np
from numpy.typing import NDArray

from runtime.energy.base import (Clock, EnergyReading, MeterAbsent, MeterBase, MeterInfo, MeterKind,
                                 PowerSample)
from runtime.errors import ConfigError, MeterError

logger = logging.getLogger(__name__)


class _Role(enum.Enum):
    TIME = "time"
    POWER = "power"
    VOLTAGE = "voltage"
    CURRENT = "current"


_COLUMNS: dict[str, tuple[_Role, float]] = {
    **{n: (_Role.TIME, 1.0) for n in ("timestamp", "timestamp_s", "time", "time_s", "unix_time",
                                       "epoch", "ts", "t", "datetime", "date_time")},
    **{n: (_Role.POWER, 1.0) for n in ("watts", "power", "power_w", "w")},
    **{n: (_Role.POWER, 1e-3) for n in ("power_mw", "mw", "milliwatts")},
    **{n: (_Role.VOLTAGE, 1.0) for n in ("volts", "voltage", "voltage_v", "v")},
    **{n: (_Role.VOLTAGE, 1e-3) for n in ("voltage_mv", "mv", "millivolts")},
    **{n: (_Role.CURRENT, 1.0) for n in ("amps", "current", "current_a", "a")},
    **{n: (_Role.CURRENT, 1e-3) for n in ("current_ma", "ma", "milliamps")},
}
_ACCEPTED = "a time column (timestamp/time/epoch) and watts, or volts and amps"


def _normalise(header: str) -> str:
    h = re.sub(r"[\(\[]\s*(\w+)\s*[\)\]]", r"_\1", header.strip().lower())
    return re.sub(r"[\s\-]+", "_", h).strip("_").replace("__", "_")


@dataclass(frozen=True, slots=True)
class PowerLog:
    """A parsed log, sorted by time.

    Attributes:
        t_s: float64 (N,), Unix seconds with the offset applied.
        power_w: float64 (N,), watts.
        columns: how power was obtained, e.g. ``"Power (W)"`` or ``"V x I (mA)"``.
    """

    t_s: NDArray[np.float64]
    power_w: NDArray[np.float64]
    columns: str


def _parse_time(text: str) -> float:
    try:
        value = float(text)
        return value / 1e3 if value > 1e12 else value
    except ValueError:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).timestamp()


def read_power_log(path: Path, offset_s: float = 0.0) -> PowerLog:
    """Parse a power log (see the module docstring).

    Raises:
        MeterAbsent: the file does not exist.
        MeterError: unreadable, no usable columns, or a malformed row (named by line).
    """
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except FileNotFoundError as e:
        raise MeterAbsent(f"power log {path} does not exist; start the USB meter's CSV logging "
                          "before the run, or fix `log_path`") from e
    except OSError as e:
        raise MeterError(f"power log {path} could not be read ({e.strerror or e}); check the path "
                         "and permissions, or fix `log_path`") from e
    rows = list(csv.reader(text.splitlines()))
    header = rows[0] if rows else []
    cols: dict[_Role, tuple[int, float, str]] = {}
    for i, name in enumerate(header):
        role = _COLUMNS.get(_normalise(name))
        if role is not None and role[0] not in cols:
            cols[role[0]] = (i, role[1], name.strip())
    has_power = _Role.POWER in cols or (_Role.VOLTAGE in cols and _Role.CURRENT in cols)
    if _Role.TIME not in cols or not has_power:
        raise MeterError(f"power log {path}: header {','.join(header)[:80]!r} lacks {_ACCEPTED}; "
                         "rename the columns or fix `log_path`")
    wanted = [_Role.TIME, _Role.POWER] if _Role.POWER in cols else [_Role.TIME, _Role.VOLTAGE, _Role.CURRENT]
    need = max(cols[r][0] for r in wanted) + 1
    times: list[float] = []
    watts: list[float] = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        try:
            if len(row) < need:
                raise ValueError(f"{len(row)} fields, expected at least {need}")
            t = _parse_time(row[cols[_Role.TIME][0]])
            if _Role.POWER in cols:
                w = float(row[cols[_Role.POWER][0]]) * cols[_Role.POWER][1]
            else:
                w = (float(row[cols[_Role.VOLTAGE][0]]) * cols[_Role.VOLTAGE][1]
                     * float(row[cols[_Role.CURRENT][0]]) * cols[_Role.CURRENT][1])
        except ValueError as e:
            raise MeterError(f"power log {path} line {lineno} is malformed ({e}: {','.join(row)[:60]!r}); "
                             "fix or delete that row") from e
        if not (np.isfinite(t) and np.isfinite(w)):
            raise MeterError(f"power log {path} line {lineno} holds a non-finite value; fix or delete that row")
        times.append(t + offset_s)
        watts.append(abs(w))
    t_arr = np.asarray(times, np.float64)
    order = np.argsort(t_arr, kind="stable")
    how = cols[_Role.POWER][2] if _Role.POWER in cols else \
        f"{cols[_Role.VOLTAGE][2]} x {cols[_Role.CURRENT][2]}"
    return PowerLog(t_arr[order], np.asarray(watts, np.float64)[order], how)


def integrate_window(log: PowerLog, t0_s: float, t1_s: float, max_gap_s: float
                     ) -> tuple[float, tuple[PowerSample, ...], float]:
    """Joules in ``[t0_s, t1_s]``, the samples used, and the seconds spent in gaps.

    The window's ends are interpolated between the neighbouring rows; the part of the
    window between two rows more than ``max_gap_s`` apart is gap time. Coverage is checked
    by the caller.
    """
    inside = (log.t_s > t0_s) & (log.t_s < t1_s)
    t = np.concatenate([[t0_s], log.t_s[inside], [t1_s]])
    p = np.interp(t, log.t_s, log.power_w)
    steps = np.diff(t)
    energy = float(np.sum(steps * (p[1:] + p[:-1]) / 2))
    left, right = log.t_s[:-1], log.t_s[1:]
    wide = (right - left) > max_gap_s
    gap_s = float(np.sum(np.clip(np.minimum(right[wide], t1_s) - np.maximum(left[wide], t0_s), 0.0, None)))
    return energy, tuple(PowerSample(float(ti), float(pi)) for ti, pi in zip(t, p)), gap_s


class CsvLogMeter(MeterBase):
    """Energy from an external meter's live CSV log.

    Example:
        meter = CsvLogMeter(Path("usb-meter.csv"), offset_s=-0.4)
        meter.start(); run(); reading = meter.stop()
    """

    def __init__(self, path: Path, *, offset_s: float = 0.0, max_gap_s: float = 2.0,
                 max_gap_fraction: float = 0.25, wait_s: float | None = None,
                 clock: Clock = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        """Parse the log once so that a missing or malformed file fails now.

        Args:
            path: the CSV log.
            offset_s: seconds added to log times (meter clock -> this machine's clock).
            max_gap_s: row spacing above which a stretch counts as a gap.
            max_gap_fraction: the largest share of a segment that gaps may cover.
            wait_s: how long ``stop`` waits for rows covering the segment's end
                (default ``max_gap_s``).
            clock: Unix seconds (tests pass a fake one).
            sleep: waits between re-reads of the log.

        Raises:
            ConfigError: a negative gap or wait.
            MeterAbsent: the file does not exist.
            MeterError: it is malformed.
        """
        if max_gap_s <= 0 or not 0 <= max_gap_fraction <= 1 or (wait_s is not None and wait_s < 0):
            raise ConfigError("power log: max_gap_s must be > 0, max_gap_fraction in [0, 1] and wait_s >= 0")
        self._path = path
        self._offset_s = offset_s
        self._max_gap_s = max_gap_s
        self._max_gap_fraction = max_gap_fraction
        self._wait_s = max_gap_s if wait_s is None else wait_s
        self._clock = clock
        self._sleep = sleep
        log = read_power_log(path, offset_s)
        super().__init__(MeterInfo(MeterKind.CSV, True, f"power log {path} ({log.columns})",
                                   "whatever the external meter is wired to (usually the whole device)"))
        self._t0: float | None = None

    def start(self) -> None:
        self._t0 = self._clock()

    def poll(self) -> None:
        """Nothing to do: the external meter samples on its own."""

    def stop(self) -> EnergyReading:
        if self._t0 is None:
            raise MeterError("csv meter stopped before start(); call start() first")
        t0, t1, self._t0 = self._t0, self._clock(), None
        log = read_power_log(self._path, self._offset_s)
        deadline = self._clock() + self._wait_s
        while (not log.t_s.size or log.t_s[-1] < t1) and self._clock() < deadline:
            self._sleep(min(0.1, self._wait_s))
            log = read_power_log(self._path, self._offset_s)
        self._check_coverage(log, t0, t1)
        energy, samples, gap_s = integrate_window(log, t0, t1, self._max_gap_s)
        if gap_s > self._max_gap_fraction * (t1 - t0):
            raise MeterError(f"power log {self._path} has gaps over {gap_s:.1f} s of a {t1 - t0:.1f} s "
                             f"segment (rows more than {self._max_gap_s} s apart); check the meter's "
                             "connection and logging rate, or raise the allowed gap")
        if gap_s > 0:
            logger.warning("power log %s: bridged %.2f s of gaps linearly", self._path, gap_s)
        return EnergyReading(energy, t0, t1 - t0, samples, self._info)

    def _check_coverage(self, log: PowerLog, t0: float, t1: float) -> None:
        def when(t: float) -> str:
            return datetime.fromtimestamp(t).isoformat(timespec="seconds")
        if not log.t_s.size:
            raise MeterError(f"power log {self._path} has no rows; is the meter logging?")
        if log.t_s[0] > t0 + self._max_gap_s or log.t_s[-1] < t1 - self._max_gap_s:
            raise MeterError(f"power log {self._path} covers {when(log.t_s[0])} to {when(log.t_s[-1])} "
                             f"but the segment ran {when(t0)} to {when(t1)}; keep the meter logging "
                             "through the run, or correct its clock with `log_offset_s`")
