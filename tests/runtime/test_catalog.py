"""Catalog: shipped names, aliases and paths resolve to one verified file, or fail clearly."""
from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import pytest

from model_fixtures import build_onnx, build_tflite, write_manifest
from runtime.catalog import SHIPPED_DIR, known_names, load_shipped_manifest, resolve_model
from runtime.errors import ModelLoadError
from runtime.manifest import sha256_file


def _entry(path: Path, id_: str, precision: str, fmt: str, status: str = "ok") -> dict[str, object]:
    return {"id": id_, "model": id_.split(".")[0], "path": path.name, "format": fmt, "precision": precision,
            "sha256": sha256_file(path), "input": {"name": "x"}, "output": {"name": "out"},
            "status": status}


@pytest.fixture
def models(tmp_path: Path) -> Path:
    d = tmp_path / "models"
    d.mkdir()
    files = {
        "small.fp32.onnx": build_onnx(d / "small.fp32.onnx"),
        "small.int8.onnx": build_onnx(d / "small.int8.onnx", kind="sharpen"),
        "small.int8.tflite": build_tflite(d / "small.int8.tflite", int8_io=True),
        "nano.fp32.tflite": build_tflite(d / "nano.fp32.tflite"),
        "nano.int8.tflite": build_tflite(d / "nano.int8.tflite", int8_io=True),
        "tiny.fp32.onnx": build_onnx(d / "tiny.fp32.onnx", kind="sharpen"),
    }
    write_manifest(d, [
        _entry(files["small.fp32.onnx"], "small.fp32.onnx", "fp32", "onnx"),
        _entry(files["small.int8.onnx"], "small.int8.onnx", "int8", "onnx"),
        _entry(files["small.int8.tflite"], "small.int8.tflite", "int8", "tflite"),
        _entry(files["nano.fp32.tflite"], "nano.fp32.tflite", "fp32", "tflite"),
        _entry(files["nano.int8.tflite"], "nano.int8.tflite", "int8", "tflite"),
        _entry(files["tiny.fp32.onnx"], "tiny.fp32.onnx", "fp32", "onnx", status="rejected"),
    ])
    return d


@pytest.mark.parametrize("name, expected, raises", [
    ("small", "small.fp32.onnx", None),
    ("small.fp32", "small.fp32.onnx", None),
    ("small.int8", "small.int8.onnx", None),
    ("small.int8.tflite", "small.int8.tflite", None),
    ("nano", "nano.fp32.tflite", None),
    ("nano.int8", "nano.int8.tflite", None),
    ("tiny.fp32.onnx", "tiny.fp32.onnx", None),     # a rejected artifact by its exact id
    ("tiny", None, "unknown model 'tiny'"),          # ...but never by a short name
    ("smal", None, "did you mean 'small'"),
    ("small.fp16", None, "unknown model 'small.fp16'"),
    ("resnet", None, "Run `edgedeblur models`"),
])
def test_names(models: Path, name: str, expected: str | None, raises: str | None) -> None:
    ctx = pytest.raises(ModelLoadError, match=raises) if raises else nullcontext()
    with ctx:
        r = resolve_model(name, models_dir=models)
        assert r.path == models / expected and r.entry is not None and r.id == expected


def test_known_names_list_aliases(models: Path) -> None:
    names = known_names(load_shipped_manifest(models))
    assert {"small", "small.int8", "nano", "small.int8.tflite"} <= set(names)
    assert "tiny" not in names and "tiny.fp32.onnx" not in names


def test_path_is_used_as_given(models: Path, tmp_path: Path) -> None:
    p = build_onnx(tmp_path / "mine.onnx")
    r = resolve_model(str(p), models_dir=models)
    assert r.path == p and r.entry is None and r.id == "mine.onnx"
    assert resolve_model(p).format.value == "onnx"


def test_tflite_sniffed_without_suffix(tmp_path: Path) -> None:
    p = build_tflite(tmp_path / "model.bin")
    assert resolve_model(p).format.value == "tflite"


@pytest.mark.parametrize("given, match", [
    ("missing/model.onnx", "not found"),
    ("nothere.tflite", "not found"),
])
def test_missing_paths(tmp_path: Path, given: str, match: str) -> None:
    with pytest.raises(ModelLoadError, match=match):
        resolve_model(given, models_dir=tmp_path)


def test_folder_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="is a folder"):
        resolve_model(tmp_path)


def test_missing_shipped_file(models: Path) -> None:
    (models / "small.int8.onnx").unlink()
    with pytest.raises(ModelLoadError, match=r"small.int8.onnx.*not found.*re-export"):
        resolve_model("small.int8", models_dir=models)


def test_sha_mismatch(models: Path) -> None:
    p = models / "small.fp32.onnx"
    p.write_bytes(p.read_bytes() + b"\0")
    with pytest.raises(ModelLoadError, match="does not match its manifest sha256"):
        resolve_model("small", models_dir=models)


def test_no_manifest_yet(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no models are shipped"):
        resolve_model("small", models_dir=tmp_path)


def test_shipped_manifest_is_consistent() -> None:
    """Whatever is shipped must resolve and match its hash (skipped until models land)."""
    manifest = load_shipped_manifest(SHIPPED_DIR)
    if not manifest.artifacts:
        pytest.skip("no shipped models yet (runtime/models/manifest.json missing)")
    for e in manifest.artifacts:
        assert resolve_model(e.id).path == SHIPPED_DIR / e.path
