from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.energy.base import MeterAbsent, MeterKind
from runtime.energy.rapl import RaplMeter, energy_delta_uj, find_zones
from runtime.errors import MeterError
from tests.runtime.energy.trees import FakeClock, write_tree

MAX = 262143328850


def rapl_tree(root: Path, pkg_uj: int = 1_000_000, dram_uj: int = 500_000, psys: bool = False) -> Path:
    files = {
        "intel-rapl:0/name": "package-0", "intel-rapl:0/energy_uj": str(pkg_uj),
        "intel-rapl:0/max_energy_range_uj": str(MAX),
        "intel-rapl:0:0/name": "core", "intel-rapl:0:0/energy_uj": "7",
        "intel-rapl:0:0/max_energy_range_uj": str(MAX),
        "intel-rapl:0:1/name": "dram", "intel-rapl:0:1/energy_uj": str(dram_uj),
        "intel-rapl:0:1/max_energy_range_uj": "65532610987",
    }
    if psys:
        files |= {"intel-rapl:1/name": "psys", "intel-rapl:1/energy_uj": "5",
                  "intel-rapl:1/max_energy_range_uj": str(MAX)}
    return write_tree(root, files)


def set_counter(root: Path, zone: str, value: int) -> None:
    (root / zone / "energy_uj").write_text(f"{value}\n")


@pytest.mark.parametrize("start, end, expected", [
    (100, 350, 250),
    (MAX - 1_000, 4_000, 5_000),      # wrapped once
    (0, MAX, MAX),
])
def test_energy_delta_handles_wrap(start: int, end: int, expected: int) -> None:
    assert energy_delta_uj(start, end, MAX) == expected


def test_zones_sum_packages_and_dram_not_core_or_psys(tmp_path: Path) -> None:
    zones = find_zones(rapl_tree(tmp_path, psys=True))
    assert [z.name for z in zones] == ["package-0", "dram"]
    assert zones[1].max_range_uj == 65532610987


def test_psys_used_when_no_package(tmp_path: Path) -> None:
    write_tree(tmp_path, {"intel-rapl:1/name": "psys", "intel-rapl:1/energy_uj": "5",
                          "intel-rapl:1/max_energy_range_uj": str(MAX)})
    meter = RaplMeter(tmp_path)
    assert meter.info.scope == "platform (psys)"


def test_meter_reads_joules_across_a_wrap(tmp_path: Path, clock: FakeClock) -> None:
    root = rapl_tree(tmp_path, pkg_uj=MAX - 2_000_000, dram_uj=10_000_000)
    meter = RaplMeter(root, clock=clock, min_interval_s=0.5)
    assert meter.info.kind is MeterKind.RAPL and meter.info.measured
    assert meter.info.scope == "CPU package + DRAM"
    meter.start()
    clock.advance(1.0)
    set_counter(root, "intel-rapl:0", 3_000_000)            # wrapped: +5 J
    set_counter(root, "intel-rapl:0:1", 11_000_000)         # +1 J
    meter.poll()
    clock.advance(0.1)
    meter.poll()                                            # under min interval: no read
    clock.advance(0.9)
    set_counter(root, "intel-rapl:0", 5_000_000)            # +2 J
    reading = meter.stop()
    assert reading.energy_j == pytest.approx(8.0)
    assert reading.duration_s == pytest.approx(2.0)
    assert [round(s.power_w, 6) for s in reading.samples] == [6.0, 2.0]


def test_absent_tree_says_so(tmp_path: Path) -> None:
    with pytest.raises(MeterAbsent, match=r"no RAPL energy counters under .*`kind` estimate"):
        RaplMeter(tmp_path / "powercap")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads mode-000 files; the directory and "
                    "non-numeric cases below exercise the same error path")
def test_permission_denied_names_the_file_and_fix(tmp_path: Path) -> None:
    root = rapl_tree(tmp_path)
    (root / "intel-rapl:0" / "energy_uj").chmod(0)
    with pytest.raises(MeterError, match=r"intel-rapl:0/energy_uj is not readable \(permission denied\); "
                                         r"run as root or `sudo chmod o\+r` it, or use --meter estimate"):
        RaplMeter(root)


def test_counter_that_is_a_directory_is_unreadable(tmp_path: Path) -> None:
    root = rapl_tree(tmp_path)
    (root / "intel-rapl:0" / "energy_uj").unlink()
    (root / "intel-rapl:0" / "energy_uj").mkdir()
    with pytest.raises(MeterError, match=r"energy_uj is a directory, not a counter file; run as root"):
        RaplMeter(root)


def test_non_numeric_counter_is_rejected_on_stop(tmp_path: Path, clock: FakeClock) -> None:
    root = rapl_tree(tmp_path)
    meter = RaplMeter(root, clock=clock)
    meter.start()
    (root / "intel-rapl:0:1" / "energy_uj").write_text("garbage\n")
    with pytest.raises(MeterError, match=r"holds 'garbage', not an integer") as err:
        meter.stop()
    assert "\n" not in str(err.value)
