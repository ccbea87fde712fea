"""Manifest: round trip, stable output, validation and clear errors on malformed files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.errors import ConfigError, ModelLoadError
from runtime.manifest import (ArtifactEntry, ArtifactFormat, DType, Layout, Manifest, Precision,
                              Status, TensorSpec, sha256_file)

SHA = "a" * 64


def entry(id_: str = "small.fp32.onnx", **kw: object) -> ArtifactEntry:
    base: dict[str, object] = dict(id=id_, model="small", path=id_, format="onnx", precision="fp32",
                                   sha256=SHA, input=TensorSpec(name="x"), output=TensorSpec(name="y"))
    base.update(kw)
    return ArtifactEntry(**base)  # type: ignore[arg-type]


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    e = entry("small.int8.tflite", format="tflite", precision="int8", parent_sha256="b" * 64,
              input=TensorSpec(name="x", layout="NHWC", dtype="int8", scale=1 / 255, zero_point=-128,
                               size_hw=(256, 256)),
              output=TensorSpec(name="y", layout="NHWC", dtype="int8", scale=1 / 255, zero_point=-128,
                                size_hw=(256, 256)),
              multiple_of=8, target="pixel8", status="rejected", params=117000, macs_256=1.5e9,
              metrics={"psnr_db": 30.5}, notes={"description": "tiny", "specialty": "motion"})
    m = Manifest().upsert(e)
    m.save(tmp_path / "manifest.json")
    back = Manifest.load(tmp_path / "manifest.json")
    assert back.artifacts == [e]
    assert back.find("small.int8.tflite").input.layout is Layout.NHWC
    assert back.find("small.int8.tflite").status is Status.REJECTED
    assert back.path_of(e) == tmp_path / "small.int8.tflite"


def test_save_is_sorted_stable_and_versioned(tmp_path: Path) -> None:
    p = tmp_path / "manifest.json"
    Manifest().upsert(entry("z.fp32.onnx")).upsert(entry("a.fp32.onnx")).save(p)
    first = p.read_bytes()
    Manifest.load(p).save(p)
    assert p.read_bytes() == first
    doc = json.loads(first)
    assert doc["schema_version"] == 1
    assert [a["id"] for a in doc["artifacts"]] == ["a.fp32.onnx", "z.fp32.onnx"]
    assert not list(tmp_path.glob(".*tmp"))


def test_upsert_replaces_same_id() -> None:
    m = Manifest().upsert(entry(params=1)).upsert(entry(params=2))
    assert len(m.artifacts) == 1 and m.find("small.fp32.onnx").params == 2
    assert m.find("nope") is None


def test_enums_accept_strings() -> None:
    e = entry()
    assert e.format is ArtifactFormat.ONNX and e.precision is Precision.FP32
    assert e.input.dtype is DType.FLOAT32 and e.alias == "small.fp32"


@pytest.mark.parametrize("kw, match", [
    ({"format": "pb"}, "format 'pb' is not one of"),
    ({"precision": "int4"}, "precision 'int4'"),
    ({"sha256": "abc"}, "64 hex digits"),
    ({"multiple_of": 0}, "multiple_of"),
    ({"path": "/abs/model.onnx"}, "relative"),
    ({"input": {"name": "x", "scale": -1.0}}, "scale"),
    ({"input": {"name": "x", "layout": "CHW"}}, "layout"),
    ({"input": {"nme": "x"}}, "needs .name."),
])
def test_invalid_entries_raise_config_error(kw: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        entry(**kw)


@pytest.mark.parametrize("text, match", [
    ("{not json", r"not valid JSON \(line 1"),
    ("[]", "not a model manifest"),
    ('{"schema_version": 99, "artifacts": []}', "schema_version 99"),
    ('{"schema_version": 1, "artifacts": [{"id": "x"}]}', "artifact x"),
    ('{"schema_version": 1, "artifacts": [7]}', "artifact #0 is not an object"),
])
def test_malformed_files_name_the_file(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "manifest.json"
    p.write_text(text)
    with pytest.raises(ModelLoadError, match=match) as info:
        Manifest.load(p)
    assert str(p) in str(info.value)


def test_unknown_field_is_reported(tmp_path: Path) -> None:
    doc = entry().to_json() | {"colour": "blue"}
    p = tmp_path / "manifest.json"
    p.write_text(json.dumps({"schema_version": 1, "artifacts": [doc]}))
    with pytest.raises(ModelLoadError, match="unknown field.*colour"):
        Manifest.load(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        Manifest.load(tmp_path / "manifest.json")


def test_sha256_file(tmp_path: Path) -> None:
    p = tmp_path / "f.bin"
    p.write_bytes(b"abc")
    assert sha256_file(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
