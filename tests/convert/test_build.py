"""A whole build of the zoo's nano: files, manifest, report, op checks, and the runtime reading it."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from convert.build import BuildConfig, build
from convert.bundle import SHIP_GATE_DB, bundle, ship_config
from convert.calib import CalibConfig, ImagePairs
from convert.errors import ValidationFailed
from convert.results import BuildResult
from convert.source import SourceModel, load_source
from runtime.engines import EngineConfig, create_engine
from runtime.manifest import ArtifactEntry, DType, Layout, Manifest, Precision, Status, TensorSpec
from tests.convert.conftest import SIZE, hostile_onnx, torch_nhwc


@pytest.fixture(scope="module")
def nano_build(nano_src: SourceModel, tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    out = tmp_path_factory.mktemp("builds")
    config = BuildConfig(targets=("x86-cpu", "coral-edgetpu"), input_size=SIZE, calib=CalibConfig(count=8),
                         val_count=4, latency_rounds=2)
    return build(nano_src, out, config)


@pytest.mark.slow
def test_build_writes_every_artifact_and_passes(nano_build: BuildResult) -> None:
    ids = [a.id for a in nano_build.artifacts]
    assert ids == ["nano.fp32.onnx", "nano.int8.onnx", "nano.int8.tflite"]
    assert nano_build.ok and all(a.report.drop_db <= 0.3 for a in nano_build.artifacts)
    names = sorted(p.name for p in nano_build.folder.iterdir())
    assert names == sorted([*ids, "manifest.json", "report.md", "strips"])
    assert all(a.latency is not None and a.latency.median_ms > 0 for a in nano_build.artifacts)


@pytest.mark.slow
def test_manifest_feeds_the_runtime(nano_build: BuildResult, nano_src: SourceModel, pairs: ImagePairs) -> None:
    manifest = Manifest.load(nano_build.manifest_path)
    fp32 = manifest.find("nano.fp32.onnx")
    tflite = manifest.find("nano.int8.tflite")
    assert tflite.input.dtype is DType.INT8 and tflite.input.layout is Layout.NHWC and tflite.input.size_hw == SIZE
    assert tflite.input.scale and tflite.input.zero_point == -128 and tflite.target == "coral-edgetpu"
    assert tflite.parent_sha256 and tflite.parent_sha256 != fp32.sha256  # its parent is the fp32 .tflite
    assert manifest.find("nano.int8.onnx").parent_sha256 == fp32.sha256
    assert tflite.metrics["psnr_vs_float_db"] > 35 and tflite.notes["gate"] == "passed"
    want = torch_nhwc(nano_src.module, pairs.inputs)
    for name in ("nano.int8", "nano.int8.tflite", "nano"):  # names resolve like shipped ones
        with create_engine(name, EngineConfig(), models_dir=nano_build.folder) as engine:
            got = engine.run(pairs.inputs)
        assert np.percentile(np.abs(got - want), 99) < 0.03


@pytest.mark.slow
def test_edge_tpu_file_maps_every_op(nano_build: BuildResult) -> None:
    coral = next(a for a in nano_build.artifacts if a.id == "nano.int8.tflite")
    check = coral.opchecks["coral-edgetpu"]
    assert check.ok, check.summary()  # pixel shuffles became one-hot transposed convs
    assert "all" in Manifest.load(nano_build.manifest_path).find(coral.id).notes["ops.coral-edgetpu"]


def test_bundle_upserts_without_clobbering(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "keep.fp32.onnx").write_bytes(b"lead's model")
    spec = TensorSpec(name="x", layout=Layout.NCHW, dtype=DType.FLOAT32)
    theirs = ArtifactEntry(id="keep.fp32.onnx", model="keep", path="keep.fp32.onnx", format="onnx",
                           precision=Precision.FP32, sha256="0" * 64, input=spec, output=spec)
    Manifest([theirs]).save(models / "manifest.json")
    src = load_source(str(hostile_onnx(tmp_path / "hostile.onnx")))
    result = build(src, tmp_path / "b", BuildConfig(targets=("x86-cpu",), precisions=(Precision.INT8,),
                                                      calib=CalibConfig(count=8), val_count=4, latency_rounds=0))
    assert bundle(result, models) == ["hostile.int8.onnx"]
    shipped = Manifest.load(models / "manifest.json")
    assert shipped.find("keep.fp32.onnx") == theirs
    entry = shipped.find("hostile.int8.onnx")
    assert entry.path == "hostile.int8.onnx" and entry.status is Status.OK
    assert (models / "hostile.int8.onnx").read_bytes() == (result.folder / "hostile.int8.onnx").read_bytes()


def test_bundle_refuses_rejected_artifacts(tmp_path: Path) -> None:
    from convert.repair import RepairConfig

    src = load_source(str(hostile_onnx(tmp_path / "hostile.onnx")))
    result = build(src, tmp_path / "b", BuildConfig(targets=("x86-cpu",), calib=CalibConfig(count=8), val_count=4,
                                                      latency_rounds=0, repair=RepairConfig(enabled=False)))
    models = tmp_path / "models"
    models.mkdir()
    with pytest.raises(ValidationFailed, match="hostile.int8.onnx failed the quality gate"):
        bundle(result, models)
    assert not any(models.iterdir())


def test_bundle_refuses_a_float_stand_in_for_int8(tmp_path: Path) -> None:
    """An int8 that missed the gate and fell back to float must not ship: the old int8 files
    would stay beside the stand-in."""
    from convert.repair import RepairConfig

    src = load_source(str(hostile_onnx(tmp_path / "hostile.onnx")))
    result = build(src, tmp_path / "b", BuildConfig(targets=("x86-cpu",), calib=CalibConfig(count=8), val_count=4,
                                                      latency_rounds=0, repair=RepairConfig(max_float_fraction=0.0)))
    models = tmp_path / "models"
    models.mkdir()
    with pytest.raises(ValidationFailed, match="hostile.fp32-fallback.onnx stand in.*--calib DIR"):
        bundle(result, models)
    assert not any(models.iterdir())


def test_ship_config_plans_onnx_and_litert_at_int8_and_fp16() -> None:
    config = ship_config(BuildConfig())
    plans = config.plans()
    assert sorted((p.format.value, p.precision.value) for p in plans) == [
        ("onnx", "fp16"), ("onnx", "int8"), ("tflite", "fp16"), ("tflite", "int8")]
    assert config.validation.gate_db == SHIP_GATE_DB < BuildConfig().validation.gate_db
    assert ship_config(BuildConfig(), gate_db=0.2).validation.gate_db == 0.2


@pytest.mark.parametrize("same_weights", [True, False])
def test_bundle_links_to_the_shipped_fp32(tmp_path: Path, same_weights: bool) -> None:
    from tests.convert.conftest import sharpen_onnx

    src = load_source(str(hostile_onnx(tmp_path / "hostile.onnx")))
    result = build(src, tmp_path / "b", BuildConfig(targets=("x86-cpu",), precisions=(Precision.INT8,),
                                                      calib=CalibConfig(count=8), val_count=4, latency_rounds=0))
    models = tmp_path / "models"
    models.mkdir()
    fp32 = models / "hostile.fp32.onnx"
    if same_weights:
        fp32.write_bytes((result.folder / "hostile.fp32.onnx").read_bytes())
        import onnx

        stamped = onnx.load(str(fp32))
        stamped.metadata_props.add(key="note", value="shipped by the lead")  # other bytes, same graph
        onnx.save(stamped, str(fp32))
    else:
        sharpen_onnx(fp32, [1, 3, *SIZE])
    from runtime.manifest import sha256_file

    built = Manifest.load(result.manifest_path).find("hostile.fp32.onnx")
    theirs = replace(built, sha256=sha256_file(fp32))
    Manifest([theirs]).save(models / "manifest.json")
    if not same_weights:
        with pytest.raises(ValidationFailed, match="holds other weights"):
            bundle(result, models)
        assert not (models / "hostile.int8.onnx").exists()
        return
    bundle(result, models)
    assert Manifest.load(models / "manifest.json").find("hostile.int8.onnx").parent_sha256 == theirs.sha256
