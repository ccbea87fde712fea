"""The capacity table compares each net's camera-blur curve, not one lucky point."""
from __future__ import annotations

import pytest

from benchmarks.capacity import markdown, summary
from benchmarks.run_meta import run_meta


def _curve(real: list[float]) -> list[dict[str, float]]:
    return [{"step": 250 * (i + 1), "gain_real": g, "psnr_ema": 20.0 + g, "psnr_input": 19.0,
             "psnr_ema_mild": 26.0, "psnr_input_mild": 24.0} for i, g in enumerate(real)]


def test_summary_keeps_the_last_the_best_and_the_late_mean() -> None:
    curves = {"small": _curve([-0.4, -0.2, -0.3, -0.25]), "small-deep": _curve([-0.5, -0.1, -0.2, -0.2])}
    rows = {r["net"]: r for r in summary(curves, {"small": 50.0, "small-deep": 75.0})}
    deep = rows["small-deep"]
    assert (deep["real_last"], deep["real_best"], deep["real_best_step"]) == (-0.2, -0.1, 500)
    assert deep["real_mean_2nd_half"] == pytest.approx(-0.2) and rows["small"]["real_mean_2nd_half"] == pytest.approx(-0.275)
    assert deep["synthetic"] == pytest.approx(0.8) and deep["mild"] == pytest.approx(2.0)
    text = markdown(list(rows.values()), run_meta(), 1000)
    assert "| small-deep | 3.44 | 1.71 M | 75 (1.50x) | -0.200 | -0.100 (500) | -0.200 |" in text
