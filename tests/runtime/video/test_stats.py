"""Run statistics: histogram percentiles against numpy, recorder totals, the JSON contract."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from runtime.errors import ConfigError, ImageError
import runtime.video.stats as stats_mod
from runtime.video.stats import LatencyHistogram, Stage, StageTimes, StatsRecorder, write_stats_json


@pytest.mark.parametrize("q", [50, 95, 99])
def test_histogram_percentiles_match_numpy_within_bin_resolution(q: float, rng: np.random.Generator) -> None:
    samples = rng.lognormal(mean=2.0, sigma=0.6, size=5000)
    hist = LatencyHistogram()
    for s in samples:
        hist.add(float(s))
    assert hist.count == 5000
    assert hist.percentile(q) == pytest.approx(np.percentile(samples, q), rel=0.025)
    assert hist.mean_ms == pytest.approx(samples.mean(), rel=1e-9)


def test_empty_histogram_is_zero() -> None:
    assert LatencyHistogram().percentile(50) == 0.0 and LatencyHistogram().mean_ms == 0.0


def test_histogram_memory_is_constant() -> None:
    hist = LatencyHistogram()
    before = hist._counts.nbytes
    for _ in range(20000):
        hist.add(3.0)
    assert hist._counts.nbytes == before


def test_stage_times_total_and_lookup() -> None:
    t = StageTimes(decode_ms=1.0, faces_ms=2.0, inference_ms=3.0, encode_ms=4.0)
    assert t.total_ms == 10.0 and t.ms(Stage.INFERENCE) == 3.0 and t.ms(Stage.BLEND) == 0.0


class FakeClock:
    def __init__(self, step_s: float) -> None:
        self.now, self.step_s = 100.0, step_s

    def __call__(self) -> float:
        self.now += self.step_s
        return self.now


def test_recorder_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats_mod.time, "perf_counter", FakeClock(0.04))
    rec = StatsRecorder()
    rec.start()
    for i in range(10):
        rec.add(StageTimes(decode_ms=2.0, inference_ms=10.0 + i), model_pixels=65536, faces=1 + (i % 2))
    rec.set_dropped(3)
    s = rec.summary()
    assert s.frames == rec.frames == 10 and s.dropped_frames == 3
    assert s.wall_s == pytest.approx(0.4) and s.fps == pytest.approx(25.0)
    assert s.model_pixels_per_frame == 65536 and s.faces_per_frame == 1.5
    assert s.stages[Stage.DECODE].p50_ms == pytest.approx(2.0, rel=0.02)
    assert s.stages[Stage.INFERENCE].p95_ms == pytest.approx(19.0, rel=0.02)
    assert s.stages[Stage.BLEND].p50_ms == 0.0
    assert "25.0 fps" in s.line() and "dropped 3" in s.line()


def test_recorder_rejects_negative_counts() -> None:
    with pytest.raises(ConfigError):
        StatsRecorder().add(StageTimes(), model_pixels=-1, faces=0)


def test_stats_json_has_the_documented_keys(tmp_path: Path) -> None:
    rec = StatsRecorder()
    rec.add(StageTimes(decode_ms=1.0, faces_ms=2.0, inference_ms=3.0, blend_ms=0.5, encode_ms=1.5), 1000, 1)
    path = tmp_path / "stats.json"
    write_stats_json(rec.summary(), path, extra={"model": "small"})
    doc = json.loads(path.read_text())
    for key in ("frames", "fps", "model_pixels_per_frame", "dropped_frames", "stages", "model"):
        assert key in doc
    for stage in ("decode", "faces", "inference", "blend", "encode"):
        assert set(doc["stages"][stage]) >= {"p50_ms", "p95_ms"}
    assert doc["stages"]["inference"]["p50_ms"] == pytest.approx(3.0, rel=0.02)
    assert [p.name for p in tmp_path.iterdir()] == ["stats.json"]


def test_stats_json_into_missing_folder_is_one_line_naming_the_option(tmp_path: Path) -> None:
    missing = r"folder .*nope does not exist; choose a writable output path \(`stats_json`\)"
    with pytest.raises(ImageError, match=missing):
        write_stats_json(StatsRecorder().summary(), tmp_path / "nope" / "s.json")
