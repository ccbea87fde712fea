from __future__ import annotations

import stat
from pathlib import Path

import pytest

from runtime.energy.base import MeterAbsent
from runtime.energy.vcgencmd import PmicMeter, parse_pmic_adc
from runtime.errors import MeterError
from tests.runtime.energy.trees import FakeClock

# The shape of `vcgencmd pmic_read_adc` on a Raspberry Pi 5 (rails abridged, values made up).
PI5_OUTPUT = """\
     3V7_WL_SW_A current(0)=0.00390000A
       3V3_SYS_A current(1)=0.05000000A
      VDD_CORE_A current(7)=2.13300000A
     3V7_WL_SW_V volt(8)=3.70000000V
       3V3_SYS_V volt(9)=3.30000000V
      VDD_CORE_V volt(15)=0.84000000V
         EXT5V_V volt(24)=5.15096000V
          BATT_V volt(25)=0.00000000V
"""


def fake_vcgencmd(tmp_path: Path, stdout: str, code: int = 0) -> tuple[str, str]:
    """A real executable standing in for vcgencmd, printing ``stdout``."""
    (tmp_path / "out.txt").write_text(stdout)
    script = tmp_path / "vcgencmd"
    script.write_text(f"#!/bin/sh\ncat '{tmp_path / 'out.txt'}'\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), "pmic_read_adc"


def test_parse_pairs_rails_and_skips_voltage_only_channels() -> None:
    rails = parse_pmic_adc(PI5_OUTPUT)
    assert [r.rail for r in rails] == ["3V3_SYS", "3V7_WL_SW", "VDD_CORE"]
    assert sum(r.watts for r in rails) == pytest.approx(0.0039 * 3.7 + 0.05 * 3.3 + 2.133 * 0.84)


@pytest.mark.parametrize("text", ["", "error=2 error_msg=\"Command not registered\"\n", "VDD_CORE_A current(7)=x A\n"])
def test_output_without_rails_is_an_error(text: str) -> None:
    with pytest.raises(MeterError, match="printed no rail current/voltage pairs.*Raspberry Pi 5"):
        parse_pmic_adc(text)


def test_meter_runs_the_command_and_integrates(tmp_path: Path, clock: FakeClock) -> None:
    command = fake_vcgencmd(tmp_path, PI5_OUTPUT)
    meter = PmicMeter(command, clock=clock)
    assert meter.info.measured and "3 rails" in meter.info.source
    watts = 0.0039 * 3.7 + 0.05 * 3.3 + 2.133 * 0.84
    meter.start()
    clock.advance(2.0)
    reading = meter.stop()
    assert reading.energy_j == pytest.approx(2.0 * watts)


def test_missing_command_is_absent(tmp_path: Path) -> None:
    with pytest.raises(MeterAbsent, match="not found: the PMIC meter needs a Raspberry Pi 5"):
        PmicMeter((str(tmp_path / "no-such-vcgencmd"), "pmic_read_adc"))


def test_failing_command_reports_its_message(tmp_path: Path) -> None:
    command = fake_vcgencmd(tmp_path, "VCHI initialization failed\n", code=255)
    with pytest.raises(MeterError, match=r"exited 255 \(VCHI initialization failed\)"):
        PmicMeter(command)
