from __future__ import annotations

import threading
import time

import pytest

from runtime.energy.cputime import CpuSnapshot, EstimateMeter, thread_cpu_s
from runtime.energy.power_models import CoreClass, PowerModel
from tests.runtime.energy.trees import FakeClock

MODEL = PowerModel("test", 2.0, (CoreClass("core", 4, 3.0),), "test")


def burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        x += 1


def test_thread_split_sums_to_the_exact_process_time() -> None:
    before = CpuSnapshot(0.0, 10.0, {1: 5.0, 2: 1.0, 3: 0.5})
    after = CpuSnapshot(1.0, 11.5, {1: 5.8, 2: 1.3, 4: 0.2})        # 3 ended, 4 is new
    split = thread_cpu_s(before, after)
    assert split[:3] == pytest.approx([0.8, 0.3, 0.2])
    assert sum(split) == pytest.approx(1.5)
    rounded_up = CpuSnapshot(1.0, 10.5, {1: 5.8, 2: 1.3})             # ticks overshoot the total
    assert sum(thread_cpu_s(before, rounded_up)) == pytest.approx(0.5)


def test_reused_thread_id_counts_from_zero() -> None:
    before = CpuSnapshot(0.0, 1.0, {7: 0.9})
    after = CpuSnapshot(1.0, 1.2, {7: 0.2})
    assert thread_cpu_s(before, after) == pytest.approx([0.2])


def test_estimate_charges_idle_wall_time_and_busy_cpu(clock: FakeClock) -> None:
    meter = EstimateMeter(MODEL, clock=clock)
    assert not meter.info.measured and meter.idle_power_w == 2.0
    assert "CPU-time model test: 2 W idle + 3 W per busy core" in meter.info.source
    meter.start()
    cpu0 = time.process_time()
    worker = threading.Thread(target=burn, args=(0.15,))
    worker.start()
    burn(0.15)
    worker.join()
    cpu = time.process_time() - cpu0
    clock.advance(10.0)                                   # the fake wall clock: 10 s passed
    reading = meter.stop()
    assert reading.duration_s == 10.0
    # idle 2 W x 10 s + 3 W per busy core-second; the meter's own reads add a little CPU
    assert reading.energy_j == pytest.approx(20.0 + 3.0 * cpu, abs=0.05)
    assert reading.energy_j > 20.0 + 3.0 * 0.25
