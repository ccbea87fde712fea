from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.energy.base import MeterKind
from runtime.energy.registry import MeterConfig, create_meter
from runtime.errors import ConfigError, MeterError
from tests.runtime.energy.trees import write_tree

NO_VCGENCMD = ("/nonexistent/vcgencmd", "pmic_read_adc")


def config(root: Path, **kw: object) -> MeterConfig:
    return MeterConfig(sys_root=root, pmic_command=NO_VCGENCMD, **kw)  # type: ignore[arg-type]


def add_rapl(root: Path, energy: str = "123") -> None:
    write_tree(root, {"sys/class/powercap/intel-rapl:0/name": "package-0",
                      "sys/class/powercap/intel-rapl:0/energy_uj": energy,
                      "sys/class/powercap/intel-rapl:0/max_energy_range_uj": "262143328850"})


def add_battery(root: Path) -> None:
    write_tree(root, {"sys/class/power_supply/BAT0/type": "Battery",
                      "sys/class/power_supply/BAT0/status": "Discharging",
                      "sys/class/power_supply/BAT0/power_now": "9000000"})


def test_auto_prefers_rapl_over_battery(tmp_path: Path) -> None:
    add_rapl(tmp_path)
    add_battery(tmp_path)
    choice = create_meter(config(tmp_path))
    assert choice.meter.info.kind is MeterKind.RAPL and choice.skipped == ()


def test_auto_falls_through_to_battery_then_names_what_it_skipped(tmp_path: Path) -> None:
    add_battery(tmp_path)
    choice = create_meter(config(tmp_path))
    assert choice.meter.info.kind is MeterKind.BATTERY
    assert [s.split(":")[0] for s in choice.skipped] == ["rapl", "jetson", "pmic"]


def test_auto_on_a_bare_machine_estimates_with_the_detected_model(tmp_path: Path) -> None:
    write_tree(tmp_path, {"proc/device-tree/model": "Raspberry Pi 5 Model B Rev 1.0"})
    choice = create_meter(config(tmp_path))
    assert choice.meter.info.kind is MeterKind.ESTIMATE and not choice.meter.info.measured
    assert "pi5: 2.8 W idle" in choice.meter.info.source
    assert len(choice.skipped) == 4


def test_auto_skips_an_unreadable_counter_with_its_reason(tmp_path: Path) -> None:
    add_rapl(tmp_path, energy="not-a-number")
    choice = create_meter(config(tmp_path, power_model="pi4"))
    assert choice.meter.info.kind is MeterKind.ESTIMATE
    assert "not an integer" in choice.skipped[0]


@pytest.mark.parametrize("kind, message", [
    ("rapl", r"no RAPL energy counters under .*use `kind` estimate"),
    ("battery", r"no battery under"),
    ("jetson", r"no INA3221 rail monitor"),
    ("pmic", r"`/nonexistent/vcgencmd` not found"),
])
def test_a_named_meter_that_is_absent_is_one_clear_line(tmp_path: Path, kind: str, message: str) -> None:
    with pytest.raises(MeterError, match=message) as err:
        create_meter(config(tmp_path, kind=kind))
    assert "\n" not in str(err.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads mode-000 files; the registry test above "
                    "exercises an unreadable counter through a non-numeric file")
def test_named_rapl_without_permission(tmp_path: Path) -> None:
    add_rapl(tmp_path)
    (tmp_path / "sys/class/powercap/intel-rapl:0/energy_uj").chmod(0)
    with pytest.raises(MeterError, match="permission denied"):
        create_meter(config(tmp_path, kind="rapl"))


def test_a_given_csv_log_is_used_first_and_a_bad_one_is_an_error(tmp_path: Path) -> None:
    add_rapl(tmp_path)
    good = tmp_path / "usb.csv"
    good.write_text("time,watts\n1700000000,5.0\n")
    assert create_meter(config(tmp_path, log_path=good)).meter.info.kind is MeterKind.CSV
    bad = tmp_path / "bad.csv"
    bad.write_text("time,watts\n1700000000,five\n")
    with pytest.raises(MeterError, match=r"line 2 is malformed"):
        create_meter(config(tmp_path, log_path=bad))


@pytest.mark.parametrize("kw, message", [
    ({"kind": "rapll"}, r"`kind` 'rapll' is not a meter; .* \(did you mean 'rapl'\?\)"),
    ({"kind": "csv"}, r"`kind` csv needs the external meter's log"),
])
def test_bad_meter_options(tmp_path: Path, kw: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(tmp_path, **kw)


def test_unknown_power_model_gets_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"`power_model` 'pi6' is unknown; .*\(did you mean 'pi5'\?\)"):
        create_meter(config(tmp_path, kind="estimate", power_model="pi6"))
