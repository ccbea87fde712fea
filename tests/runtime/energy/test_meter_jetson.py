from __future__ import annotations

from pathlib import Path

import pytest

from runtime.energy.base import MeterAbsent
from runtime.energy.jetson import JetsonMeter, find_rails
from runtime.errors import MeterError
from tests.runtime.energy.trees import FakeClock, write_tree


def orin_tree(root: Path) -> Path:
    """An Orin-style INA3221 (VDD_IN + sub-rails) next to an unrelated hwmon device."""
    return write_tree(root, {
        "hwmon0/name": "cpu_thermal", "hwmon0/temp1_input": "41000",
        "hwmon1/name": "ina3221",
        "hwmon1/in1_label": "VDD_IN", "hwmon1/in1_input": "5080", "hwmon1/curr1_input": "1500",
        "hwmon1/in2_label": "VDD_CPU_GPU_CV", "hwmon1/in2_input": "5072", "hwmon1/curr2_input": "400",
        "hwmon1/in3_label": "VDD_SOC", "hwmon1/in3_input": "5072", "hwmon1/curr3_input": "700",
        "hwmon1/in4_input": "3000", "hwmon1/in7_label": "sum of shunt voltages", "hwmon1/in7_input": "9999",
        "hwmon1/curr4_input": "2600",
    })


def test_input_rail_alone_is_summed(tmp_path: Path) -> None:
    rails = find_rails(orin_tree(tmp_path))
    assert [r.label for r in rails] == ["VDD_IN"]
    assert rails[0].read_w() == pytest.approx(5.080 * 1.5)


def test_without_input_rail_every_rail_is_summed(tmp_path: Path, clock: FakeClock) -> None:
    write_tree(tmp_path, {
        "hwmon2/name": "ina3221",
        "hwmon2/in1_label": "VDD_GPU", "hwmon2/in1_input": "5000", "hwmon2/curr1_input": "200",
        "hwmon2/in2_label": "VDD_CPU", "hwmon2/in2_input": "5000", "hwmon2/curr2_input": "600",
        "hwmon2/in3_label": "VDD_SOC", "hwmon2/in3_input": "5000", "hwmon2/curr3_input": "100",
        "hwmon2/in3_enable": "0",
    })
    meter = JetsonMeter(tmp_path, clock=clock)
    assert meter.info.source == "INA3221 VDD_GPU + VDD_CPU"
    assert meter.info.scope == "sum of Jetson module rails"
    meter.start()
    clock.advance(0.5)
    (tmp_path / "hwmon2/curr2_input").write_text("1600\n")
    meter.poll()
    clock.advance(0.5)
    reading = meter.stop()
    # 4 W -> 9 W -> 9 W, trapezoid over two half-seconds
    assert reading.energy_j == pytest.approx(0.5 * (4 + 9) / 2 + 0.5 * 9)


def test_no_ina3221_is_absent(tmp_path: Path) -> None:
    write_tree(tmp_path, {"hwmon0/name": "cpu_thermal"})
    with pytest.raises(MeterAbsent, match="no INA3221 rail monitor"):
        JetsonMeter(tmp_path)


def test_unreadable_rail_is_an_error(tmp_path: Path) -> None:
    root = orin_tree(tmp_path)
    (root / "hwmon1/curr1_input").write_text("\n")
    with pytest.raises(MeterError, match=r"INA3221 current .*curr1_input holds nothing, not an integer"):
        JetsonMeter(root)
