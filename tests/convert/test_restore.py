"""The restore chain's denoiser and x2 upscaler through the conversion pipeline: their own
calibration and validation data, builds of every shipped format, manifest task/scale, the
runtime engines reading the build, and the gate on a broken int8 file."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import helper, numpy_helper

from convert.build import BuildConfig, build
from convert.bundle import ship_config
from convert.calib import CalibConfig, calibration_images, validation_pairs
from convert.data import DataConfig, PairSampler
from convert.export import ExportConfig, export_onnx
from convert.quantize import OnnxQuantConfig, OnnxQuantizer
from convert.repair import scratch_entry
from convert.results import BuildResult
from convert.source import SourceModel, load_source
from convert.task_data import degrade_crops
from convert.validate import ValidationConfig, run_artifact, validate
from convert.zoo import create_model, get_spec
from runtime.catalog import ResolvedModel
from runtime.engines import EngineConfig, create_engine, open_engine
from runtime.errors import ModelLoadError
from runtime.manifest import Manifest, Precision, Status
from tests.convert.conftest import SIZE, save_graph, torch_nhwc

NAMES = ("denoise", "x2")


@functools.lru_cache(maxsize=None)
def trained(name: str, steps: int = 30, seed: int = 0) -> torch.nn.Module:
    """A few Adam steps on the task's own pairs, so the net's correction is real (both start as
    the identity or nearest-neighbour upscaling). Cached: callers must not modify it."""
    spec = get_spec(name)
    torch.manual_seed(seed)
    model = create_model(name).train()
    sampler = PairSampler(DataConfig(pool_dead_leaves=2), seed)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(steps):
        pair = degrade_crops(spec.task, sampler.sharp_crops(6, 32 * spec.scale), seed + step)
        inp, target = (torch.from_numpy(a).permute(0, 3, 1, 2).contiguous() for a in pair)
        loss = (model(inp) - target).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module", params=NAMES)
def restore_src(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SourceModel:
    """A briefly trained denoiser or upscaler, loaded from a checkpoint as users would."""
    return load_source(str(_checkpoint(tmp_path_factory.mktemp("ckpt"), request.param)))


@pytest.fixture(scope="module")
def restore_build(restore_src: SourceModel, tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The shipped set (ONNX + LiteRT, int8 + fp16) at 32x32 inputs."""
    config = ship_config(BuildConfig(input_size=SIZE, calib=CalibConfig(count=8), val_count=4, latency_rounds=1),
                         gate_db=0.3)
    return build(restore_src, tmp_path_factory.mktemp("builds"), config)


@pytest.mark.parametrize("task, scale", [("denoise", 1), ("upscale", 2)])
def test_task_data_matches_the_task(task: str, scale: int, tmp_path: Path) -> None:
    val = validation_pairs(4, (16, 24), task=task)
    calib = calibration_images(CalibConfig(count=4, size_hw=(16, 24), task=task))
    assert val.inputs.shape == calib.shape == (4, 16, 24, 3) and val.targets.shape == (4, 16 * scale, 24 * scale, 3)
    assert val.scale == scale and 0 <= calib.min() and calib.max() <= 1
    assert not any(np.allclose(c, v, atol=1e-3) for c in calib for v in val.inputs)  # held out from calibration
    assert validation_pairs(4, (16, 24), task=task).inputs.tobytes() == val.inputs.tobytes()  # reproducible
    pooled = val.targets.reshape(4, 16, scale, 24, scale, 3).mean(axis=(2, 4))  # the targets at the input's size
    err = np.abs(val.inputs - pooled).mean(axis=(1, 2, 3))
    if task == "upscale":
        assert err.max() < 0.06  # the same picture, half size
    else:
        assert err.max() < 0.15 and err.mean() > 0.005  # the same picture, noisy (a few may be clean)
    folder = tmp_path / "photos"
    folder.mkdir()
    import cv2

    cv2.imwrite(str(folder / "p.png"), (np.random.default_rng(0).random((80, 90, 3)) * 255).astype(np.uint8))
    for as_is in (False, True):
        got = calibration_images(CalibConfig(folder=folder, count=2, size_hw=(16, 24), task=task, blurred=as_is))
        assert got.shape == (2, 16, 24, 3)


@pytest.mark.slow
def test_build_records_task_and_scale(restore_build: BuildResult, restore_src: SourceModel) -> None:
    name, spec = restore_src.name, get_spec(restore_src.name)
    ids = [a.id for a in restore_build.artifacts]
    assert ids == [f"{name}.{p}.{f}" for p, f in
                   (("fp32", "onnx"), ("int8", "onnx"), ("fp16", "onnx"), ("int8", "tflite"), ("fp16", "tflite"))]
    assert restore_build.ok, [a.report.reason for a in restore_build.artifacts]
    manifest = Manifest.load(restore_build.manifest_path)
    for e in manifest.artifacts:
        assert (e.task, e.scale, e.multiple_of) == (spec.task, spec.scale, spec.multiple_of)
        if e.format.value == "onnx":
            meta = {p.key: p.value for p in onnx.load(str(manifest.path_of(e))).metadata_props}
            assert meta["task"] == spec.task and meta.get("scale", "1") == str(spec.scale)
    tfl = manifest.find(f"{name}.int8.tflite")
    assert tfl.input.size_hw == SIZE and tfl.output.size_hw == (SIZE[0] * spec.scale, SIZE[1] * spec.scale)
    assert tfl.metrics["psnr_vs_float_db"] > 35 and tfl.status is Status.OK
    report = restore_build.report_path.read_text()
    assert f"Task: {spec.task}" in report and all(f"strips/{i}.png" in report for i in ids)


@pytest.mark.slow
def test_engines_run_the_build(restore_build: BuildResult, restore_src: SourceModel, tmp_path: Path) -> None:
    name, scale = restore_src.name, get_spec(restore_src.name).scale
    pairs = restore_build.pairs
    want = torch_nhwc(restore_src.module, pairs.inputs)
    assert want.shape == pairs.targets.shape == (4, SIZE[0] * scale, SIZE[1] * scale, 3)
    for model in (name, f"{name}.int8", f"{name}.fp16", f"{name}.int8.tflite", f"{name}.fp16.tflite"):
        with create_engine(model, EngineConfig(), models_dir=restore_build.folder) as engine:
            assert engine.info.scale == scale
            got = engine.run(pairs.inputs)
        assert got.shape == want.shape and np.percentile(np.abs(got - want), 99) < 0.03, model
    alone = tmp_path / "alone.onnx"  # no manifest: the scale comes from the file's metadata
    alone.write_bytes((restore_build.folder / f"{name}.int8.onnx").read_bytes())
    with open_engine(ResolvedModel(alone, None), EngineConfig()) as engine:
        assert engine.info.scale == scale and engine.run(pairs.inputs[:1]).shape == want[:1].shape


@pytest.mark.slow
def test_gate_rejects_an_int8_upscaler_calibrated_on_flat_grey(tmp_path: Path) -> None:
    src = load_source(str(_checkpoint(tmp_path, "x2")))  # the same trained net as the x2 build
    fp32 = export_onnx(src, tmp_path / "x2.fp32.onnx", ExportConfig())
    pairs = validation_pairs(4, SIZE, task="upscale")
    reference, _ = run_artifact(scratch_entry(fp32), fp32.path, pairs.inputs)
    calib = calibration_images(CalibConfig(count=8, size_hw=SIZE, task="upscale"))
    gate = ValidationConfig(gate_db=0.3)
    reports = {}
    for label, images in (("good", calib), ("grey", np.full_like(calib, 0.5))):
        q = OnnxQuantizer(fp32, images, tmp_path / label)
        art = q.quantize(tmp_path / f"{label}.int8.onnx", OnnxQuantConfig(Precision.INT8))
        reports[label] = validate(scratch_entry(art), art.path, pairs, reference, gate)
    assert reports["good"].passed and reports["good"].outputs.shape == pairs.targets.shape
    bad = reports["grey"]
    assert not bad.passed and bad.drop_db > 0.3 and "below fp32" in bad.reason


def _checkpoint(folder: Path, name: str) -> Path:
    """``trained(name)`` saved the way ``load_checkpoint`` reads it."""
    path = folder / f"{name}_test.pt"
    torch.save({"model": trained(name).state_dict(), "ema": None, "config": {"model": name}}, path)
    return path


def _upscaler_onnx(path: Path, factor: int) -> Path:
    """Nearest-neighbour upscaling by ``factor``: a one-hot 1x1 conv and DepthToSpace (CRD), like EdgeSR's skip."""
    w = np.zeros((3 * factor * factor, 3, 1, 1), np.float32)
    for c in range(3):
        w[c * factor * factor:(c + 1) * factor * factor, c] = 1.0
    nodes = [helper.make_node("Conv", ["x", "w"], ["rep"], name="repeat"),
             helper.make_node("DepthToSpace", ["rep"], ["y"], blocksize=factor, mode="CRD", name="shuffle")]
    return save_graph(path, nodes, [numpy_helper.from_array(w, "w")], ["N", 3, "H", "W"], ["N", 3, "H2", "W2"])


@pytest.mark.slow
def test_user_onnx_upscaler_builds_onnx_and_litert(tmp_path: Path) -> None:
    src = load_source(str(_upscaler_onnx(tmp_path / "up.onnx", 2)), input_size=SIZE)
    assert (src.task, src.scale) == ("upscale", 2)
    config = BuildConfig(targets=("x86-cpu", "rpi5"), precisions=(Precision.INT8,), input_size=SIZE,
                         calib=CalibConfig(count=4), val_count=2, latency_rounds=0)
    result = build(src, tmp_path / "b", config)  # LiteRT through onnx2torch
    assert result.ok and [a.id for a in result.artifacts] == ["up.fp32.onnx", "up.int8.onnx", "up.int8.tflite"]
    manifest = Manifest.load(result.manifest_path)
    assert all((e.task, e.scale) == ("upscale", 2) for e in manifest.artifacts)
    with create_engine("up.int8.tflite", EngineConfig(), models_dir=result.folder) as engine:
        x = result.pairs.inputs[:1]
        np.testing.assert_allclose(engine.run(x), x.repeat(2, axis=1).repeat(2, axis=2), atol=2 / 255)


def test_onnx_outputs_at_other_scales_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="twice the height and width"):
        load_source(str(_upscaler_onnx(tmp_path / "x3.onnx", 3)), input_size=SIZE)


def test_qat_fine_tunes_the_upscaler_on_its_own_pairs() -> None:
    from convert.qat import QatConfig, finetune

    model = create_model("x2")
    torch.nn.init.normal_(model.head.weight, std=0.05)
    tuned = finetune(model, QatConfig(steps=2, batch=2, crop=16), "upscale")
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert tuned(x).shape == (1, 3, 32, 32)
    assert not torch.equal(tuned.head.weight, model.head.weight)
