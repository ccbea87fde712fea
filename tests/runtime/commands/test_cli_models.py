"""``edgedeblur models``: table and JSON from the manifest."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_fixtures import build_onnx, build_tflite, write_manifest
from runtime.catalog import DEFAULT_MODEL, FILE_VIDEO_MODEL, LIVE_VIDEO_MODEL
from runtime.cli import main
from runtime.manifest import sha256_file


@pytest.fixture
def models(tmp_path: Path) -> Path:
    d = tmp_path / "models"
    d.mkdir()
    onnx = build_onnx(d / "small.fp32.onnx")
    tfl = build_tflite(d / "small.int8.tflite", int8_io=True)
    base = {"model": "small", "input": {"name": "x"}, "output": {"name": "out"}}
    write_manifest(d, [
        base | {"id": onnx.name, "path": onnx.name, "format": "onnx", "precision": "fp32",
                "sha256": sha256_file(onnx), "params": 117_000, "macs_256": 1.53e9,
                "notes": {"description": "general deblur, 117k params", "data": "photos A", "licence": "research only"}},
        base | {"id": tfl.name, "path": tfl.name, "format": "tflite", "precision": "int8",
                "sha256": sha256_file(tfl), "status": "rejected"},
        base | {"id": "gone.fp32.onnx", "model": "gone", "path": "gone.fp32.onnx", "format": "onnx",
                "precision": "fp32", "sha256": "0" * 64},
        base | {"id": "x2.fp32.onnx", "model": "x2", "path": "x2.fp32.onnx", "format": "onnx",
                "precision": "fp32", "sha256": "0" * 64, "task": "upscale", "scale": 2,
                "notes": {"data": "photos B", "licence": "research only"}},
        base | {"id": "denoise.fp32.onnx", "model": "denoise", "path": "denoise.fp32.onnx", "format": "onnx",
                "precision": "fp32", "sha256": "0" * 64, "task": "denoise"},
    ])
    return d


def test_table(models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--models-dir", str(models)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:6] == ["id", "task", "format", "precision", "size", "MB"]
    row = next(line for line in out if line.startswith("small.fp32.onnx"))
    assert "117.00k" in row and "1.53G" in row and "general deblur" in row and "fp32" in row
    assert row.split()[1] == "deblur"
    assert next(line for line in out if line.startswith("x2.fp32.onnx")).split()[1:3] == ["upscale", "x2"]
    assert next(line for line in out if line.startswith("denoise.fp32.onnx")).split()[1:3] == ["denoise", "onnx"]
    assert any(line.startswith("gone.fp32.onnx") and "missing" in line for line in out)
    assert not any("small.int8.tflite" in line for line in out)       # rejected: hidden
    assert any(line.startswith(f"defaults: photos {DEFAULT_MODEL}, video files {FILE_VIDEO_MODEL}, "
                               f"cameras {LIVE_VIDEO_MODEL}.") for line in out)


def test_training_data_is_listed_once_per_licence(models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--models-dir", str(models)]) == 0
    out = capsys.readouterr().out
    assert "weights trained on:\n  small: photos A\n  x2: photos B\nlicence of that data: research only" in out
    assert out.count("licence of that data") == 1


def test_all_includes_rejected(models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--all", "--models-dir", str(models)]) == 0
    assert any(line.startswith("small.int8.tflite") and "rejected" in line
               for line in capsys.readouterr().out.splitlines())


def test_json(models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json", "--models-dir", str(models)]) == 0
    doc = json.loads(capsys.readouterr().out)
    by_id = {d["id"]: d for d in doc}
    assert set(by_id) == {"small.fp32.onnx", "gone.fp32.onnx", "x2.fp32.onnx", "denoise.fp32.onnx"}
    assert (by_id["x2.fp32.onnx"]["task"], by_id["x2.fp32.onnx"]["scale"]) == ("upscale", 2)
    assert by_id["small.fp32.onnx"]["size_bytes"] == (models / "small.fp32.onnx").stat().st_size
    assert by_id["gone.fp32.onnx"]["size_bytes"] is None
    assert by_id["small.fp32.onnx"]["params"] == 117000


def test_no_models_yet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--models-dir", str(tmp_path)]) == 0
    assert "no models shipped yet" in capsys.readouterr().err
    assert main(["models", "--json", "--models-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_malformed_manifest_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "manifest.json").write_text("{oops")
    assert main(["models", "--models-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "manifest.json is not valid JSON" in err


def test_shipped_models_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    captured = capsys.readouterr()
    assert "id" in captured.out or "no models shipped yet" in captured.err
