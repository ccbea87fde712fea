"""LiteRT backend: runs ``.tflite`` models with XNNPACK on the CPU, or a GPU/NPU delegate."""
from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter, load_delegate
from numpy.typing import NDArray

from facemask.native_stderr import quiet_native
from runtime.catalog import ResolvedModel
from runtime.engines._common import CodecEngine, TensorCodec
from runtime.engines._shapes import (check_one_in_one_out, image_layout, precision_from_dtype, static_dim,
                                     static_io_size)
from runtime.engines.base import EngineConfig, ModelInfo
from runtime.errors import ModelLoadError
from runtime.manifest import ArtifactFormat, DType, Layout, Precision, TensorSpec

DEFAULT_MULTIPLE = 16
"""Assumed size multiple for a dynamic-size TFLite model with no manifest entry."""
_DTYPES = {np.dtype(np.float32): DType.FLOAT32, np.dtype(np.float16): DType.FLOAT16,
           np.dtype(np.int8): DType.INT8, np.dtype(np.uint8): DType.UINT8}


_DELEGATE_SYMBOLS = ("tflite_plugin_create_delegate", "tflite_plugin_destroy_delegate")


def _delegate(library: str) -> Any:
    """Load a LiteRT external delegate, checking the library first: LiteRT's ``Delegate``
    object half-built from a missing or foreign library prints an "Exception ignored"
    traceback when it is collected."""
    fix = "Install the vendor's delegate library or drop `delegate` to run on the CPU"
    try:
        lib = ctypes.CDLL(library)
    except OSError as e:
        raise ModelLoadError(f"cannot load LiteRT delegate {library!r}: the library is absent or broken. "
                             f"{fix}") from e
    if not all(hasattr(lib, name) for name in _DELEGATE_SYMBOLS):
        raise ModelLoadError(f"cannot load LiteRT delegate {library!r}: it is not a LiteRT delegate (no "
                             f"{_DELEGATE_SYMBOLS[0]}). {fix}")
    try:
        return load_delegate(library)
    except (ValueError, OSError) as e:
        raise ModelLoadError(f"cannot load LiteRT delegate {library!r}: it failed to start ({e}). {fix}") from e


def _interpreter(model: ResolvedModel, config: EngineConfig) -> Interpreter:
    delegates = [_delegate(config.delegate)] if config.delegate is not None else []
    try:
        with quiet_native():
            interp = Interpreter(model_path=str(model.path), num_threads=config.threads,
                                 experimental_delegates=delegates or None)
            interp.allocate_tensors()
    except (ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"cannot load {model.path} as a TFLite model ({first}); give a valid "
                             ".tflite file or a shipped name (`edgedeblur models`)") from e
    return interp


def _tensor(detail: dict[str, Any], spec: TensorSpec | None, layout: Layout, label: str,
            what: str) -> tuple[TensorCodec, DType]:
    dtype = _DTYPES.get(np.dtype(detail["dtype"]))
    if dtype is None:
        raise ModelLoadError(f"{label} is not an image-to-image model: its {what} is "
                             f"{np.dtype(detail['dtype'])}; expected float32, float16, int8 or uint8")
    scale, zero_point = detail["quantization"]
    if not scale and spec is not None:
        scale, zero_point = spec.scale, spec.zero_point
    if dtype.quantized and not scale:
        raise ModelLoadError(f"{label} has a quantised {what} without scale/zero-point; re-export it "
                             "with quantisation parameters")
    return TensorCodec(layout, dtype, scale or None, zero_point), dtype


def _precision(interp: Interpreter) -> Precision:
    kinds = {np.dtype(t["dtype"]) for t in interp.get_tensor_details()}
    if kinds & {np.dtype(np.int8), np.dtype(np.uint8)}:
        return Precision.INT8
    return precision_from_dtype(DType.FLOAT16 if np.dtype(np.float16) in kinds else DType.FLOAT32)


class LiteRTEngine(CodecEngine):
    """A TFLite model in a LiteRT interpreter, warmed up on creation.

    Static-size models report ``info.input_size_hw``; dynamic ones are resized on a
    shape change (and then reuse the allocation while the shape stays fixed).

    Example:
        >>> with LiteRTEngine(resolve_model("small.int8.tflite"), EngineConfig()) as e:
        ...     e.info.input_size_hw
        (256, 256)
    """

    def __init__(self, model: ResolvedModel, config: EngineConfig) -> None:
        label = model.id
        self._interp = _interpreter(model, config)
        inputs, outputs = self._interp.get_input_details(), self._interp.get_output_details()
        check_one_in_one_out(label, len(inputs), len(outputs))
        entry = model.entry
        src, dst = inputs[0], outputs[0]
        sig = [int(d) for d in src.get("shape_signature", src["shape"])]
        out_sig = [int(d) for d in dst.get("shape_signature", dst["shape"])]
        in_layout = image_layout(sig, entry.input if entry else None, label, "input")
        out_layout = image_layout(out_sig, entry.output if entry else None, label, "output", in_layout)
        self._in, in_dtype = _tensor(src, entry.input if entry else None, in_layout, label, "input")
        self._out, _ = _tensor(dst, entry.output if entry else None, out_layout, label, "output")
        scale = entry.scale if entry else 1
        static = static_io_size(label, sig, in_layout, out_sig, out_layout, scale)
        multiple = entry.multiple_of if entry else (1 if static else DEFAULT_MULTIPLE)
        self._info = ModelInfo(id=label, path=model.path, format=ArtifactFormat.TFLITE,
                               precision=entry.precision if entry else _precision(self._interp),
                               input_size_hw=static, multiple_of=multiple, max_batch=static_dim(sig[0]),
                               scale=scale)
        self._in_index, self._out_index = int(src["index"]), int(dst["index"])
        self._shape = tuple(int(d) for d in src["shape"])
        self.warm_up()

    def _infer(self, tensor: NDArray[np.generic]) -> NDArray[np.generic]:
        if tensor.shape != self._shape:
            self._interp.resize_tensor_input(self._in_index, list(tensor.shape), strict=True)
            self._interp.allocate_tensors()
            self._shape = tensor.shape
        self._interp.set_tensor(self._in_index, tensor)
        self._interp.invoke()
        return self._interp.get_tensor(self._out_index)

    def _release(self) -> None:
        del self._interp
