"""Tiny generated ONNX and TFLite image-to-image models for tests (imported by name).

The models are built in-process (onnx.helper; the TFLite flatbuffer schema that ships with
ai-edge-litert) so tests run real ONNX Runtime / LiteRT sessions without torch or files
in the repository.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ONNX_OPSET = 17
_ONNX_DTYPES = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16,
                "uint8": TensorProto.UINT8, "int8": TensorProto.INT8}


def _dims(layout: str, static_hw: tuple[int, int] | None, batch: int | None) -> list[object]:
    h, w = static_hw if static_hw else ("H", "W")
    n = batch if batch else "N"
    return [n, 3, h, w] if layout == "NCHW" else [n, h, w, 3]


def build_onnx(path: Path, *, kind: str = "identity", layout: str = "NCHW", dtype: str = "float32",
               static_hw: tuple[int, int] | None = None, batch: int | None = None) -> Path:
    """Write a tiny ONNX image model.

    kinds: 'identity' (3x3 conv with a centre tap, exact), 'sharpen' (fixed 3x3 unsharp
    kernel per channel), 'ramp' (identity times a smooth position ramp then tanh: needs
    ``static_hw``, output depends on the position inside the input), 'nan' (always NaN),
    'shrink' (output is 2 px smaller: not image-to-image), 'log' (identity then log:
    -Inf wherever the input is 0), 'pool' (2x2 average pool then nearest 2x upsample:
    stride 2, so not shift-equivariant, like real downsampling networks), 'scaled'
    (identity times 1e6: finite garbage, a white image once clipped).
    """
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    x = "x"
    if dtype == "float16":
        nodes.append(helper.make_node("Cast", [x], ["xf"], to=TensorProto.FLOAT))
        x = "xf"
    elif dtype == "uint8":
        nodes.append(helper.make_node("Cast", [x], ["xc"], to=TensorProto.FLOAT))
        inits.append(numpy_helper.from_array(np.array(1 / 255, np.float32), "inv255"))
        nodes.append(helper.make_node("Mul", ["xc", "inv255"], ["xf"]))
        x = "xf"
    if layout == "NHWC":
        nodes.append(helper.make_node("Transpose", [x], ["xt"], perm=[0, 3, 1, 2]))
        x = "xt"
    w = np.zeros((3, 3, 3, 3), np.float32)
    if kind in ("identity", "ramp", "nan", "shrink", "log", "pool", "scaled"):
        for c in range(3):
            w[c, c, 1, 1] = 1.0
    elif kind == "sharpen":
        k = -np.full((3, 3), 1 / 8, np.float32)
        k[1, 1] = 2.0
        for c in range(3):
            w[c, c] = k
    else:
        raise ValueError(kind)
    inits.append(numpy_helper.from_array(w, "w"))
    pads = [0, 0, 0, 0] if kind == "shrink" else [1, 1, 1, 1]
    nodes.append(helper.make_node("Conv", [x, "w"], ["y0"], pads=pads))
    y = "y0"
    if kind == "ramp":
        assert static_hw is not None, "ramp needs a static size"
        h, wd = static_hw
        yy, xx = np.mgrid[:h, :wd].astype(np.float32)
        ramp = 0.75 + 0.25 * np.sin(2 * np.pi * yy / h) * np.cos(2 * np.pi * xx / wd)
        inits.append(numpy_helper.from_array(ramp[None, None].astype(np.float32), "ramp"))
        nodes.append(helper.make_node("Mul", [y, "ramp"], ["y1"]))
        nodes.append(helper.make_node("Tanh", ["y1"], ["y2"]))
        y = "y2"
    elif kind == "pool":
        nodes.append(helper.make_node("AveragePool", [y], ["p"], kernel_shape=[2, 2], strides=[2, 2]))
        inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"))
        nodes.append(helper.make_node("Resize", ["p", "", "scales"], ["y1"], mode="nearest"))
        y = "y1"
    elif kind == "scaled":
        inits.append(numpy_helper.from_array(np.array(1e6, np.float32), "big"))
        nodes.append(helper.make_node("Mul", [y, "big"], ["y1"]))
        y = "y1"
    elif kind == "log":
        nodes.append(helper.make_node("Log", [y], ["y1"]))
        y = "y1"
    elif kind == "nan":
        inits.append(numpy_helper.from_array(np.array(0.0, np.float32), "zero"))
        nodes.append(helper.make_node("Div", ["zero", "zero"], ["nan"]))
        nodes.append(helper.make_node("Add", [y, "nan"], ["y1"]))
        y = "y1"
    if layout == "NHWC":
        nodes.append(helper.make_node("Transpose", [y], ["yt"], perm=[0, 2, 3, 1]))
        y = "yt"
    if dtype == "float16":
        nodes.append(helper.make_node("Cast", [y], ["out"], to=TensorProto.FLOAT16))
    elif dtype == "uint8":
        inits.append(numpy_helper.from_array(np.array(255, np.float32), "s255"))
        nodes.append(helper.make_node("Mul", [y, "s255"], ["ys"]))
        nodes.append(helper.make_node("Round", ["ys"], ["yr"]))
        inits.append(numpy_helper.from_array(np.array(0, np.float32), "lo"))
        inits.append(numpy_helper.from_array(np.array(255, np.float32), "hi"))
        nodes.append(helper.make_node("Clip", ["yr", "lo", "hi"], ["yc"]))
        nodes.append(helper.make_node("Cast", ["yc"], ["out"], to=TensorProto.UINT8))
    else:
        nodes.append(helper.make_node("Identity", [y], ["out"]))
    out_hw = static_hw
    if kind == "shrink" and static_hw:
        out_hw = (static_hw[0] - 2, static_hw[1] - 2)
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("x", _ONNX_DTYPES[dtype], _dims(layout, static_hw, batch))],
        [helper.make_tensor_value_info("out", _ONNX_DTYPES[dtype],
                                       _dims(layout, out_hw, batch) if kind != "shrink" or static_hw
                                       else [None, None, None, None])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def build_onnx_non_image(path: Path) -> Path:
    """A valid ONNX model that is not image-to-image: (N, 10) -> (N, 10)."""
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "vec",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def build_tflite(path: Path, *, static_hw: tuple[int, int] | None = (32, 32), int8_io: bool = False,
                 layout: str = "NHWC") -> Path:
    """Write a tiny TFLite model with the flatbuffer schema bundled in ai-edge-litert.

    float: one 1x1 CONV_2D with identity weights (NHWC) or, for layout 'NCHW', a MUL by
    one (element-wise, so any layout runs). int8_io: int8 in -> DEQUANTIZE -> QUANTIZE ->
    int8 out with scale 1/255 and zero-point -128 (exact on the 8-bit grid).
    ``static_hw=None`` makes H and W dynamic (shape_signature -1).
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    h, w = static_hw if static_hw else (1, 1)
    shape = [1, 3, h, w] if layout == "NCHW" else [1, h, w, 3]
    sig = None
    if static_hw is None:
        sig = [1, 3, -1, -1] if layout == "NCHW" else [1, -1, -1, 3]

    buffers = [s.BufferT()]

    def buffer(data: np.ndarray | None) -> int:
        b = s.BufferT()
        if data is not None:
            b.data = np.frombuffer(data.tobytes(), np.uint8).tolist()
        buffers.append(b)
        return len(buffers) - 1

    def tensor(name: str, ttype: int, shp: list[int], sgn: list[int] | None = None,
               data: np.ndarray | None = None, quant: tuple[float, int] | None = None) -> s.TensorT:
        t = s.TensorT()
        t.name, t.type, t.shape = name, ttype, shp
        t.shapeSignature = sgn
        t.buffer = buffer(data)
        if quant is not None:
            q = s.QuantizationParametersT()
            q.scale, q.zeroPoint = [quant[0]], [quant[1]]
            t.quantization = q
        return t

    def opcode(code: int) -> s.OperatorCodeT:
        c = s.OperatorCodeT()
        c.builtinCode, c.deprecatedBuiltinCode, c.version = code, code, 1
        return c

    def op(code_index: int, ins: list[int], outs: list[int]) -> s.OperatorT:
        o = s.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = code_index, ins, outs
        return o

    sub = s.SubGraphT()
    if int8_io:
        q = (1 / 255, -128)
        sub.tensors = [tensor("x", s.TensorType.INT8, shape, sig, quant=q),
                       tensor("f", s.TensorType.FLOAT32, shape, sig),
                       tensor("out", s.TensorType.INT8, shape, sig, quant=q)]
        codes = [opcode(s.BuiltinOperator.DEQUANTIZE), opcode(s.BuiltinOperator.QUANTIZE)]
        ops = [op(0, [0], [1]), op(1, [1], [2])]
    elif layout == "NCHW":
        sub.tensors = [tensor("x", s.TensorType.FLOAT32, shape, sig),
                       tensor("one", s.TensorType.FLOAT32, [1], data=np.ones(1, np.float32)),
                       tensor("out", s.TensorType.FLOAT32, shape, sig)]
        codes = [opcode(s.BuiltinOperator.MUL)]
        mul = op(0, [0, 1], [2])
        mul.builtinOptionsType = s.BuiltinOptions.MulOptions
        mul.builtinOptions = s.MulOptionsT()
        ops = [mul]
    else:
        sub.tensors = [tensor("x", s.TensorType.FLOAT32, shape, sig),
                       tensor("w", s.TensorType.FLOAT32, [3, 1, 1, 3],
                              data=np.eye(3, dtype=np.float32).reshape(3, 1, 1, 3)),
                       tensor("b", s.TensorType.FLOAT32, [3], data=np.zeros(3, np.float32)),
                       tensor("out", s.TensorType.FLOAT32, shape, sig)]
        codes = [opcode(s.BuiltinOperator.CONV_2D)]
        conv = op(0, [0, 1, 2], [3])
        conv.builtinOptionsType = s.BuiltinOptions.Conv2DOptions
        opts = s.Conv2DOptionsT()
        opts.padding, opts.strideH, opts.strideW = s.Padding.SAME, 1, 1
        conv.builtinOptions = opts
        ops = [conv]
    sub.inputs, sub.outputs, sub.operators = [0], [len(sub.tensors) - 1], ops
    model = s.ModelT()
    model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, codes, [sub], buffers
    model.description = "edgedeblur test model"
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    path.write_bytes(bytes(b.Output()))
    return path


def write_manifest(models_dir: Path, entries: list[dict[str, object]]) -> Path:
    """Write a manifest.json (schema 1) with raw entry dicts into ``models_dir``."""
    path = models_dir / "manifest.json"
    path.write_text(json.dumps({"schema_version": 1, "artifacts": entries}, indent=2))
    return path


def _save(graph: onnx.GraphProto, path: Path, metadata: dict[str, str]) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    model.ir_version = 8
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def build_onnx_x2(path: Path, *, static_hw: tuple[int, int] | None = None, width: int = 8, seed: int = 0,
                  detail: float = 0.05) -> Path:
    """An x2 upscaler shaped like ``convert.zoo.EdgeSR``: 3x3 conv + ReLU, 3x3 conv to 12
    channels, plus the input repeated onto the 2x2 sub-pixels, then DepthToSpace(2) (CRD,
    PyTorch's PixelShuffle). Small random weights (``detail`` 0: exact nearest-neighbour
    upscaling): a local net whose output is nearest-neighbour upscaling plus detail at edges (flat stays flat). Dynamic
    H/W unless ``static_hw``."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 0.3, (width, 3, 3, 3)).astype(np.float32)
    w1 -= w1.mean(axis=(1, 2, 3), keepdims=True)      # zero-sum: a flat patch has no detail
    w2 = (rng.normal(0, 1, (12, width, 3, 3)) * detail).astype(np.float32)
    repeat = np.zeros((12, 3, 1, 1), np.float32)
    for c in range(3):
        repeat[4 * c:4 * c + 4, c] = 1.0
    nodes = [helper.make_node("Conv", ["x", "w1"], ["h"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["h"], ["hr"]),
             helper.make_node("Conv", ["hr", "w2"], ["d"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["x", "repeat"], ["skip"]),
             helper.make_node("Add", ["skip", "d"], ["sum"]),
             helper.make_node("DepthToSpace", ["sum"], ["out"], blocksize=2, mode="CRD")]
    h, w = static_hw if static_hw else ("H", "W")
    oh, ow = (2 * static_hw[0], 2 * static_hw[1]) if static_hw else ("H2", "W2")
    graph = helper.make_graph(
        nodes, "x2", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, h, w])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 3, oh, ow])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"),
         numpy_helper.from_array(repeat, "repeat")])
    return _save(graph, path, {"scale": "2", "multiple_of": "1"})


def build_onnx_denoise(path: Path) -> Path:
    """A same-size smoother standing in for a blind denoiser: a 5x5 binomial blur per
    channel (white noise sigma drops ~3.3x; edges soften a little). Dynamic H/W."""
    b = np.array([1, 4, 6, 4, 1], np.float32)
    k = np.outer(b, b) / 256.0
    w = np.zeros((3, 3, 5, 5), np.float32)
    for c in range(3):
        w[c, c] = k
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["out"], pads=[2, 2, 2, 2])], "denoise",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [numpy_helper.from_array(w, "w")])
    return _save(graph, path, {"multiple_of": "8"})


def manifest_row(path: Path, model: str, *, task: str = "deblur", scale: int = 1, multiple_of: int = 16,
                 precision: str = "fp32") -> dict[str, object]:
    """A manifest entry for a generated ONNX model (NCHW float32 tensors 'x' -> 'out')."""
    from runtime.manifest import sha256_file

    return {"id": path.name, "model": model, "path": path.name, "format": "onnx", "precision": precision,
            "sha256": sha256_file(path), "input": {"name": "x"}, "output": {"name": "out"},
            "multiple_of": multiple_of, "task": task, "scale": scale}


def build_restore_models(models_dir: Path) -> Path:
    """A models folder for the restore chain: 'small' (identity deblur), 'denoise' (the
    smoother) and 'x2' (the upscaler), under the shipped names, with their manifest."""
    models_dir.mkdir(parents=True, exist_ok=True)
    rows = [manifest_row(build_onnx(models_dir / "small.fp32.onnx"), "small"),
            manifest_row(build_onnx_denoise(models_dir / "denoise.fp32.onnx"), "denoise", task="denoise",
                         multiple_of=8),
            manifest_row(build_onnx_x2(models_dir / "x2.fp32.onnx"), "x2", task="upscale", scale=2,
                         multiple_of=1)]
    write_manifest(models_dir, rows)
    return models_dir
