from __future__ import annotations

from pathlib import Path

import pytest

from runtime.energy.base import MeterAbsent
from runtime.energy.csvlog import CsvLogMeter, integrate_window, read_power_log
from runtime.errors import MeterError
from tests.runtime.energy.trees import FakeClock

T0 = 1_700_000_000.0


def write_log(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_watts_log_integrates_the_window_with_interpolated_ends(tmp_path: Path) -> None:
    log = read_power_log(write_log(tmp_path / "m.csv", "Timestamp,Power (W)",
                                   [f"{T0 + i},{2.0 + i}" for i in range(6)]))
    assert log.columns == "Power (W)"
    energy, samples, gap_s = integrate_window(log, T0 + 0.5, T0 + 2.5, max_gap_s=2.0)
    # power is 2 + t: the integral of 2 + t over [0.5, 2.5] = 4 + 3 = 7
    assert energy == pytest.approx(7.0)
    assert [s.t_s - T0 for s in samples] == pytest.approx([0.5, 1, 2, 2.5])
    assert gap_s == 0.0


def test_volts_amps_in_milliamps_iso_times_and_offset(tmp_path: Path) -> None:
    rows = ["2024-05-01T10:00:00+00:00,5.0,1000", "2024-05-01T10:00:01+00:00,5.0,2000"]
    log = read_power_log(write_log(tmp_path / "m.csv", "time,Voltage(V),Current(mA)", rows), offset_s=-1.0)
    assert log.power_w.tolist() == [5.0, 10.0]
    assert log.t_s[0] == pytest.approx(1714557600.0 - 1.0)
    assert log.columns == "Voltage(V) x Current(mA)"


def test_csv_with_a_gap_is_bridged_when_small_and_refused_when_large(tmp_path: Path, clock: FakeClock) -> None:
    times = [0, 0.5, 1, 1.5, 2, 5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5, 9, 9.5, 10]       # a 3 s hole
    path = write_log(tmp_path / "m.csv", "ts,watts", [f"{T0 + t},4.0" for t in times])
    clock.now = T0 + 0.2
    wide = CsvLogMeter(path, max_gap_s=1.0, max_gap_fraction=0.4, wait_s=0, clock=clock)
    wide.start()
    clock.now = T0 + 9.8
    reading = wide.stop()
    assert reading.energy_j == pytest.approx(4.0 * 9.6)
    assert reading.duration_s == pytest.approx(9.6)
    narrow = CsvLogMeter(path, max_gap_s=1.0, max_gap_fraction=0.1, wait_s=0, clock=clock)
    clock.now = T0 + 1.0
    narrow.start()
    clock.now = T0 + 6.0
    with pytest.raises(MeterError, match=r"has gaps over 3.0 s of a 5.0 s segment"):
        narrow.stop()


def test_log_not_covering_the_run_names_both_spans(tmp_path: Path, clock: FakeClock) -> None:
    path = write_log(tmp_path / "m.csv", "epoch,w", [f"{T0 + t},3" for t in range(5)])
    meter = CsvLogMeter(path, wait_s=0, clock=clock)
    clock.now = T0 + 100
    meter.start()
    clock.now = T0 + 110
    with pytest.raises(MeterError, match=r"covers .* but the segment ran .*`log_offset_s`"):
        meter.stop()


def test_stop_waits_for_the_logger_to_catch_up(tmp_path: Path, clock: FakeClock) -> None:
    path = write_log(tmp_path / "m.csv", "t,w", [f"{T0 + t},2" for t in range(3)])

    def sleep(seconds: float) -> None:          # the logger appends its next rows meanwhile
        clock.advance(seconds)
        with path.open("a") as f:
            f.write(f"{T0 + 3},2\n{T0 + 4},2\n{T0 + 5},2\n")

    meter = CsvLogMeter(path, max_gap_s=1.5, wait_s=2.0, clock=clock, sleep=sleep)
    clock.now = T0 + 0.5
    meter.start()
    clock.now = T0 + 4.5
    assert meter.stop().energy_j == pytest.approx(8.0)


@pytest.mark.parametrize("header, rows, message", [
    ("time,watts", [f"{T0},1.0", f"{T0 + 1},abc"], r"line 3 is malformed .*'1700000001.0,abc'"),
    ("time,watts", [f"{T0},1.0", f"{T0 + 1}"], r"line 3 is malformed \(1 fields, expected at least 2"),
    ("time,watts", ["yesterday,1.0"], r"line 2 is malformed"),
    ("time,watts", [f"{T0},nan"], r"line 2 holds a non-finite value"),
    ("when,how much", [f"{T0},1.0"], r"header 'when,how much' lacks a time column"),
    ("time,volts", [f"{T0},5.0"], r"lacks a time column .* or volts and amps"),
])
def test_malformed_csv_is_one_clear_line(tmp_path: Path, header: str, rows: list[str], message: str) -> None:
    path = write_log(tmp_path / "m.csv", header, rows)
    with pytest.raises(MeterError, match=message) as err:
        CsvLogMeter(path)
    assert "\n" not in str(err.value)


def test_missing_log_is_absent(tmp_path: Path) -> None:
    with pytest.raises(MeterAbsent, match=r"power log .*missing.csv does not exist"):
        CsvLogMeter(tmp_path / "missing.csv")
