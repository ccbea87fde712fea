"""PyTorch or user ONNX -> a clean fp32 ONNX file (static or dynamic H/W), checked against its source.

PyTorch models go through ``torch.onnx.export(dynamo=False)``: torch 2.13's default
exporter needs onnxscript and writes weights to a side ``.data`` file; the TorchScript
exporter writes one self-contained file. Every export is cleaned with onnxslim (constant
folding, dead-node removal; outputs unchanged), shape-inferred, and compared to its source
on a random input before it is returned.

Example:
    >>> fp32 = export_onnx(src, Path("build/nano.fp32.onnx"), ExportConfig(size_hw=None))
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import shape_inference

from convert.artifact import Artifact, save_onnx, stamp_onnx
from convert.errors import ExportError
from convert.source import SourceModel
from facemask.native_stderr import quiet_native
from runtime.errors import ConfigError
from runtime.manifest import ArtifactFormat, DType, Layout, Precision, TensorSpec

INPUT_NAME, OUTPUT_NAME = "image", "restored"
EXPORT_TOLERANCE = 1e-4
"""Max abs difference allowed between the exported fp32 ONNX and its source."""


@dataclass(frozen=True, slots=True)
class ExportConfig:
    """How to export.

    Args:
        opset: ONNX opset (13..20).
        size_hw: static (height, width), or None for dynamic batch/height/width.
        shuffle_as_conv: pixel shuffles as one-hot transposed convs (Edge TPU).
        check_hw: input size for the source-vs-export check when the size is dynamic.
    """

    opset: int = 17
    size_hw: tuple[int, int] | None = None
    shuffle_as_conv: bool = False
    check_hw: tuple[int, int] = (64, 64)

    def __post_init__(self) -> None:
        if not 13 <= self.opset <= 20:
            raise ConfigError(f"opset {self.opset} is not supported; use 13..20")
        if self.size_hw is not None and min(self.size_hw) < 1:
            raise ConfigError(f"size_hw {self.size_hw} must be positive")


def _slim(model: onnx.ModelProto, name: str) -> onnx.ModelProto:
    """onnxslim's clean-up (constant folding, dead nodes) and strict shape inference.

    Raises:
        ExportError: either failed.
    """
    import onnxslim

    try:
        with quiet_native(python_output=True):
            slimmed = onnxslim.slim(model)
        return shape_inference.infer_shapes(slimmed, strict_mode=True)
    except Exception as e:  # onnxslim/shape inference raise assorted types
        raise ExportError(f"cleaning up the ONNX graph of {name} failed: {type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else ''}") from e


def _set_dims(vi: onnx.ValueInfoProto, dims: list[int | str]) -> None:
    shape = vi.type.tensor_type.shape
    for d, v in zip(shape.dim, dims):
        d.Clear()
        if isinstance(v, int):
            d.dim_value = v
        else:
            d.dim_param = v


def _image_dims(layout: Layout, h: int, w: int) -> list[int | str]:
    return [1, 3, h, w] if layout is Layout.NCHW else [1, h, w, 3]


def fix_size(model: onnx.ModelProto, layout: Layout, size_hw: tuple[int, int], scale: int = 1) -> onnx.ModelProto:
    """Make a dynamic image model static at batch 1 and ``size_hw`` in, ``scale`` times that out
    (in place; returns it)."""
    h, w = size_hw
    inits = {i.name for i in model.graph.initializer}
    for vi in model.graph.input:
        if vi.name not in inits:
            _set_dims(vi, _image_dims(layout, h, w))
    _set_dims(model.graph.output[0], _image_dims(layout, h * scale, w * scale))
    del model.graph.value_info[:]
    return shape_inference.infer_shapes(model)


def image_graph(src: SourceModel, size_hw: tuple[int, int] | None) -> onnx.ModelProto:
    """A user's ONNX graph with only its image output, fixed at ``size_hw`` when given
    (and dynamic), cleaned by onnxslim: at a static size the Shape/Gather/Mod arithmetic
    of pad-to-a-multiple preambles folds into constants.

    Raises:
        ExportError: onnxslim or shape inference failed.
    """
    model = onnx.load(str(src.path))
    if src.output is not None and len(model.graph.output) > 1:
        keep = [o for o in model.graph.output if o.name == src.output]
        del model.graph.output[:]
        model.graph.output.extend(keep)
    if size_hw is not None and src.size_hw is None:
        model = fix_size(model, src.layout, size_hw, src.scale)
    return _slim(model, src.name)


def _torch_to_onnx(src: SourceModel, config: ExportConfig) -> onnx.ModelProto:
    import torch

    from convert.rewrite import make_exportable

    sample_hw = config.size_hw or config.check_hw
    module = make_exportable(src.module, shuffle_as_conv=config.shuffle_as_conv,
                             sample_hw=sample_hw)
    out_hw = ("height", "width") if src.scale == 1 else (f"height_x{src.scale}", f"width_x{src.scale}")
    dynamic = None if config.size_hw else {INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
                                            OUTPUT_NAME: {0: "batch", 2: out_hw[0], 3: out_hw[1]}}
    buf = io.BytesIO()
    try:
        with torch.no_grad(), quiet_native(python_output=True), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is deprecated
            torch.onnx.export(module, (torch.rand(1, 3, *sample_hw),), buf, dynamo=False,
                              opset_version=config.opset, input_names=[INPUT_NAME],
                              output_names=[OUTPUT_NAME], dynamic_axes=dynamic, do_constant_folding=True)
    except Exception as e:  # torch raises many types from the exporter
        raise ExportError(f"torch.onnx.export failed for {src.name} at opset {config.opset}: "
                          f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from e
    return onnx.load_from_string(buf.getvalue())


def _reference(src: SourceModel, x: np.ndarray) -> np.ndarray:
    """The source's output for NCHW/NHWC float32 ``x`` (PyTorch, or the original ONNX in ORT)."""
    if src.is_torch:
        import torch

        with torch.no_grad():
            return src.module(torch.from_numpy(x)).numpy()
    return _run_onnx(onnx.load(str(src.path)), x, src.output)


def _run_onnx(model: onnx.ModelProto, x: np.ndarray, output: str | None = None) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    feed = x.astype(np.float16) if "float16" in sess.get_inputs()[0].type else x
    name = output or sess.get_outputs()[0].name
    return sess.run([name], {sess.get_inputs()[0].name: feed})[0].astype(np.float32)


def _opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def export_onnx(src: SourceModel, out: Path, config: ExportConfig) -> Artifact:
    """Export ``src`` to a checked fp32 ONNX file at ``out``.

    Args:
        src: the model (PyTorch or ONNX).
        out: destination ``.onnx`` path (written atomically).
        config: opset, static size and rewrites.

    Returns:
        The fp32 ONNX artifact (NCHW float32 I/O for PyTorch sources; the user's layout for ONNX),
        carrying the source's task and scale (also stamped into the file when not 'deblur', 1).

    Raises:
        ExportError: the exporter failed, or the export differs from its source by more
            than ``EXPORT_TOLERANCE``.
    """
    if src.is_torch:
        model = _slim(_torch_to_onnx(src, config), src.name)
    else:
        model = image_graph(src, config.size_hw)
    for i, node in enumerate(model.graph.node):  # the repair loop names nodes to keep in float
        if not node.name:
            node.name = f"{node.op_type}_{i}"
    h, w = config.size_hw or src.size_hw or config.check_hw
    rng = np.random.default_rng(0)
    x = rng.random((1, 3, h, w) if src.layout is Layout.NCHW else (1, h, w, 3), dtype=np.float32)
    err = float(np.max(np.abs(_run_onnx(model, x) - _reference(src, x))))
    if not err <= EXPORT_TOLERANCE:
        raise ExportError(f"the ONNX export of {src.name} differs from its source by {err:.2e} "
                          f"(> {EXPORT_TOLERANCE:g}); try another --opset or report the model")
    size_hw = config.size_hw or src.size_hw
    multiple_of = src.multiple_of  # a static-size model keeps its stride: tiles and crops align to it
    graph = model.graph
    inits = {i.name for i in graph.initializer}
    in_name = next(i.name for i in graph.input if i.name not in inits)
    stamp_onnx(model, name=src.name, precision=Precision.FP32, multiple_of=multiple_of,
               parent_sha256=None, task=src.task, scale=src.scale)  # nothing run-dependent: same weights, same bytes
    save_onnx(model, out)
    out_hw = None if size_hw is None else (size_hw[0] * src.scale, size_hw[1] * src.scale)
    return Artifact(path=out, model=src.name, format=ArtifactFormat.ONNX, precision=Precision.FP32,
                    input=TensorSpec(name=in_name, layout=src.layout, dtype=DType.FLOAT32, size_hw=size_hw),
                    output=TensorSpec(name=graph.output[0].name, layout=src.layout, dtype=DType.FLOAT32,
                                      size_hw=out_hw),
                    multiple_of=multiple_of, task=src.task, scale=src.scale,
                    provenance={"export_max_abs_error": f"{err:.3g}", "opset": str(_opset(model))})
