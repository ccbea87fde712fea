"""Choosing a meter: ``--meter NAME`` opens that one, ``--meter auto`` the most trusted present.

Order of trust for ``auto`` (first present wins):

1. ``csv``: only when a log is given; an external meter at the supply sees the whole
   device, and the user attached it on purpose (so a broken log is an error, not a skip).
2. ``rapl``: CPU package (+ DRAM) counters, integrated in hardware every ~1 ms.
3. ``jetson``: INA3221 shunt monitors on the module input.
4. ``pmic``: Raspberry Pi 5 PMIC output rails (SoC side only, sampled by a subprocess).
5. ``battery``: the fuel gauge; whole device but refreshed slowly and often averaged.
6. ``estimate``: CPU time x a power model; always available, never measured.

Every skipped meter leaves its one-line reason, shown in the report.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from runtime.energy.base import Meter, MeterAbsent, MeterKind
from runtime.energy.battery import BatteryMeter, CurrentUnit
from runtime.energy.cputime import EstimateMeter
from runtime.energy.csvlog import CsvLogMeter
from runtime.energy.jetson import JetsonMeter
from runtime.energy.power_models import PowerModel, detect_model_name, load_power_models
from runtime.energy.rapl import RaplMeter
from runtime.energy.vcgencmd import DEFAULT_COMMAND, PmicMeter
from runtime.errors import ConfigError, MeterError, closest

logger = logging.getLogger(__name__)

AUTO = "auto"
AUTO_ORDER: tuple[MeterKind, ...] = (MeterKind.CSV, MeterKind.RAPL, MeterKind.JETSON, MeterKind.PMIC,
                                     MeterKind.BATTERY, MeterKind.ESTIMATE)
METER_CHOICES: tuple[str, ...] = (AUTO, *(k.value for k in MeterKind))


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """Which meter to open and where its inputs live.

    Attributes:
        kind: ``"auto"`` or a :class:`MeterKind` value.
        sys_root: the filesystem root holding ``sys/class/...`` (tests pass a fixture tree).
        log_path: the external meter's CSV log (needed by ``csv``; makes ``auto`` use it).
        log_offset_s: seconds added to the log's times to match this machine's clock.
        power_model: estimate model name; None picks one for this machine.
        power_models_file: JSON/TOML file overriding or adding power models.
        battery_current_unit: how ``current_now`` is scaled.
        pmic_command: the ``vcgencmd pmic_read_adc`` command line.
    """

    kind: str = AUTO
    sys_root: Path = Path("/")
    log_path: Path | None = None
    log_offset_s: float = 0.0
    power_model: str | None = None
    power_models_file: Path | None = None
    battery_current_unit: CurrentUnit = CurrentUnit.AUTO
    pmic_command: tuple[str, ...] = DEFAULT_COMMAND

    def __post_init__(self) -> None:
        if self.kind not in METER_CHOICES:
            near = closest(self.kind, METER_CHOICES)
            raise ConfigError(f"`kind` {self.kind!r} is not a meter; choose one of "
                              f"{', '.join(METER_CHOICES)}" + (f" (did you mean {near!r}?)" if near else ""))
        if self.kind == MeterKind.CSV.value and self.log_path is None:
            raise ConfigError("`kind` csv needs the external meter's log: add `log_path` FILE.csv")


@dataclass(frozen=True, slots=True)
class MeterChoice:
    """The opened meter and why the more trusted ones were passed over.

    Attributes:
        meter: ready to ``start()``.
        skipped: ``"rapl: <reason>"`` lines, most trusted first (empty unless ``auto``).
    """

    meter: Meter
    skipped: tuple[str, ...]


def resolve_power_model(config: MeterConfig) -> PowerModel:
    """The estimate's power model named by ``config`` (or detected for this machine).

    Raises:
        ConfigError: unknown name (with the known ones and a close match) or a bad file.
    """
    models = load_power_models(config.power_models_file)
    name = config.power_model or detect_model_name(config.sys_root)
    if name not in models:
        near = closest(name, models)
        raise ConfigError(f"`power_model` {name!r} is unknown; choose one of {', '.join(sorted(models))}"
                          + (f" (did you mean {near!r}?)" if near else "")
                          + " or define it in `power_models_file` FILE")
    return models[name]


def open_meter(kind: MeterKind, config: MeterConfig) -> Meter:
    """Open one meter.

    Raises:
        MeterAbsent: its hardware or log is not there.
        MeterError: it is there but unreadable or malformed.
        ConfigError: a bad power model or option.
    """
    sys_class = config.sys_root / "sys" / "class"
    if kind is MeterKind.RAPL:
        return RaplMeter(sys_class / "powercap")
    if kind is MeterKind.BATTERY:
        return BatteryMeter(sys_class / "power_supply", current_unit=config.battery_current_unit)
    if kind is MeterKind.JETSON:
        return JetsonMeter(sys_class / "hwmon")
    if kind is MeterKind.PMIC:
        return PmicMeter(config.pmic_command)
    if kind is MeterKind.CSV:
        if config.log_path is None:
            raise MeterAbsent("no external meter log given (`log_path` FILE.csv)")
        return CsvLogMeter(config.log_path, offset_s=config.log_offset_s)
    return EstimateMeter(resolve_power_model(config))


def create_meter(config: MeterConfig) -> MeterChoice:
    """Open the meter ``config`` asks for; for ``auto``, the first present in :data:`AUTO_ORDER`.

    Raises:
        MeterError: the named meter is absent or unreadable, or the given CSV log is bad.
        ConfigError: a bad power model or option.
    """
    if config.kind != AUTO:
        return MeterChoice(open_meter(MeterKind(config.kind), config), ())
    skipped: list[str] = []
    for kind in AUTO_ORDER[:-1]:
        if kind is MeterKind.CSV and config.log_path is None:
            continue
        try:
            meter = open_meter(kind, config)
        except MeterAbsent as e:
            skipped.append(f"{kind.value}: {e}")
            continue
        except MeterError as e:
            if kind is MeterKind.CSV:
                raise
            logger.warning("meter %s is present but unusable: %s", kind.value, e)
            skipped.append(f"{kind.value}: {e}")
            continue
        return MeterChoice(meter, tuple(skipped))
    return MeterChoice(open_meter(AUTO_ORDER[-1], config), tuple(skipped))
