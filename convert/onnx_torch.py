"""Run an ONNX image model as a PyTorch module, so user ONNX files can go to LiteRT too.

litert-torch converts PyTorch, not ONNX (onnx2tf would need TensorFlow, +2.5 GB). Deblur
nets use a small set of operators, so this interprets the graph node by node with torch
functions; ``torch.export`` traces straight through the loop. Unsupported operators are
reported by node name before any conversion starts.

Example:
    >>> module = OnnxModule(onnx.load("model.onnx"))
    >>> module(torch.rand(1, 3, 256, 256)).shape
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch import nn

from convert.errors import ExportError

Args = list  # torch.Tensor, or np.ndarray at the positions in STATIC_INPUTS
Attrs = dict[str, Any]

STATIC_INPUTS: dict[str, set[int]] = {"Reshape": {1}, "Pad": {1, 2}, "Resize": {1, 2, 3}, "Clip": {1, 2}}
"""Inputs that must be constants (shapes, pads, scales, bounds): passed as numpy so that
``torch.export`` sees Python numbers, not data-dependent tensors."""


def _conv(x: Args, a: Attrs) -> torch.Tensor:
    pads = list(a.get("pads", [0, 0, 0, 0]))
    inp = F.pad(x[0], [pads[1], pads[3], pads[0], pads[2]]) if pads[:2] != pads[2:] else x[0]
    padding = pads[:2] if pads[:2] == pads[2:] else 0
    return F.conv2d(inp, x[1], x[2] if len(x) > 2 else None, stride=a.get("strides", 1), padding=padding,
                    dilation=a.get("dilations", 1), groups=int(a.get("group", 1)))


def _conv_transpose(x: Args, a: Attrs) -> torch.Tensor:
    pads = list(a.get("pads", [0, 0, 0, 0]))
    if pads[:2] != pads[2:]:
        raise ValueError("asymmetric ConvTranspose padding")
    return F.conv_transpose2d(x[0], x[1], x[2] if len(x) > 2 else None, stride=a.get("strides", 1),
                              padding=pads[:2], output_padding=a.get("output_padding", 0),
                              groups=int(a.get("group", 1)), dilation=a.get("dilations", 1))


def _depth_to_space(x: Args, a: Attrs) -> torch.Tensor:
    r = int(a["blocksize"])
    crd = a.get("mode", b"DCR") in (b"CRD", "CRD")
    if a.get("as_conv"):  # a one-hot transposed conv: no DEPTH_TO_SPACE for the Edge TPU
        from convert.rewrite import shuffle_weight

        weight = shuffle_weight(x[0].shape[1], r)
        if not crd:  # DCR reads channel (i * r + j) * C + c instead of c * r * r + i * r + j
            c = x[0].shape[1] // (r * r)
            order = [(k % (r * r)) * c + k // (r * r) for k in range(c * r * r)]
            weight = weight[np.argsort(order)]
        return F.conv_transpose2d(x[0], torch.from_numpy(weight), stride=r)
    if crd:
        return F.pixel_shuffle(x[0], r)
    n, c, h, w = x[0].shape
    y = x[0].reshape(n, r, r, c // (r * r), h, w).permute(0, 3, 4, 1, 5, 2)
    return y.reshape(n, c // (r * r), h * r, w * r)


def _space_to_depth(x: Args, a: Attrs) -> torch.Tensor:
    r = int(a["blocksize"])
    n, c, h, w = x[0].shape
    y = x[0].reshape(n, c, h // r, r, w // r, r).permute(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * r * r, h // r, w // r)


def _resize(x: Args, a: Attrs) -> torch.Tensor:
    scales = x[2] if len(x) > 2 and x[2].size else None
    size = [int(s) for s in x[3][2:]] if len(x) > 3 and x[3].size else None
    mode = {b"nearest": "nearest", b"linear": "bilinear", b"cubic": "bicubic"}[a.get("mode", b"nearest")]
    kwargs = {} if mode == "nearest" else {
        "align_corners": a.get("coordinate_transformation_mode") == b"align_corners"}
    factor = None if scales is None else [float(s) for s in scales[2:]]
    return F.interpolate(x[0], size=size, scale_factor=factor, mode=mode, **kwargs)


def _pad(x: Args, a: Attrs) -> torch.Tensor:
    p = [int(v) for v in x[1]]
    half = len(p) // 2
    torch_pads = [v for i in reversed(range(2, half)) for v in (p[i], p[i + half])]
    mode = {b"constant": "constant", b"reflect": "reflect", b"edge": "replicate"}[a.get("mode", b"constant")]
    value = float(x[2]) if len(x) > 2 and x[2].size and mode == "constant" else 0.0
    return F.pad(x[0], torch_pads, mode=mode, value=value) if mode == "constant" else F.pad(x[0], torch_pads, mode=mode)


def _clip(x: Args, a: Attrs) -> torch.Tensor:
    lo = x[1] if len(x) > 1 and x[1].size else a.get("min")
    hi = x[2] if len(x) > 2 and x[2].size else a.get("max")
    return torch.clamp(x[0], None if lo is None else float(lo), None if hi is None else float(hi))


def _pool(fn: Callable[..., torch.Tensor]) -> Callable[[Args, Attrs], torch.Tensor]:
    def run(x: Args, a: Attrs) -> torch.Tensor:
        pads = list(a.get("pads", [0, 0, 0, 0]))
        return fn(x[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]), pads[:2])
    return run


OPS: dict[str, Callable[[Args, Attrs], torch.Tensor]] = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "Relu": lambda x, a: F.relu(x[0]),
    "LeakyRelu": lambda x, a: F.leaky_relu(x[0], float(a.get("alpha", 0.01))),
    "PRelu": lambda x, a: torch.where(x[0] >= 0, x[0], x[0] * x[1]),
    "Sigmoid": lambda x, a: torch.sigmoid(x[0]),
    "Tanh": lambda x, a: torch.tanh(x[0]),
    "HardSigmoid": lambda x, a: torch.clamp(x[0] * float(a.get("alpha", 0.2)) + float(a.get("beta", 0.5)), 0, 1),
    "HardSwish": lambda x, a: F.hardswish(x[0]),
    "Clip": _clip,
    "Add": lambda x, a: x[0] + x[1],
    "Sub": lambda x, a: x[0] - x[1],
    "Mul": lambda x, a: x[0] * x[1],
    "Div": lambda x, a: x[0] / x[1],
    "Concat": lambda x, a: torch.cat(x, dim=int(a["axis"])),
    "DepthToSpace": _depth_to_space,
    "SpaceToDepth": _space_to_depth,
    "Transpose": lambda x, a: x[0].permute(*a["perm"]),
    "Reshape": lambda x, a: x[0].reshape([int(v) for v in x[1]]),
    "Identity": lambda x, a: x[0],
    "MaxPool": _pool(F.max_pool2d),
    "AveragePool": _pool(F.avg_pool2d),
    "GlobalAveragePool": lambda x, a: x[0].mean(dim=(2, 3), keepdim=True),
    "Resize": _resize,
    "Pad": _pad,
    "BatchNormalization": lambda x, a: F.batch_norm(x[0], x[3], x[4], x[1], x[2], False, 0.0,
                                                    float(a.get("epsilon", 1e-5))),
}


def _attrs(node: onnx.NodeProto) -> Attrs:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class OnnxModule(nn.Module):
    """An ONNX graph (one input, one output, opset 11+) evaluated with torch operators.

    ``shuffle_as_conv`` computes DepthToSpace as an exact one-hot transposed convolution.

    Raises:
        ExportError: the graph uses operators outside ``OPS`` (all offenders are named).
    """

    def __init__(self, model: onnx.ModelProto, *, shuffle_as_conv: bool = False) -> None:
        super().__init__()
        graph = model.graph
        constants = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        nodes = []
        for node in graph.node:
            if node.op_type == "Constant":
                constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
            else:
                nodes.append(node)
        missing = [f"{n.name or n.output[0]} ({n.op_type})" for n in nodes if n.op_type not in OPS]
        missing += [f"{n.name or n.output[0]} ({n.op_type} with a computed shape input)" for n in nodes
                    for i in STATIC_INPUTS.get(n.op_type, ()) if i < len(n.input) and n.input[i]
                    and n.input[i] not in constants]
        if missing:
            raise ExportError(f"LiteRT conversion of ONNX files supports {len(OPS)} operators; not: "
                              f"{', '.join(missing[:8])}; use --format onnx for this model")
        self._static = constants
        self._names = {name: f"c{i}" for i, name in enumerate(constants)}
        for name, value in constants.items():
            self.register_buffer(self._names[name], torch.from_numpy(np.array(value, copy=True)), persistent=False)
        self._nodes = [(n.op_type, list(n.input), list(n.output),
                        {**_attrs(n), "as_conv": shuffle_as_conv and n.op_type == "DepthToSpace"}) for n in nodes]
        inits = set(constants)
        self._input = next(i.name for i in graph.input if i.name not in inits)
        self._output = graph.output[0].name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        env: dict[str, torch.Tensor] = {self._input: x}
        for name, buffer_name in self._names.items():
            env[name] = getattr(self, buffer_name)
        for op, inputs, outputs, attrs in self._nodes:
            static = STATIC_INPUTS.get(op, set())
            args = [(self._static[name] if k in static else env[name]) if name else np.zeros(0)
                    for k, name in enumerate(inputs)]
            env[outputs[0]] = OPS[op](args, attrs)
        return env[self._output]
