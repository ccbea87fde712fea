"""Export to ONNX, exact rewrites, and the checks on what users bring."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from convert.export import ExportConfig, export_onnx, fix_size
from convert.rewrite import make_exportable, shuffle_deconv, unshuffle_conv
from convert.source import SourceKind, SourceModel, load_source, parse_size
from runtime.catalog import ResolvedModel
from runtime.engines import EngineConfig, open_engine
from runtime.errors import ConfigError, ModelLoadError
from runtime.manifest import Layout
from tests.convert.conftest import SIZE, classifier_onnx, nano_module, save_graph, sharpen_onnx, torch_nhwc


def test_one_hot_convs_equal_pixel_shuffles() -> None:
    x = torch.rand(2, 3, 16, 24)
    assert torch.equal(unshuffle_conv(3, 2)(x), torch.nn.PixelUnshuffle(2)(x))
    y = torch.rand(2, 12, 8, 8)
    assert torch.equal(shuffle_deconv(12, 2)(y), torch.nn.PixelShuffle(2)(y))


@pytest.mark.parametrize("shuffle_as_conv", [False, True])
def test_make_exportable_keeps_the_function(shuffle_as_conv: bool) -> None:
    model = nano_module()
    exportable = make_exportable(model, shuffle_as_conv=shuffle_as_conv, sample_hw=SIZE)
    kinds = {type(m) for m in exportable.modules()}
    assert torch.nn.PixelUnshuffle not in kinds
    assert (torch.nn.PixelShuffle in kinds) is not shuffle_as_conv
    x = torch.rand(1, 3, 48, 40)
    with torch.no_grad():
        assert torch.allclose(exportable(x), model(x), atol=1e-6)
    assert any(isinstance(m, torch.nn.PixelUnshuffle) for m in model.modules())  # input untouched


@pytest.mark.parametrize("static", [False, True])
def test_onnx_round_trip_matches_pytorch(nano_src: SourceModel, tmp_path: Path, static: bool) -> None:
    art = export_onnx(nano_src, tmp_path / "nano.onnx", ExportConfig(size_hw=SIZE if static else None))
    model = onnx.load(str(art.path))
    ops = {n.op_type for n in model.graph.node}
    assert ops <= {"Conv", "Relu", "Add", "DepthToSpace"}, ops  # clean graph, no rank-6 reshapes
    assert all(n.name for n in model.graph.node)
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["precision"] == "fp32" and meta["multiple_of"] == str(art.multiple_of)
    assert art.size_hw == (SIZE if static else None)
    x = np.random.default_rng(1).random((2, *(SIZE if static else (40, 48)), 3), dtype=np.float32)
    with open_engine(ResolvedModel(art.path, None), EngineConfig()) as engine:
        got = engine.run(x)
    np.testing.assert_allclose(got, torch_nhwc(nano_src.module, x), atol=1e-4)


def test_user_onnx_is_copied_and_fixed_to_a_static_size(tmp_path: Path) -> None:
    src = load_source(str(sharpen_onnx(tmp_path / "sharpen.onnx")), input_size=(24, 40))
    assert src.kind is SourceKind.ONNX and src.size_hw is None and src.layout is Layout.NCHW
    art = export_onnx(src, tmp_path / "fixed.onnx", ExportConfig(size_hw=(24, 40)))
    dims = [d.dim_value for d in onnx.load(str(art.path)).graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 24, 40] and art.size_hw == (24, 40)


def test_fix_size_sets_input_and_output(tmp_path: Path) -> None:
    model = fix_size(onnx.load(str(sharpen_onnx(tmp_path / "s.onnx"))), Layout.NCHW, (16, 8))
    for vi in (model.graph.input[0], model.graph.output[0]):
        assert [d.dim_value for d in vi.type.tensor_type.shape.dim] == [1, 3, 16, 8]


def test_nhwc_onnx_is_accepted(tmp_path: Path) -> None:
    from onnx import helper

    dims = [1, *SIZE, 3]
    path = save_graph(tmp_path / "nhwc.onnx", [helper.make_node("Relu", ["x"], ["y"])], [], dims, dims)
    src = load_source(str(path))
    assert src.layout is Layout.NHWC and src.size_hw == SIZE


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make, kwargs, error, match", [
    (lambda p: _write(p, b"definitely not protobuf" * 10), {}, ModelLoadError, "is not an ONNX model"),
    (lambda p: _write(p, b""), {}, ModelLoadError, "is not an ONNX model"),
    (classifier_onnx, {}, ModelLoadError, "not an image-to-image model: output"),
    (sharpen_onnx, {}, ConfigError, "dynamic input dims .* pass --input-size"),
    (lambda p: sharpen_onnx(p, [1, 3, 32, 32]), {"input_size": (64, 64)}, ConfigError, "contradicts"),
    (lambda p: p, {}, ModelLoadError, "not found"),
])
def test_bad_user_models_are_refused(tmp_path: Path, make, kwargs, error, match) -> None:  # noqa: ANN001
    path = make(tmp_path / "model.onnx")
    with pytest.raises(error, match=match):
        load_source(str(path), **kwargs)


def test_zoo_names_and_checkpoints(nano_checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="(?i)did you mean 'nano'"):
        load_source("nanoo")
    bare = tmp_path / "bare.pt"
    torch.save(nano_module().state_dict(), bare)
    with pytest.raises(ConfigError, match="pass --arch"):
        load_source(str(bare))
    assert load_source(str(bare), arch="nano").arch == "nano"
    assert load_source(str(nano_checkpoint)).kind is SourceKind.CHECKPOINT


@pytest.mark.parametrize("text, expected", [("256", (256, 256)), ("128x96", (128, 96)), ("64,32", (64, 32))])
def test_parse_size(text: str, expected: tuple[int, int]) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["big", "4", "0x64", "1x2x3"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(ConfigError, match="--input-size"):
        parse_size(text)
