from __future__ import annotations

from pathlib import Path

import pytest

from runtime.energy.base import MeterAbsent
from runtime.energy.battery import BatteryMeter, CurrentUnit, find_batteries, read_battery
from runtime.errors import MeterError
from tests.runtime.energy.trees import FakeClock, write_tree


def supply(root: Path, name: str, **attrs: str) -> Path:
    return write_tree(root, {f"{name}/{k}": v for k, v in attrs.items()}) / name


# (attributes, expected watts, expected method): the unit and sign variants seen on real devices
VARIANTS = [
    ({"power_now": "12500000"}, 12.5, "power_now (uW)"),                           # laptop, uW
    ({"power_now": "3200"}, 3.2, "power_now (mW)"),                                # mW driver
    ({"current_now": "850000", "voltage_now": "3900000"}, 3.315, "current_now (uA) x voltage_now (uV)"),
    ({"current_now": "-850000", "voltage_now": "3900000"}, 3.315, "current_now (uA) x voltage_now (uV)"),
    ({"current_now": "-850", "voltage_now": "3900000"}, 3.315, "current_now (mA) x voltage_now (uV)"),
    ({"current_now": "850", "voltage_now": "3900"}, 3.315, "current_now (mA) x voltage_now (mV)"),
]


@pytest.mark.parametrize("attrs, watts, method", VARIANTS)
def test_sign_and_unit_variants(tmp_path: Path, attrs: dict[str, str], watts: float, method: str) -> None:
    bat = supply(tmp_path, "battery", type="Battery", status="Discharging", **attrs)
    reading = read_battery(bat)
    assert reading.power_w == pytest.approx(watts)
    assert reading.method == method


def test_explicit_unit_overrides_the_guess(tmp_path: Path) -> None:
    bat = supply(tmp_path, "BAT0", type="Battery", status="Discharging",
                 current_now="15000", voltage_now="3800000")          # 15 mA in uA, or 15 A in mA?
    assert read_battery(bat).power_w == pytest.approx(57.0)            # guess: mA
    assert read_battery(bat, CurrentUnit.MICRO).power_w == pytest.approx(0.057)


@pytest.mark.parametrize("status", ["Charging", "Full", "Not charging"])
def test_battery_not_powering_the_device_is_refused(tmp_path: Path, status: str) -> None:
    bat = supply(tmp_path, "BAT0", type="Battery", status=status, power_now="5000000")
    with pytest.raises(MeterError, match=rf"reports status '{status}'.*unplug the charger"):
        read_battery(bat)


def test_only_present_batteries_are_found(tmp_path: Path) -> None:
    supply(tmp_path, "AC", type="Mains", online="0")
    supply(tmp_path, "BAT0", type="Battery", status="Discharging", power_now="1")
    supply(tmp_path, "BAT1", type="Battery", present="0", status="Unknown")
    assert [p.name for p in find_batteries(tmp_path)] == ["BAT0"]


def test_no_battery_is_absent(tmp_path: Path) -> None:
    supply(tmp_path, "AC", type="Mains", online="1")
    with pytest.raises(MeterAbsent, match="no battery under"):
        BatteryMeter(tmp_path)
    with pytest.raises(MeterAbsent, match="no battery under"):
        BatteryMeter(tmp_path / "missing")


def test_battery_without_draw_files_is_explained(tmp_path: Path) -> None:
    supply(tmp_path, "BAT0", type="Battery", status="Discharging", voltage_now="3800000")
    with pytest.raises(MeterError, match="neither power_now nor current_now"):
        BatteryMeter(tmp_path)


def test_meter_integrates_two_batteries(tmp_path: Path, clock: FakeClock) -> None:
    b0 = supply(tmp_path, "BAT0", type="Battery", status="Discharging", power_now="4000000")
    supply(tmp_path, "BAT1", type="Battery", status="Discharging", current_now="-1000000", voltage_now="2000000")
    meter = BatteryMeter(tmp_path, clock=clock, min_interval_s=0.25)
    assert "BAT0 power_now (uW) + BAT1 current_now (uA) x voltage_now (uV)" == meter.info.source
    meter.start()                                     # 6 W
    clock.advance(1.0)
    (b0 / "power_now").write_text("8000000\n")        # 10 W
    meter.poll()
    clock.advance(1.0)
    reading = meter.stop()                            # 10 W
    assert reading.energy_j == pytest.approx(8.0 + 10.0)
    assert [s.power_w for s in reading.samples] == pytest.approx([6.0, 10.0, 10.0])


def test_charger_plugged_in_mid_run_fails_on_read(tmp_path: Path, clock: FakeClock) -> None:
    bat = supply(tmp_path, "BAT0", type="Battery", status="Discharging", power_now="4000000")
    meter = BatteryMeter(tmp_path, clock=clock)
    meter.start()
    (bat / "status").write_text("Charging\n")
    with pytest.raises(MeterError, match="Charging"):
        meter.stop()
