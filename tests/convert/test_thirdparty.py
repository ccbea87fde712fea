"""Deblur architectures nobody here wrote (tests/thirdparty_nets.py), exported as users export them,
converted to every target through onnx2torch + litert-torch and ONNX Runtime."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from convert.build import BuildConfig, build
from convert.calib import CalibConfig
from convert.source import load_source
from convert.targets import TARGETS
from convert.errors import ExportError
from runtime.manifest import ArtifactFormat, Status
from tests.thirdparty_nets import ARCHS, export, make

SIZE = (32, 32)


def _fast(targets: tuple[str, ...], **kwargs: object) -> BuildConfig:
    return BuildConfig(targets=targets, input_size=SIZE, calib=CalibConfig(count=4), val_count=2,
                       latency_rounds=0, **kwargs)  # type: ignore[arg-type]


def test_exports_carry_the_ops_real_nets_have(tmp_path: Path) -> None:
    ops = {a: {n.op_type for n in onnx.load(str(export(a, tmp_path / f"{a}.onnx"))).graph.node} for a in ARCHS}
    assert {"Shape", "Gather", "Mod", "Pad", "Slice", "ReduceMean", "Pow", "Sqrt", "DepthToSpace",
            "GlobalAveragePool"} <= ops["nafnet"]
    assert {"LayerNormalization", "Erf", "Softmax", "MatMul", "ConvTranspose"} <= ops["restormer"]
    assert "Resize" in ops["mimo"]
    assert len(onnx.load(str(tmp_path / "mimo.onnx")).graph.output) == 3


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHS)
def test_every_target_gets_artifacts_that_run(arch: str, tmp_path: Path) -> None:
    path = export(arch, tmp_path / f"{arch}.onnx")
    src = load_source(str(path), input_size=SIZE)
    assert src.output == "image"
    result = build(src, tmp_path / "out", _fast(tuple(TARGETS)))
    by_target = {t: [b for b in result.artifacts if t in b.targets] for t in TARGETS}
    assert all(by_target.values()), {t: len(v) for t, v in by_target.items()}
    for b in result.artifacts:  # every file ran in its real engine on the validation pairs
        if b.targets == ("coral-edgetpu",) and b.status is Status.REJECTED:
            assert b.report.reason  # full int8 or nothing: the gate decides, and says why
            continue
        assert b.status is Status.OK, (b.id, b.report.reason)
        assert np.isfinite(b.report.outputs).all()
        assert b.report.metrics.psnr_vs_float_db > (80 if b.spec.precision.value in ("fp32",) else 35), b.id
    formats = {b.spec.format for b in result.artifacts}
    assert formats == {ArtifactFormat.ONNX, ArtifactFormat.TFLITE}
    tpu = next(b for b in result.artifacts if "coral-edgetpu" in b.targets)
    assert tpu.repair is not None and not tpu.repair.chosen.kept_in_float  # Edge TPU: full int8 or nothing


def test_litert_export_matches_pytorch_for_a_padded_size(tmp_path: Path) -> None:
    """34x30 is not a multiple of 4: the static graph keeps NAFNet's Pad and crop Slice."""
    from convert.litert import TfliteExportConfig, export_tflite, run_raw

    src = load_source(str(export("nafnet", tmp_path / "n.onnx")), input_size=(34, 30))
    art = export_tflite(src, tmp_path / "n.tflite", TfliteExportConfig((34, 30)))
    x = np.random.default_rng(1).random((1, 34, 30, 3), dtype=np.float32)
    with torch.no_grad():
        want = make("nafnet")(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(run_raw(art.path, x), want, atol=1e-4)


def test_unmappable_node_is_named_with_its_targets(tmp_path: Path) -> None:
    from onnx import helper

    from tests.convert.conftest import save_graph

    dims = [1, 3, *SIZE]
    nodes = [helper.make_node("SpaceToDepth", ["x"], ["s"], blocksize=2, name="squeeze_space"),
             helper.make_node("DepthToSpace", ["s"], ["y"], blocksize=2, mode="DCR", name="unsqueeze")]
    path = save_graph(tmp_path / "s2d.onnx", nodes, [], dims, dims)
    src = load_source(str(path))
    with pytest.raises(ExportError, match=r"for --target rpi5, android-npu: onnx2torch has no converter for "
                                          r"node\(s\) squeeze_space \(SpaceToDepth\); use --format onnx"):
        build(src, tmp_path / "out", _fast(("rpi5", "android-npu")))
    onnx_only = build(src, tmp_path / "out", _fast(("x86-cpu",)))  # the ONNX path still serves it
    assert onnx_only.ok


@pytest.mark.slow
def test_int8_that_misses_the_gate_falls_back_to_float(tmp_path: Path) -> None:
    from convert.repair import RepairConfig
    from tests.convert.conftest import hostile_onnx

    src = load_source(str(hostile_onnx(tmp_path / "hostile.onnx")))
    no_islands = RepairConfig(max_float_fraction=0.0)  # only a float tensor saves this model
    result = build(src, tmp_path / "out", _fast(("android-npu", "x86-cpu", "coral-edgetpu"), repair=no_islands))
    fallbacks = {b.id: b for b in result.artifacts if b.fallback}
    assert set(fallbacks) == {"hostile.fp16.android-npu.tflite", "hostile.fp32-fallback.onnx"}
    assert [b.id for b in result.artifacts if b.status is Status.REJECTED] == ["hostile.int8.coral-edgetpu.tflite"]
    for b in fallbacks.values():
        assert "int8 missed the gate" in b.fallback and b.repair is not None and not b.repair.report.passed
    assert "Float fallback" in result.report_path.read_text()


@pytest.mark.slow
def test_user_module_and_checkpoint_go_to_both_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--arch module:Class --arch-args`` with a BasicSR-style checkpoint of a multi-output net."""
    from runtime.cli import main
    from runtime.manifest import Manifest

    net = make("mimo", seed=3)
    ckpt = tmp_path / "mimo_x8.pth"
    torch.save({"params": {f"module.{k}": v for k, v in net.state_dict().items()}}, ckpt)
    code = main(["convert", str(ckpt), "--arch", "tests.thirdparty_nets:TinyMIMO", "--arch-args", '{"width": 8}',
                 "--input-size", "32", "--target", "x86-cpu", "--target", "rpi5", "-o", str(tmp_path / "b"),
                 "--calib-count", "4", "--val-count", "2", "--latency-rounds", "0"])
    assert code == 0, capsys.readouterr().err
    manifest = Manifest.load(tmp_path / "b" / "mimo_x8" / "manifest.json")
    assert {e.format for e in manifest.artifacts} == {ArtifactFormat.ONNX, ArtifactFormat.TFLITE}


@pytest.mark.parametrize("args, message", [
    (["--arch", "tests.thirdparty_nets:NoSuchNet"], "has no class 'NoSuchNet'"),
    (["--arch", "tests.thirdparty_nets:TinyMIMO", "--arch-args", "{width: 8}"], "is not JSON"),
    (["--arch", "tests.thirdparty_nets:TinyMIMO", "--arch-args", '{"depth": 3}'], "unexpected keyword"),
    (["--arch", "tests.thirdparty_nets:TinyNAFNet", "--arch-args", '{"width": 4}'], "does not fit .* check --arch-args"),
])
def test_bad_user_module_gets_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                       message: str) -> None:
    import re

    from runtime.cli import main

    ckpt = tmp_path / "w.pth"
    torch.save(make("nafnet").state_dict(), ckpt)
    code = main(["convert", str(ckpt), *args, "-o", str(tmp_path / "b")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("edgedeblur")]
    assert code == 1 and len(lines) == 1 and "Traceback" not in err, err
    assert re.search(message, lines[0]), lines[0]
