"""Operator checks name the layers an accelerator cannot map."""
from __future__ import annotations

from pathlib import Path

import pytest
from onnx import helper

from convert.artifact import Artifact
from convert.opcheck import check_ops, list_ops
from convert.oplists import EDGE_TPU, NNAPI, QNN_HTP, TENSORRT, TFLITE_GPU, OpSupport
from convert.targets import TARGETS
from runtime.manifest import ArtifactFormat
from tests.convert.conftest import SIZE, save_graph, sharpen_onnx


def test_onnx_offenders_are_named(tmp_path: Path) -> None:
    dims = [1, 3, *SIZE]
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="act"), helper.make_node("Erf", ["r"], ["y"], name="smooth")]
    path = save_graph(tmp_path / "m.onnx", nodes, [], dims, dims)
    report = check_ops(path, ArtifactFormat.ONNX, QNN_HTP)
    assert [(o.node, o.op) for o in report.offenders] == [("smooth", "Erf")]
    assert "1/2 ops do not map to QNN HTP" in report.summary()
    assert check_ops(path, ArtifactFormat.ONNX, TENSORRT).ok


def test_static_targets_flag_dynamic_shapes(tmp_path: Path) -> None:
    path = sharpen_onnx(tmp_path / "dyn.onnx")
    report = check_ops(path, ArtifactFormat.ONNX, QNN_HTP, require_static=True)
    assert report.offenders and "dynamic shape" in report.offenders[0].reason
    assert check_ops(sharpen_onnx(tmp_path / "s.onnx", [1, 3, *SIZE]), ArtifactFormat.ONNX, QNN_HTP,
                     require_static=True).ok


def test_edge_tpu_rejects_pixel_shuffle_reshapes(nano_tflite_fp32: Artifact) -> None:
    nodes = list_ops(nano_tflite_fp32.path, ArtifactFormat.TFLITE)
    assert "DELEGATE" not in {n.op for n in nodes} and "CONV_2D" in {n.op for n in nodes}
    report = check_ops(nano_tflite_fp32.path, ArtifactFormat.TFLITE, EDGE_TPU)
    assert report.offenders and all("shuffle" in o.node for o in report.offenders)
    assert all("dims > 1" in o.reason for o in report.offenders)
    assert check_ops(nano_tflite_fp32.path, ArtifactFormat.TFLITE, TFLITE_GPU).ok  # rank <= 4 everywhere


@pytest.mark.parametrize("name", list(TARGETS))
def test_every_target_names_its_op_list_source(name: str) -> None:
    for fmt in TARGETS[name].formats:
        support = TARGETS[name].op_support(fmt)
        assert support.format is fmt and support.source
    assert NNAPI.max_rank == 4


# Facts for the ops our nets use, each checked against a vendor source (see oplists.py comments):
# Edge TPU: no DEPTH_TO_SPACE (google-coral/edgetpu#386); NNAPI maps DEPTH_TO_SPACE / SPACE_TO_DEPTH
# (nnapi_delegate.cc Map()); QNN EP registers DepthToSpace, SpaceToDepth, Clip, QDQ (op_builder_factory.cc).
@pytest.mark.parametrize("support, op, mapped", [
    (EDGE_TPU, "DEPTH_TO_SPACE", False),
    (EDGE_TPU, "SPACE_TO_DEPTH", True),
    (EDGE_TPU, "CONV_2D", True),
    (EDGE_TPU, "QUANTIZE", True),
    (NNAPI, "DEPTH_TO_SPACE", True),
    (NNAPI, "SPACE_TO_DEPTH", True),
    (QNN_HTP, "DepthToSpace", True),
    (QNN_HTP, "SpaceToDepth", True),
    (QNN_HTP, "Clip", True),
    (QNN_HTP, "QuantizeLinear", True),
    (QNN_HTP, "DequantizeLinear", True),
])
def test_vendor_checked_ops(support: OpSupport, op: str, mapped: bool) -> None:
    assert (op in support.ops) is mapped
