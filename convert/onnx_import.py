"""A user's ONNX file as a PyTorch module, through onnx2torch, so it can go to LiteRT.

litert-torch converts PyTorch, not ONNX. onnx2torch (Apache-2.0, pure Python, no
TensorFlow) maps ONNX nodes to torch modules in an ``fx.GraphModule``; litert-torch then
traces that like any other model. Before the hand-over the graph is made static and
constant-folded (``convert.export.image_graph``): the Shape/Gather/Mod arithmetic of
pad-to-a-multiple preambles becomes constants, so ``torch.export`` sees plain tensors.

Nodes onnx2torch has no converter for are named, all at once, before any work starts.

onnx2torch is installed without its dependencies (Makefile): it declares torchvision,
whose PyPI wheels are CUDA builds that fail to load next to the CPU torch this project
pins, and uses it only for two detection ops (NonMaxSuppression, RoiAlign) no deblur net
has. When torchvision is absent, ``_onnx2torch`` lets onnx2torch import with an empty
stand-in for exactly those two functions, and the two ops are reported as unsupported.

Example:
    >>> module = onnx_to_torch(image_graph(src, (256, 256)))
    >>> module(torch.rand(1, 3, 256, 256)).shape
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

from convert.errors import ExportError
from facemask.native_stderr import quiet_native

if TYPE_CHECKING:
    import torch
    from torch import fx


SHAPE_NUMEL = 64
"""Integer constants up to this size (slice bounds, pads, target shapes, axes) are traced as
known values, so onnx2torch may read them while tracing."""
NEEDS_TORCHVISION = frozenset({"NonMaxSuppression", "RoiAlign"})
"""onnx2torch converters that call torchvision (unsupported when it is not installed)."""


def _onnx2torch() -> ModuleType:
    """``import onnx2torch``, torchvision or not (see the module docstring)."""
    if _has_torchvision() or "onnx2torch" in sys.modules:
        return importlib.import_module("onnx2torch")

    def missing(*_args: object, **_kwargs: object) -> None:
        raise ExportError("NonMaxSuppression/RoiAlign need torchvision, which is not installed")

    stand_in, ops = ModuleType("torchvision"), ModuleType("torchvision.ops")
    ops.roi_align = ops.nms = ops.box_convert = missing  # type: ignore[attr-defined]
    stand_in.ops = ops  # type: ignore[attr-defined]
    sys.modules.update({"torchvision": stand_in, "torchvision.ops": ops})
    try:
        return importlib.import_module("onnx2torch")
    finally:  # nothing else may mistake the stand-in for torchvision
        del sys.modules["torchvision"], sys.modules["torchvision.ops"]


def _has_torchvision() -> bool:
    return importlib.util.find_spec("torchvision") is not None


def _opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def unsupported_nodes(model: onnx.ModelProto) -> list[str]:
    """``name (OpType)`` of every node onnx2torch cannot convert, in graph order."""
    _onnx2torch()
    from onnx2torch.node_converters.registry import get_converter

    opsets = {o.domain or "": o.version for o in model.opset_import}
    without = set() if _has_torchvision() else NEEDS_TORCHVISION
    missing = []
    for i, node in enumerate(model.graph.node):
        domain = "" if node.domain in ("", "ai.onnx") else node.domain
        try:
            get_converter(node.op_type, opsets.get(domain, _opset(model)), domain)
        except NotImplementedError:
            missing.append(f"{node.name or node.output[0] or i} ({node.op_type})")
            continue
        if node.op_type in without:
            missing.append(f"{node.name or node.output[0] or i} ({node.op_type}: needs torchvision)")
    return missing


def check_convertible(model: onnx.ModelProto, what: str, targets: str) -> None:
    """Raise one clear line naming the nodes that keep ``model`` from LiteRT.

    Raises:
        ExportError: names up to 8 nodes and their op types, and the targets concerned.
    """
    missing = unsupported_nodes(model)
    if missing:
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        raise ExportError(f"{what} cannot go to LiteRT for {targets}: onnx2torch has no converter for node(s) "
                          f"{', '.join(missing[:8])}{more}; use --format onnx for these targets")


def depth_to_space_as_deconv(model: onnx.ModelProto) -> onnx.ModelProto:
    """Replace every DepthToSpace by the exact one-hot ConvTranspose (the Edge TPU has no DEPTH_TO_SPACE).

    Needs a shape-inferred static graph (the input channel count of each DepthToSpace).
    """
    from convert.rewrite import shuffle_weight

    model = shape_inference.infer_shapes(model)
    channels = {vi.name: vi.type.tensor_type.shape.dim[1].dim_value
                for vi in [*model.graph.value_info, *model.graph.input]
                if len(vi.type.tensor_type.shape.dim) == 4}
    nodes = []
    for node in model.graph.node:
        if node.op_type != "DepthToSpace" or not channels.get(node.input[0]):
            nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        r, c_in = int(attrs["blocksize"]), channels[node.input[0]]
        weight = shuffle_weight(c_in, r)
        if attrs.get("mode", b"DCR") in (b"DCR", "DCR"):  # DCR reads channel (i * r + j) * C + c
            c = c_in // (r * r)
            order = [(k % (r * r)) * c + k // (r * r) for k in range(c_in)]
            weight = weight[np.argsort(order)]
        name = f"{node.name or node.output[0]}_as_deconv"
        model.graph.initializer.append(numpy_helper.from_array(weight, f"{name}.weight"))
        nodes.append(helper.make_node("ConvTranspose", [node.input[0], f"{name}.weight"], list(node.output),
                                      name=name, kernel_shape=[r, r], strides=[r, r]))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def _specialised(module: fx.GraphModule, shape: list[int]) -> fx.GraphModule:
    """``module`` re-traced at a static input ``shape`` into aten operators, constants folded in.

    onnx2torch passes ONNX initializers (slice bounds, pads, target shapes, scales) to its
    modules as tensors that they read with ``.numpy()``/``.tolist()`` at run time;
    ``torch.export`` traces with fake tensors, which cannot be read. A real-valued
    ``make_fx`` trace reads them once; constants come from a plain table rather than
    module attributes, so the tracer sees them as values, not as inputs to record.
    """
    import torch
    from torch import fx
    from torch.fx.experimental.proxy_tensor import make_fx

    from torch.fx.experimental import proxy_tensor

    class Run(fx.Interpreter):
        def get_attr(self, target, args, kwargs):  # noqa: ANN001, ANN202 - fx.Interpreter's signature
            value = super().get_attr(target, args, kwargs)
            if isinstance(value, torch.Tensor) and not value.is_floating_point() and value.numel() <= SHAPE_NUMEL:
                return torch.tensor(value.tolist(), dtype=value.dtype)  # a traced literal: its values stay known
            return value

    limit = proxy_tensor.CONSTANT_NUMEL_LIMIT
    proxy_tensor.CONSTANT_NUMEL_LIMIT = SHAPE_NUMEL
    try:
        with torch.no_grad():
            return make_fx(lambda x: Run(module).run(x), tracing_mode="real")(torch.zeros(shape))
    finally:
        proxy_tensor.CONSTANT_NUMEL_LIMIT = limit


def _fetch(module: object, dotted: str) -> object:
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def _without_trailing_empty_inputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop trailing ``""`` inputs (omitted optional inputs, e.g. Clip's max after
    ``F.normalize``): equivalent ONNX that onnx2torch reads (it takes "" for a name)."""
    for node in model.graph.node:
        while node.input and not node.input[-1]:
            node.input.pop()
    return model


def _input_shape(model: onnx.ModelProto) -> list[int]:
    inits = {i.name for i in model.graph.initializer}
    vi = next(i for i in model.graph.input if i.name not in inits)
    return [d.dim_value for d in vi.type.tensor_type.shape.dim]


def onnx_to_torch(model: onnx.ModelProto, what: str = "the model", targets: str = "LiteRT targets"
                  ) -> fx.GraphModule:
    """The static, constant-folded ``model`` as an eval-mode ``torch.fx.GraphModule``.

    Raises:
        ExportError: unsupported nodes (named), or onnx2torch failed on the graph.
    """
    model = _without_trailing_empty_inputs(model)
    check_convertible(model, what, targets)
    try:
        with quiet_native(python_output=True), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _specialised(_onnx2torch().convert(model).eval(), _input_shape(model)).eval()
    except Exception as e:  # onnx2torch raises NotImplementedError, ValueError, KeyError...
        raise ExportError(f"onnx2torch could not convert {what} ({type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else ''}); use --format onnx") from e
