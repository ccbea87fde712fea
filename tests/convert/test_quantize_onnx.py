"""ONNX fp16 and static int8: round trip through the real ONNX Runtime engine vs PyTorch."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from convert.artifact import Artifact
from convert.calib import ImagePairs
from convert.export import ExportConfig, export_onnx
from convert.quantize import CalibMethod, OnnxQuantConfig, OnnxQuantizer
from convert.repair import scratch_entry
from convert.source import SourceModel
from convert.validate import run_artifact
from runtime.errors import ConfigError
from runtime.manifest import DType, Precision
from tests.convert.conftest import torch_nhwc

TOLERANCE = {Precision.FP16: 2e-3, Precision.INT8: 0.03}
"""99th-percentile abs error vs PyTorch per precision (int8: a few output quantisation steps;
the rare pixels beyond are activations outside the tiny calibration set's ranges)."""
MIN_PSNR = {Precision.FP16: 60.0, Precision.INT8: 35.0}


@pytest.fixture(scope="module")
def quantizer(nano_src: SourceModel, calib: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> OnnxQuantizer:
    folder = tmp_path_factory.mktemp("onnxq")
    fp32 = export_onnx(nano_src, folder / "nano.fp32.onnx", ExportConfig())
    return OnnxQuantizer(fp32, calib, folder / "work")


def _outputs(art: Artifact, images: np.ndarray) -> np.ndarray:
    out, errors = run_artifact(scratch_entry(art), art.path, images)
    assert not errors
    return out


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / max(np.mean((a - b) ** 2), 1e-12)))


@pytest.mark.parametrize("precision, activations", [(Precision.FP16, DType.UINT8), (Precision.INT8, DType.UINT8),
                                                    (Precision.INT8, DType.INT8)])
def test_round_trip_against_pytorch(quantizer: OnnxQuantizer, nano_src: SourceModel, pairs: ImagePairs,
                                    tmp_path: Path, precision: Precision, activations: DType) -> None:
    art = quantizer.quantize(tmp_path / "q.onnx", OnnxQuantConfig(precision, activation_dtype=activations))
    assert art.precision is precision and art.parent_sha256 == quantizer.fp32.sha256
    got, want = _outputs(art, pairs.inputs), torch_nhwc(nano_src.module, pairs.inputs)
    assert np.percentile(np.abs(got - want), 99) < TOLERANCE[precision]
    assert _psnr(got, want) > MIN_PSNR[precision]
    model = onnx.load(str(art.path))
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["precision"] == precision.value and meta["parent_sha256"] == quantizer.fp32.sha256
    if precision is Precision.INT8:
        q_types = {i.data_type for i in model.graph.initializer if i.name.endswith("_zero_point")}
        expected = onnx.TensorProto.UINT8 if activations is DType.UINT8 else onnx.TensorProto.INT8
        assert expected in q_types and meta["activations"] == activations.value
        first_q = next(n for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "image")
        scale = next(i for i in model.graph.initializer if i.name == first_q.input[1])
        assert abs(onnx.numpy_helper.to_array(scale).item() - 1 / 255) < 1e-6  # images pinned to [0, 1]
    else:
        assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in model.graph.initializer)
        assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # float32 I/O kept


def test_keep_float_leaves_nodes_unquantised(quantizer: OnnxQuantizer, tmp_path: Path) -> None:
    groups = quantizer.float_groups()
    head = next(g for g in groups if "head" in g[0])
    assert len(head) > 1  # the head conv plus the pass-through/residual ops reading its output
    art = quantizer.quantize(tmp_path / "mixed.onnx", OnnxQuantConfig(keep_float=head))
    graph = onnx.load(str(art.path)).graph
    producers = {o: n for n in graph.node for o in n.output}
    head_conv = next(n for n in graph.node if n.name == head[0])
    assert head_conv.input[1] not in producers  # a float initializer, not a DequantizeLinear output
    quantised_conv = next(n for n in graph.node if n.op_type == "Conv" and n.name != head[0])
    assert producers[quantised_conv.input[1]].op_type == "DequantizeLinear"
    assert art.provenance["kept_in_float"].startswith(head[0])


def test_calibration_methods_give_different_ranges(quantizer: OnnxQuantizer, tmp_path: Path) -> None:
    def scales(method: CalibMethod) -> np.ndarray:
        art = quantizer.quantize(tmp_path / f"{method.value}.onnx", OnnxQuantConfig(method=method))
        inits = onnx.load(str(art.path)).graph.initializer
        return np.array([onnx.numpy_helper.to_array(i).item() for i in inits
                         if i.name.endswith("_scale") and i.dims == []])
    minmax, pct = scales(CalibMethod.MINMAX), scales(CalibMethod.PERCENTILE)
    assert minmax.shape == pct.shape and not np.allclose(minmax, pct)
    assert (pct <= minmax * 1.0001).mean() > 0.9  # percentile clips: mostly narrower ranges


def test_dynamic_int8_is_refused_for_onnx() -> None:
    with pytest.raises(ConfigError, match="10x slower"):
        OnnxQuantConfig(Precision.INT8_DYNAMIC)
