"""The quality gate and its repairs, on a model built to break plain int8."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from convert.build import BuildConfig, build
from convert.calib import CalibConfig
from convert.repair import RepairConfig
from convert.results import BuildResult
from convert.source import load_source
from runtime.manifest import Manifest, Status
from tests.convert.conftest import hostile_onnx

FAST = dict(targets=("x86-cpu",), calib=CalibConfig(count=8), val_count=4, latency_rounds=1)


@pytest.fixture(scope="module")
def repaired(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    folder = tmp_path_factory.mktemp("hostile")
    src = load_source(str(hostile_onnx(folder / "hostile.onnx")))
    return build(src, folder / "out", BuildConfig(**FAST))


def test_hostile_model_fails_plain_int8_and_is_repaired(repaired: BuildResult) -> None:
    int8 = next(a for a in repaired.artifacts if a.id == "hostile.int8.onnx")
    attempts = int8.repair.attempts
    assert [a.label for a in attempts[:3]] == ["minmax calibration", "percentile calibration", "entropy calibration"]
    assert all(not a.passed and a.drop_db > 1.0 for a in attempts[:3])  # plain int8 loses dB
    assert attempts[-1].passed and int8.repair.chosen is attempts[-1]
    assert int8.repair.chosen.kept_in_float == ("wide", "narrow")
    assert int8.repair.sensitivity[0][0] == "wide"
    assert int8.status is Status.OK and int8.report.drop_db <= 0.3
    assert repaired.ok


def test_report_and_manifest_say_which_layers_stayed_float(repaired: BuildResult) -> None:
    report = repaired.report_path.read_text()
    assert "Layers kept in float: `wide`, `narrow`" in report
    assert "| minmax calibration | " in report and "| fail |" in report
    entry = Manifest.load(repaired.manifest_path).find("hostile.int8.onnx")
    assert entry.notes["kept_in_float"] == "wide,narrow" and entry.notes["gate"] == "passed"
    assert entry.parent_sha256 == Manifest.load(repaired.manifest_path).find("hostile.fp32.onnx").sha256
    assert entry.metrics["drop_vs_fp32_db"] <= 0.3
    assert (repaired.folder / "strips" / "hostile.int8.onnx.png").is_file()
    assert not [p for p in repaired.folder.iterdir() if p.name.startswith(".")]  # no scratch files left


def test_gate_failure_marks_the_artifact_rejected(tmp_path: Path) -> None:
    src = load_source(str(hostile_onnx(tmp_path / "hostile.onnx")))
    result = build(src, tmp_path / "out", BuildConfig(**FAST, repair=RepairConfig(enabled=False)))
    assert not result.ok
    int8 = next(a for a in result.artifacts if a.id == "hostile.int8.onnx")
    assert int8.status is Status.REJECTED and "below fp32" in int8.report.reason
    assert len(int8.repair.attempts) == 1
    raw = json.loads(result.manifest_path.read_text())
    assert {a["id"]: a["status"] for a in raw["artifacts"]}["hostile.int8.onnx"] == "rejected"
    assert "**REJECTED**" in result.report_path.read_text()


def test_mixed_precision_respects_the_float_budget(tmp_path: Path) -> None:
    src = load_source(str(hostile_onnx(tmp_path / "hostile.onnx")))
    result = build(src, tmp_path / "out", BuildConfig(**FAST, repair=RepairConfig(max_float_fraction=0.0)))
    int8 = next(a for a in result.artifacts if a.id == "hostile.int8.onnx")
    assert int8.status is Status.REJECTED
    assert all(not a.kept_in_float for a in int8.repair.attempts)
    assert np.isfinite(int8.report.drop_db)
