from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_process import small_disk

from runtime.commands.profile import frame_supply
from runtime.energy.battery import BatteryMeter
from runtime.energy.cputime import EstimateMeter
from runtime.energy.power_models import BUILTIN_MODELS
from runtime.energy.profile import ProfileConfig, ProfileOptions, run_profile
from runtime.energy.report import write_report
from runtime.errors import ConfigError, DiskFullError, ModelLoadError, SourceError
from tests.runtime.energy.trees import write_tree

CONFIGS = [ProfileConfig("heavy", "15"), ProfileConfig("light", "3")]


def blur_factory(config: ProfileConfig):  # noqa: ANN201 - a FrameProcessor
    k = int(config.spec)
    return lambda image: cv2.GaussianBlur(image, (k, k), 0)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 12-frame 96x64 video, decoded through runtime.video.sources."""
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (96, 64))
    rng = np.random.default_rng(0)
    for _ in range(12):
        writer.write(rng.integers(0, 255, (64, 96, 3), np.uint8))
    writer.release()
    return path


def test_end_to_end_with_the_estimate_meter(video: Path, tmp_path: Path) -> None:
    meter = EstimateMeter(BUILTIN_MODELS["pi5"])
    options = ProfileOptions(frames=12, warmup_frames=2, chunk_frames=4)
    result = run_profile(lambda: frame_supply(str(video), 12), CONFIGS, blur_factory, meter, options,
                         skipped_meters=("rapl: absent",), progress=False)
    assert [c.frames for c in result.configs] == [12, 12]
    assert [len(c.latencies_ms) for c in result.configs] == [12, 12]
    # three chunks, each through both configurations, the order rotating per chunk
    assert [s.config for s in result.segments] == [0, 1, 1, 0, 0, 1]
    assert all(a.t_end_s <= b.t_start_s for a, b in zip(result.segments, result.segments[1:]))
    for c in result.configs:
        assert c.energy_j == pytest.approx(sum(s.energy_j for s in result.segments if s.config == CONFIGS.index(c.config)))
        assert c.energy_j >= 2.8 * c.meter_s                          # never below the model's idle
        assert c.active_energy_mj_per_frame is not None and c.active_energy_mj_per_frame >= 0
    assert result.idle is not None and result.idle.power_w == 2.8
    files = write_report(result, tmp_path / "report")
    doc = json.loads(files.json.read_text())
    entry = doc["configs"][1]
    assert {"name", "energy_mj_per_frame", "fps", "meter", "measured"} <= entry.keys()
    assert (entry["name"], entry["meter"], entry["measured"]) == ("light", "estimate", False)
    assert entry["saving_vs_baseline"] == pytest.approx(result.saving(1), abs=1e-4)
    assert doc["meter"]["skipped"] == ["rapl: absent"]
    assert "ESTIMATED (not measured)" in files.markdown.read_text()
    assert "<table>" in files.html.read_text()
    for png in (files.energy_png, files.latency_png, files.power_png):
        assert png is not None and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    umask = os.umask(0)
    os.umask(umask)
    assert files.json.stat().st_mode & 0o777 == 0o666 & ~umask      # not mkstemp's 0600
    assert sorted(p.name for p in files.json.parent.iterdir()) == sorted(
        ["profile.json", "profile.md", "profile.html", "energy_per_frame.png", "latency.png", "power.png"])


def test_report_onto_a_full_disk_names_the_file_and_the_option(video: Path, tmp_path: Path) -> None:
    options = ProfileOptions(frames=4, warmup_frames=0, chunk_frames=4)
    result = run_profile(lambda: frame_supply(str(video), 4), CONFIGS, blur_factory,
                         EstimateMeter(BUILTIN_MODELS["pi5"]), options, progress=False)
    with small_disk(tmp_path / "disk", "16k") as disk:       # the plots alone are larger
        with pytest.raises(DiskFullError, match=r"report/\S+\.png: the disk is full; .*\(`report`\)"):
            write_report(result, disk / "report")
        assert [p.name for p in (disk / "report").iterdir() if p.name.endswith(".tmp")] == []


def test_measured_meter_with_an_idle_baseline(video: Path, tmp_path: Path) -> None:
    """A discharging battery at a constant 5 W: all energy is idle energy."""
    write_tree(tmp_path, {"BAT0/type": "Battery", "BAT0/status": "Discharging", "BAT0/power_now": "5000000"})
    meter = BatteryMeter(tmp_path, min_interval_s=0.0)
    options = ProfileOptions(frames=6, warmup_frames=0, chunk_frames=3, repeats=2, idle_s=0.2)
    result = run_profile(lambda: frame_supply(str(video), 6), CONFIGS, blur_factory, meter, options, progress=False)
    assert result.idle is not None and result.idle.power_w == pytest.approx(5.0)
    assert result.idle.source == "measured for 0.2 s before the runs"
    for c in result.configs:
        assert c.frames == 12
        assert c.energy_j == pytest.approx(5.0 * c.meter_s)
        assert c.active_energy_mj_per_frame == pytest.approx(0.0, abs=1e-9)
        assert c.average_power_w == pytest.approx(5.0)
    assert result.to_json_dict()["configs"][0]["measured"] is True


def test_every_processor_is_built_before_any_frame_runs(video: Path) -> None:
    ran: list[str] = []

    def factory(config: ProfileConfig):  # noqa: ANN202
        if config.name == "light":
            raise ModelLoadError("unknown model 'nope.int8'")
        return lambda image: ran.append(config.name)

    with pytest.raises(ModelLoadError, match="nope.int8"):
        run_profile(lambda: frame_supply(str(video), 12), CONFIGS, factory,
                    EstimateMeter(BUILTIN_MODELS["x86-generic"]), ProfileOptions(), progress=False)
    assert ran == []


def test_no_frames_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="gave no frames"):
        run_profile(lambda: iter(()), CONFIGS, blur_factory, EstimateMeter(BUILTIN_MODELS["pi4"]),
                    ProfileOptions(warmup_frames=0), progress=False)


@pytest.mark.parametrize("configs", [[], [ProfileConfig("a", "3"), ProfileConfig("a", "5")]])
def test_configs_must_be_present_and_unique(configs: list[ProfileConfig]) -> None:
    with pytest.raises(ConfigError, match="unique names"):
        run_profile(lambda: iter(()), configs, blur_factory, EstimateMeter(BUILTIN_MODELS["pi4"]),
                    ProfileOptions(), progress=False)


@pytest.mark.parametrize("kw", [{"frames": 0}, {"chunk_frames": 0}, {"repeats": 0}, {"idle_s": -1.0},
                                {"warmup_frames": -1}])
def test_bad_options(kw: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="must"):
        ProfileOptions(**kw)  # type: ignore[arg-type]


def test_a_processor_writing_into_its_input_fails_instead_of_corrupting_the_next(video: Path) -> None:
    def factory(config: ProfileConfig):  # noqa: ANN202
        def scribble(image: np.ndarray) -> None:
            image[0, 0] = 0
        return scribble

    with pytest.raises(ValueError, match="read-only"):
        run_profile(lambda: frame_supply(str(video), 4), CONFIGS, factory, EstimateMeter(BUILTIN_MODELS["pi4"]),
                    ProfileOptions(frames=4, warmup_frames=1), progress=False)
