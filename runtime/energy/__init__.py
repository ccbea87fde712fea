"""Energy meters: hardware counters where the device has them, a CPU-time estimate where not.

Open one with :func:`create_meter` (``--meter auto`` picks the most trusted present), then
``start()`` / ``poll()`` / ``stop()`` around the work; every :class:`EnergyReading` says
whether it was measured or estimated and by which meter or model.
"""
from __future__ import annotations

from runtime.energy.base import EnergyReading, Meter, MeterAbsent, MeterInfo, MeterKind, PowerSample
from runtime.energy.power_models import BUILTIN_MODELS, CoreClass, PowerModel, load_power_models
from runtime.energy.registry import AUTO_ORDER, METER_CHOICES, MeterChoice, MeterConfig, create_meter

__all__ = [
    "AUTO_ORDER", "BUILTIN_MODELS", "METER_CHOICES", "CoreClass", "EnergyReading", "Meter", "MeterAbsent",
    "MeterChoice", "MeterConfig", "MeterInfo", "MeterKind", "PowerModel", "PowerSample", "create_meter",
    "load_power_models",
]
