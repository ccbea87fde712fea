"""ONNX Runtime backend: runs ``.onnx`` models on the CPU (or any installed provider)."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from runtime.catalog import ResolvedModel
from runtime.engines._common import CodecEngine, TensorCodec
from runtime.engines._shapes import (check_one_in_one_out, image_layout, precision_from_dtype, static_dim,
                                     static_io_size)
from runtime.engines.base import EngineConfig, ModelInfo
from runtime.errors import ConfigError, ModelLoadError
from runtime.manifest import ArtifactFormat, DType, Layout, Precision, TensorSpec

_ORT_DTYPES = {"tensor(float)": DType.FLOAT32, "tensor(float16)": DType.FLOAT16,
               "tensor(int8)": DType.INT8, "tensor(uint8)": DType.UINT8}
DEFAULT_MULTIPLE = 16
"""Assumed size multiple for a dynamic ONNX model with no manifest entry or metadata."""


def _session(model: ResolvedModel, config: EngineConfig) -> ort.InferenceSession:
    available = ort.get_available_providers()
    missing = [p for p in config.providers if p not in available]
    if missing:
        raise ConfigError(f"ONNX Runtime provider(s) {', '.join(missing)} not available here; "
                          f"available: {', '.join(available)}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = config.threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if config.spin else "0")
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(model.path), opts, providers=list(config.providers))
    except Exception as e:  # onnxruntime raises InvalidProtobuf, Fail, NoSuchFile, RuntimeError...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"cannot load {model.path} as an ONNX model ({first}); give a valid "
                             ".onnx file or a shipped name (`edgedeblur models`)") from e


def _dtype(type_str: str, model: str, what: str) -> DType:
    if type_str not in _ORT_DTYPES:
        raise ModelLoadError(f"{model} is not an image-to-image model: its {what} is {type_str}; "
                             "expected float, float16, int8 or uint8")
    return _ORT_DTYPES[type_str]


def _codec(spec: TensorSpec | None, layout: Layout, dtype: DType, model: str, what: str) -> TensorCodec:
    scale = spec.scale if spec is not None else None
    zero_point = spec.zero_point if spec is not None else None
    if dtype is DType.INT8 and scale is None:
        raise ModelLoadError(f"{model} has an int8 {what} but no scale/zero-point; add them to the "
                             "model's manifest entry")
    return TensorCodec(layout, dtype, scale, zero_point)


class OrtEngine(CodecEngine):
    """An ONNX model in an ONNX Runtime session, warmed up on creation.

    Example:
        >>> with OrtEngine(resolve_model("small"), EngineConfig()) as e:
        ...     e.run(np.zeros((1, 64, 64, 3), np.float32)).shape
        (1, 64, 64, 3)
    """

    def __init__(self, model: ResolvedModel, config: EngineConfig) -> None:
        label = model.id
        self._session = _session(model, config)
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        check_one_in_one_out(label, len(inputs), len(outputs))
        entry = model.entry
        meta = self._session.get_modelmeta().custom_metadata_map
        src, dst = inputs[0], outputs[0]
        in_layout = image_layout(src.shape, entry.input if entry else None, label, "input")
        out_layout = image_layout(dst.shape, entry.output if entry else None, label, "output", in_layout)
        in_dtype = _dtype(src.type, label, "input")
        out_dtype = _dtype(dst.type, label, "output")
        scale = entry.scale if entry else int(meta.get("scale", 1))
        static = static_io_size(label, src.shape, in_layout, dst.shape, out_layout, scale)
        if entry is not None:
            multiple, precision = entry.multiple_of, entry.precision
        else:
            multiple = int(meta.get("multiple_of", 1 if static else DEFAULT_MULTIPLE))
            precision = Precision(meta["precision"]) if meta.get("precision") in {p.value for p in Precision} \
                else precision_from_dtype(in_dtype)
        self._info = ModelInfo(id=label, path=model.path, format=ArtifactFormat.ONNX, precision=precision,
                               input_size_hw=static, multiple_of=max(multiple, 1),
                               max_batch=static_dim(src.shape[0]), scale=scale)
        self._in = _codec(entry.input if entry else None, in_layout, in_dtype, label, "input")
        self._out = _codec(entry.output if entry else None, out_layout, out_dtype, label, "output")
        self._in_name, self._out_name = src.name, dst.name
        self.warm_up()

    def _infer(self, tensor: NDArray[np.generic]) -> NDArray[np.generic]:
        return self._session.run([self._out_name], {self._in_name: tensor})[0]

    def _release(self) -> None:
        del self._session
