"""Fixtures for the conversion tests: tiny generated models, converted once per session.

The zoo's ``nano`` runs at 32x32 (the smallest size its three stride-2 stages allow with
room to spare); its LiteRT conversion, the slow step (~10 s), happens once per session.
Generated ONNX graphs (1-3 nodes) cover the user-ONNX paths and the quantisation-hostile case.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from convert.artifact import Artifact
from convert.calib import CalibConfig, ImagePairs, calibration_images, validation_pairs
from convert.source import SourceModel, load_source
from convert.zoo import create_model, get_spec

SIZE = (32, 32)
OPSET = 17


def save_graph(path: Path, nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto], in_dims: list[object],
               out_dims: list[object], elem: int = TensorProto.FLOAT) -> Path:
    """Write a checked single-input single-output ONNX model."""
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", elem, in_dims)],
                              [helper.make_tensor_value_info("y", elem, out_dims)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def sharpen_onnx(path: Path, dims: list[object] | None = None) -> Path:
    """A 1-node image model: a per-channel 3x3 unsharp mask (NCHW)."""
    k = -np.full((3, 3), 1 / 16, np.float32)
    k[1, 1] = 1.5
    w = np.zeros((3, 3, 3, 3), np.float32)
    for c in range(3):
        w[c, c] = k
    dims = dims or ["N", 3, "H", "W"]
    return save_graph(path, [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1], name="sharpen")],
                      [numpy_helper.from_array(w, "w")], dims, dims)


def hostile_onnx(path: Path) -> Path:
    """An image model that plain int8 ruins: a large-range activation shares a tensor with the image.

    ``wide`` outputs the three colour channels plus 300 x grey (range 0..300); ``narrow``
    gives back each colour plus (wide_3 / 300 - grey), which is 0 in float. Per-tensor int8
    of ``wide``'s output has a step of ~1.2, wiping the colours out; clipping the range
    (percentile, entropy) breaks the correction term. Only float for that tensor fixes it.
    """
    grey = np.full(3, 1 / 3, np.float32)
    w1 = np.zeros((4, 3, 1, 1), np.float32)
    w1[:3, :, 0, 0] = np.eye(3)
    w1[3, :, 0, 0] = 300 * grey
    w2 = np.zeros((3, 4, 1, 1), np.float32)
    w2[:, :3, 0, 0] = np.eye(3) - grey[None, :]
    w2[:, 3, 0, 0] = 1 / 300
    dims = [1, 3, *SIZE]
    return save_graph(path, [helper.make_node("Conv", ["x", "w1"], ["wide"], name="wide"),
                             helper.make_node("Conv", ["wide", "w2"], ["y"], name="narrow")],
                      [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")], dims, dims)


def classifier_onnx(path: Path) -> Path:
    """A valid ONNX classifier: (1, 3, 32, 32) image -> (1, 3) scores."""
    w = np.random.default_rng(0).normal(size=(3, 3, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("GlobalAveragePool", ["c"], ["g"]),
             helper.make_node("Flatten", ["g"], ["y"])]
    return save_graph(path, nodes, [numpy_helper.from_array(w, "w")], [1, 3, *SIZE], [1, 3])


def nano_module(seed: int = 0) -> torch.nn.Module:
    """The zoo's nano with a random (non-zero) head, so its output is not just its input."""
    get_spec("nano")  # the registry's first use builds a model to count costs: not after the seed
    torch.manual_seed(seed)
    model = create_model("nano")
    torch.nn.init.normal_(model.head.weight, std=0.05)
    return model.eval()


@pytest.fixture(scope="session")
def nano_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A nano state dict saved the way ``load_checkpoint`` reads it."""
    path = tmp_path_factory.mktemp("ckpt") / "nano_test.pt"
    torch.save({"model": nano_module().state_dict(), "ema": None, "config": {"model": "nano"}}, path)
    return path


@pytest.fixture(scope="session")
def nano_src(nano_checkpoint: Path) -> SourceModel:
    return load_source(str(nano_checkpoint))


@pytest.fixture(scope="session")
def calib() -> np.ndarray:
    return calibration_images(CalibConfig(count=8, size_hw=SIZE))


@pytest.fixture(scope="session")
def pairs() -> ImagePairs:
    return validation_pairs(4, SIZE)


@pytest.fixture(scope="session")
def nano_tflite_fp32(nano_src: SourceModel, tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    """nano converted to an fp32 NHWC .tflite once per session (the slow conversion)."""
    from convert.litert import TfliteExportConfig, export_tflite

    out = tmp_path_factory.mktemp("tflite") / "nano.fp32.tflite"
    return export_tflite(nano_src, out, TfliteExportConfig(SIZE))


def torch_nhwc(module: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    """PyTorch output for NHWC float32 images, as NHWC, clipped like the engines clip."""
    with torch.no_grad():
        out = module(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous())
    return np.clip(out.permute(0, 2, 3, 1).numpy(), 0, 1)
