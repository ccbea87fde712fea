"""Device power models for the CPU-time estimate: idle watts + watts per busy core.

A model says what a device draws doing nothing (``idle_w``) and how much each fully busy
core adds on top (``busy_w`` per core class). Built-in models and their bases:

- ``pi4``: Raspberry Pi 4B, 4 x Cortex-A72. Published board figures 1.6 W idle, 5.0 W
  under an all-core stress test: (5.0 - 1.6) / 4 = 0.85 W per busy core.
- ``pi5``: Raspberry Pi 5, 4 x Cortex-A76. Published 2.8 W idle, 9.7 W under stress:
  (9.7 - 2.8) / 4 = 1.725 W per busy core.
- ``phone-big-little``: a 4 big + 4 little phone SoC. Big core 1.0 W: AnandTech measured
  about 1 W per Cortex-A77 core at 2.6 GHz (Dimensity 1000, "Arm's New Cortex-A78 and
  Cortex-X1", 2020). Little core 0.15 W and 0.5 W idle (SoC + DRAM, screen off) are
  assumptions.
- ``x86-generic``: one laptop-class x86 core. 5 W idle and 4 W per busy core are
  assumptions (a 15-28 W four-core mobile package), not measurements.

Override or add models from a JSON or TOML file shaped like::

    [models.pi5]            # JSON: {"models": {"pi5": {...}}}
    idle_w = 2.7            # fields left out keep the built-in value
    cores = [{name = "a76", count = 4, busy_w = 1.8}]
    source = "my USB meter, 2025-01"
"""
from __future__ import annotations

import json
import platform
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from runtime.errors import ConfigError


@dataclass(frozen=True, slots=True)
class CoreClass:
    """Identical cores of one kind.

    Attributes:
        name: e.g. ``"big"`` or ``"cortex-a76"``.
        count: how many, >= 1.
        busy_w: watts one fully busy core adds over idle, > 0.
    """

    name: str
    count: int
    busy_w: float

    def __post_init__(self) -> None:
        if self.count < 1 or not self.busy_w > 0:
            raise ConfigError(f"core class {self.name!r}: count must be >= 1 and busy_w > 0 "
                              f"(got count={self.count}, busy_w={self.busy_w})")


@dataclass(frozen=True, slots=True)
class PowerModel:
    """Idle watts plus watts per busy core, fastest core class first.

    Example:
        model = BUILTIN_MODELS["pi5"]
        joules = model.energy_j(wall_s=2.0, thread_cpu_s=[1.9, 0.4])
    """

    name: str
    idle_w: float
    cores: tuple[CoreClass, ...]
    source: str

    def __post_init__(self) -> None:
        if not self.name or self.idle_w < 0 or not self.cores:
            raise ConfigError(f"power model {self.name!r}: needs a name, idle_w >= 0 and at least "
                              "one core class")

    @property
    def summary(self) -> str:
        """One line, e.g. ``"pi5: 2.8 W idle + 1.725 W per busy core (4 x cortex-a76)"``."""
        cores = " + ".join(f"{c.busy_w:g} W per busy core ({c.count} x {c.name})" for c in self.cores)
        return f"{self.name}: {self.idle_w:g} W idle + {cores}"

    def active_energy_j(self, thread_cpu_s: Sequence[float]) -> float:
        """Joules above idle for the given per-thread CPU seconds.

        Assumption: the busiest threads run on the fastest cores (what big.LITTLE
        schedulers do with a sustained load): the top ``count`` threads take the first
        class, the next ones the second, and any beyond every core the last class's rate.
        """
        ranked = sorted((max(t, 0.0) for t in thread_cpu_s), reverse=True)
        joules, start = 0.0, 0
        for i, core in enumerate(self.cores):
            stop = len(ranked) if i == len(self.cores) - 1 else start + core.count
            joules += core.busy_w * sum(ranked[start:stop])
            start = stop
        return joules

    def energy_j(self, wall_s: float, thread_cpu_s: Sequence[float]) -> float:
        """Joules over ``wall_s`` seconds: idle plus :meth:`active_energy_j`."""
        return self.idle_w * wall_s + self.active_energy_j(thread_cpu_s)


_STACK = "published board figures (recorded in the project's STACK facts)"
BUILTIN_MODELS: dict[str, PowerModel] = {m.name: m for m in (
    PowerModel("pi4", 1.6, (CoreClass("cortex-a72", 4, 0.85),), f"Raspberry Pi 4B {_STACK}: 1.6 W idle, 5.0 W stress"),
    PowerModel("pi5", 2.8, (CoreClass("cortex-a76", 4, 1.725),), f"Raspberry Pi 5 {_STACK}: 2.8 W idle, 9.7 W stress"),
    PowerModel("phone-big-little", 0.5, (CoreClass("big", 4, 1.0), CoreClass("little", 4, 0.15)),
               "big core: AnandTech 2020 (~1 W per Cortex-A77 at 2.6 GHz); little core and idle: assumptions"),
    PowerModel("x86-generic", 5.0, (CoreClass("x86", 4, 4.0),),
               "assumptions for a 15-28 W four-core laptop package; measure and override"),
)}


def _model_from_table(name: str, table: Any, base: PowerModel | None, where: str) -> PowerModel:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: models.{name} must be a table/object; see runtime/energy/power_models.py")
    unknown = set(table) - {"idle_w", "cores", "source"}
    if unknown:
        raise ConfigError(f"{where}: models.{name} has unknown key(s) {sorted(unknown)}; "
                          "allowed: idle_w, cores, source")
    if base is None and not {"idle_w", "cores"} <= set(table):
        raise ConfigError(f"{where}: new model models.{name} needs idle_w and cores "
                          f"(built-in models: {', '.join(BUILTIN_MODELS)})")
    try:
        cores = tuple(CoreClass(str(c["name"]), int(c["count"]), float(c["busy_w"]))
                      for c in table["cores"]) if "cores" in table else base.cores if base else ()
        idle = float(table["idle_w"]) if "idle_w" in table else base.idle_w if base else 0.0
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(f"{where}: models.{name} is malformed ({e!r}); each core needs name, "
                          "count and busy_w, and idle_w must be a number") from e
    return PowerModel(name, idle, cores, str(table.get("source", f"overridden in {where}")))


def load_power_models(path: Path | None = None) -> dict[str, PowerModel]:
    """The built-in models, overridden or extended by ``path`` (``.json`` or ``.toml``).

    Raises:
        ConfigError: the file is missing, not JSON/TOML, or a model in it is invalid.
    """
    models = dict(BUILTIN_MODELS)
    if path is None:
        return models
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode()) if path.suffix.lower() == ".toml" else json.loads(raw)
    except FileNotFoundError as e:
        raise ConfigError(f"power-model file {path} not found; fix `power_models_file`") from e
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ConfigError(f"power-model file {path} is not valid {'TOML' if path.suffix == '.toml' else 'JSON'} "
                          f"({e}); fix the file or `power_models_file`") from e
    except RecursionError as e:
        raise ConfigError(f"power-model file {path} is nested too deeply to be a power-model table; "
                          "fix the file or `power_models_file`") from e
    table = data.get("models") if isinstance(data, dict) else None
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"power-model file {path} has no 'models' table; see runtime/energy/power_models.py")
    for name, entry in table.items():
        models[name] = _model_from_table(name, entry, BUILTIN_MODELS.get(name), str(path))
    return models


def detect_model_name(root: Path = Path("/")) -> str:
    """The built-in model for the machine under ``root``: Pi board, Android phone or x86.

    Reads the device-tree model (``proc/device-tree/model``) and Android's
    ``system/build.prop``; falls back to the CPU architecture.
    """
    for rel in ("proc/device-tree/model", "sys/firmware/devicetree/base/model"):
        try:
            board = (root / rel).read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "Raspberry Pi 5" in board:
            return "pi5"
        if "Raspberry Pi 4" in board:
            return "pi4"
    if (root / "system/build.prop").is_file():
        return "phone-big-little"
    return "phone-big-little" if platform.machine().lower() in ("aarch64", "arm64") else "x86-generic"
