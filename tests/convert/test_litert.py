"""LiteRT: fp32/fp16/dynamic-int8/full-int8 round trip through the real LiteRT engine vs PyTorch."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convert.artifact import Artifact
from convert.calib import ImagePairs
from convert.litert import (TfliteQuantConfig, TfliteQuantizer, interpreter, run_raw, short_name)
from convert.quantize import CalibMethod
from convert.repair import scratch_entry
from convert.source import SourceModel
from convert.validate import run_artifact
from runtime.manifest import DType, Layout, Precision
from tests.convert.conftest import SIZE, torch_nhwc

TOLERANCE = {Precision.FP32: 1e-4, Precision.FP16: 2e-3, Precision.INT8_DYNAMIC: 0.03, Precision.INT8: 0.03}
"""99th-percentile abs error vs PyTorch per precision (int8: a few output quantisation steps;
the rare pixels beyond are activations outside the tiny calibration set's ranges)."""
MIN_PSNR = {Precision.FP32: 80.0, Precision.FP16: 60.0, Precision.INT8_DYNAMIC: 38.0, Precision.INT8: 35.0}


@pytest.fixture(scope="module")
def quantizer(nano_tflite_fp32: Artifact, calib: np.ndarray) -> TfliteQuantizer:
    return TfliteQuantizer(nano_tflite_fp32, calib)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / max(np.mean((a - b) ** 2), 1e-12)))


def test_fp32_export_is_nhwc_static_and_matches_pytorch(nano_tflite_fp32: Artifact, nano_src: SourceModel) -> None:
    spec = nano_tflite_fp32.input
    assert (spec.layout, spec.dtype, spec.size_hw) == (Layout.NHWC, DType.FLOAT32, SIZE)
    x = np.random.default_rng(3).random((1, *SIZE, 3), dtype=np.float32)
    import torch

    with torch.no_grad():
        want = nano_src.module(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(run_raw(nano_tflite_fp32.path, x), want, atol=TOLERANCE[Precision.FP32])


@pytest.mark.parametrize("precision", [Precision.FP32, Precision.FP16, Precision.INT8_DYNAMIC, Precision.INT8])
def test_round_trip_against_pytorch(quantizer: TfliteQuantizer, nano_src: SourceModel, pairs: ImagePairs,
                                    tmp_path: Path, precision: Precision) -> None:
    art = quantizer.fp32 if precision is Precision.FP32 else \
        quantizer.quantize(tmp_path / "q.tflite", TfliteQuantConfig(precision))
    got, errors = run_artifact(scratch_entry(art), art.path, pairs.inputs)
    want = torch_nhwc(nano_src.module, pairs.inputs)
    assert not errors
    assert np.percentile(np.abs(got - want), 99) < TOLERANCE[precision]
    assert _psnr(got, want) > MIN_PSNR[precision]
    if precision is Precision.INT8:  # full integer: int8 in and out, with the scale the runtime needs
        for spec in (art.input, art.output):
            assert spec.dtype is DType.INT8 and spec.scale and spec.zero_point is not None
        assert abs(art.input.scale - 1 / 255) < 2e-4 and art.input.zero_point == -128
    else:
        assert art.input.dtype is DType.FLOAT32
    if precision is not Precision.FP32:
        assert art.size_bytes < 0.6 * quantizer.fp32.size_bytes


def test_keep_float_and_calibration_methods(quantizer: TfliteQuantizer, tmp_path: Path) -> None:
    groups = quantizer.float_groups()
    assert [short_name(g[0]) for g in groups][:2] == ["unshuffle", "stem.0"]
    head = next(g for g in groups if short_name(g[0]) == "head")
    art = quantizer.quantize(tmp_path / "mixed.tflite", TfliteQuantConfig(keep_float=head))
    assert art.provenance["kept_in_float"].split(",")[0] == "head"
    block = next(g for g in groups if len({short_name(n) for n in g}) < len(g))  # tensors sharing a layer
    mixed = quantizer.quantize(tmp_path / "block.tflite", TfliteQuantConfig(keep_float=block))
    names = mixed.provenance["kept_in_float"].split(",")
    assert len(names) == len(set(names))  # each layer named once
    interp = interpreter(art.path, xnnpack=False)
    dtypes = {t["name"]: t["dtype"] for t in interp.get_tensor_details()}
    assert dtypes[head[0]] == np.float32  # the head's output stays float
    minmax = quantizer.ranges(CalibMethod.MINMAX)
    pct = quantizer.ranges(CalibMethod.PERCENTILE)
    assert minmax.keys() == pct.keys()
    widths = [(pct[k]["max"] - pct[k]["min"]).item() / max((minmax[k]["max"] - minmax[k]["min"]).item(), 1e-9)
              for k in minmax]
    assert max(widths) <= 1.0001 and min(widths) < 0.9995  # percentile clips the tails


def test_short_names_read_like_module_paths() -> None:
    wrap = "litert_torch._convert.to_channel_last_io.ChannelLastIOWrapper/convert.zoo.EdgeUNet_wrapped"
    fused = (f"{wrap}/torch.nn.modules.container.Sequential_enc1/convert.zoo.ResBlock_0/torch.nn.modules.activation"
             f".ReLU_act;;{wrap}/torch.nn.modules.container.Sequential_enc1/convert.zoo.ResBlock_0/"
             "torch.nn.modules.conv.Conv2d_c1;1")
    assert short_name(fused) == "enc1.0.c1"
    assert short_name(f"{wrap};4") == "model"
    assert short_name("serving_default_args_0") == "serving_default_args_0"


def test_user_onnx_goes_to_litert(tmp_path: Path) -> None:
    import onnxruntime as ort

    from convert.litert import TfliteExportConfig, export_tflite
    from convert.source import load_source
    from tests.convert.conftest import sharpen_onnx

    path = sharpen_onnx(tmp_path / "s.onnx")
    src = load_source(str(path), input_size=SIZE)
    art = export_tflite(src, tmp_path / "s.tflite", TfliteExportConfig(SIZE))
    x = np.random.default_rng(5).random((1, *SIZE, 3), dtype=np.float32)
    want = ort.InferenceSession(str(path)).run(None, {"x": x.transpose(0, 3, 1, 2)})[0].transpose(0, 2, 3, 1)
    np.testing.assert_allclose(run_raw(art.path, x), want, atol=1e-5)


def test_unsupported_onnx_ops_are_named(tmp_path: Path) -> None:
    import onnx
    from onnx import helper

    from convert.errors import ExportError
    from convert.onnx_import import check_convertible
    from tests.convert.conftest import save_graph

    dims = [1, 3, *SIZE]
    path = save_graph(tmp_path / "s2d.onnx", [helper.make_node("SpaceToDepth", ["x"], ["s"], blocksize=2, name="fold"),
                                              helper.make_node("DepthToSpace", ["s"], ["y"], blocksize=2, name="unfold")],
                      [], dims, dims)
    with pytest.raises(ExportError, match=r"for --target rpi5: onnx2torch has no converter for node\(s\) "
                                          r"fold \(SpaceToDepth\); use --format onnx"):
        check_convertible(onnx.load(str(path)), str(path), "--target rpi5")
