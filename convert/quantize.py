"""fp32 ONNX -> fp16 or static int8 QDQ ONNX, with calibration ranges computed once per method.

int8 follows ONNX Runtime's recipe: ``quant_pre_process`` (shape inference + graph
optimisation), then ``quantize_static`` in QDQ format with per-channel symmetric s8
weights and u8 (x86) or s8 (ARM, QNN, TensorRT) activations. ``quantize_dynamic`` is never
used: it is ~10x slower than fp32 for conv nets. Calibration ranges are cached per method,
so the repair loop can re-quantise with other layers kept in float in a fraction of a second.

Example:
    >>> q = OnnxQuantizer(fp32, calib_nhwc, workdir)
    >>> int8 = q.quantize(Path("build/nano.int8.onnx"), OnnxQuantConfig(Precision.INT8))
"""
from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import numpy as np
import onnx
from numpy.typing import NDArray

from convert.artifact import Artifact, save_onnx, stamp_onnx
from convert.errors import QuantizationError
from facemask.native_stderr import quiet_native
from runtime.errors import ConfigError
from runtime.manifest import ArtifactFormat, DType, Layout, Precision

log = logging.getLogger(__name__)

WEIGHTED_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Mul", "Sub", "Concat")
"""Op types that compute; everything else (Relu, DepthToSpace, Reshape, ...) passes values through."""
ISLAND_OPS = ("Div", "Sqrt", "Pow", "ReduceMean", "ReduceL2", "ReduceSum", "Softmax", "MatMul", "Erf", "Exp",
              "LayerNormalization", "InstanceNormalization")
"""Normalisation and attention ops: the first float islands the repair loop tries."""


class CalibMethod(str, enum.Enum):
    """How activation ranges are chosen from calibration data."""

    MINMAX = "minmax"
    PERCENTILE = "percentile"
    ENTROPY = "entropy"


@dataclass(frozen=True, slots=True)
class OnnxQuantConfig:
    """How to quantise an fp32 ONNX model.

    Args:
        precision: FP16 or INT8 (static QDQ).
        activation_dtype: UINT8 (fastest on x86) or INT8 (ARM, QNN, TensorRT).
        symmetric_activations: zero-point-0 activations (TensorRT).
        per_channel: per-output-channel weight scales (recommended for convs).
        method: calibration method for activation ranges.
        keep_float: node names left in float (mixed precision, chosen by the repair loop).
    """

    precision: Precision = Precision.INT8
    activation_dtype: DType = DType.UINT8
    symmetric_activations: bool = False
    per_channel: bool = True
    method: CalibMethod = CalibMethod.MINMAX
    keep_float: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.precision not in (Precision.FP16, Precision.INT8):
            raise ConfigError(f"ONNX precision {self.precision.value} is not supported; use fp16 or int8 "
                              "(dynamic int8 is ~10x slower than fp32 for conv nets in ONNX Runtime)")
        if self.activation_dtype not in (DType.INT8, DType.UINT8):
            raise ConfigError(f"activation dtype {self.activation_dtype.value} must be int8 or uint8")


class _Reader:
    """ORT CalibrationDataReader over NHWC float32 images, re-windable."""

    def __init__(self, name: str, images: NDArray[np.float32], layout: Layout) -> None:
        self.name = name
        self.images = images.transpose(0, 3, 1, 2) if layout is Layout.NCHW else images
        self._it: Iterator[NDArray[np.float32]] = iter(())
        self.rewind()

    def get_next(self) -> dict[str, NDArray[np.float32]] | None:
        x = next(self._it, None)
        return None if x is None else {self.name: np.ascontiguousarray(x[None], dtype=np.float32)}

    def rewind(self) -> None:
        self._it = iter(self.images)


class OnnxQuantizer:
    """Quantises one fp32 ONNX artifact, any number of times.

    Args:
        fp32: the float model (float32 I/O).
        calib: (N, H, W, 3) float32 calibration inputs; H, W must fit the model.
        workdir: scratch folder for the pre-processed model and range caches.
    """

    def __init__(self, fp32: Artifact, calib: NDArray[np.float32], workdir: Path) -> None:
        if fp32.format is not ArtifactFormat.ONNX or fp32.precision is not Precision.FP32:
            raise ConfigError(f"{fp32.path} is not an fp32 ONNX artifact")
        self.fp32 = fp32
        self.calib = calib
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self._pre = workdir / f"{fp32.path.stem}.pre.onnx"
        from onnxruntime.quantization.shape_inference import quant_pre_process

        try:
            with quiet_native(python_output=True):
                quant_pre_process(str(fp32.path), str(self._pre), skip_symbolic_shape=True)
        except Exception as e:  # ORT's tools raise bare Exception types
            raise QuantizationError(f"pre-processing {fp32.path} for int8 failed: {e}") from e

    def float_groups(self) -> list[tuple[str, ...]]:
        """For each compute node, the nodes to keep in float so its output is never quantised.

        A tensor stays float only if its producer and every consumer do (a quantised
        neighbour re-quantises it), so a group is the node, the pass-through ops after it
        and the compute nodes that read its output. Graph order; the node comes first.
        """
        graph = onnx.load(str(self._pre)).graph
        consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in graph.node:
            for name in node.input:
                consumers.setdefault(name, []).append(node)
        groups = []
        for node in graph.node:
            if node.op_type not in WEIGHTED_OPS:
                continue
            group, todo = [node.name], list(node.output)
            while todo:
                for c in consumers.get(todo.pop(), []):
                    if c.name not in group:
                        group.append(c.name)
                        if c.op_type not in WEIGHTED_OPS:
                            todo.extend(c.output)
            groups.append(tuple(group))
        return groups

    def quantize(self, out: Path, config: OnnxQuantConfig) -> Artifact:
        """Write the quantised model to ``out`` (atomically) and describe it.

        Raises:
            QuantizationError: ONNX Runtime's quantiser failed (message has its reason).
        """
        if config.precision is Precision.FP16:
            return self._fp16(out)
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

        methods = {CalibMethod.MINMAX: CalibrationMethod.MinMax,
                   CalibMethod.PERCENTILE: CalibrationMethod.Percentile,
                   CalibMethod.ENTROPY: CalibrationMethod.Entropy}
        act = QuantType.QUInt8 if config.activation_dtype is DType.UINT8 else QuantType.QInt8
        image = [{"rmin": np.array(0.0, np.float32), "rmax": np.array(1.0, np.float32)}]  # the I/O contract
        extra = {"ActivationSymmetric": config.symmetric_activations, "WeightSymmetric": True,
                 "TensorQuantOverrides": {self.fp32.input.name: image, self.fp32.output.name: image}}
        cache = self.workdir / f"ranges.{config.method.value}.{int(config.symmetric_activations)}.json"
        tmp = out.with_name(f".{out.name}.q.tmp")
        try:
            with quiet_native(python_output=True):
                quantize_static(str(self._pre), str(tmp), _Reader(self.fp32.input.name, self.calib,
                                                                  self.fp32.input.layout),
                                quant_format=QuantFormat.QDQ, per_channel=config.per_channel, activation_type=act,
                                weight_type=QuantType.QInt8, nodes_to_exclude=list(config.keep_float),
                                calibrate_method=methods[config.method], extra_options=extra,
                                calibration_cache_path=cache)
            model = onnx.load(str(tmp))
        except Exception as e:  # ORT's quantiser raises ValueError, RuntimeError, onnx errors...
            raise QuantizationError(f"int8 quantisation of {self.fp32.path.name} failed "
                                    f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from e
        finally:
            tmp.unlink(missing_ok=True)
        prov = {"calibration": config.method.value, "activations": config.activation_dtype.value,
                "symmetric_activations": str(config.symmetric_activations).lower(),
                "per_channel": str(config.per_channel).lower(), "calibration_images": str(len(self.calib)),
                "kept_in_float": ",".join(config.keep_float)}
        return self._save(model, out, Precision.INT8, prov)

    def _fp16(self, out: Path) -> Artifact:
        from onnxruntime.transformers.float16 import convert_float_to_float16

        model = onnx.load(str(self.fp32.path))
        try:
            with quiet_native(python_output=True):
                half = convert_float_to_float16(model, keep_io_types=True)
        except Exception as e:  # the converter raises assorted types
            raise QuantizationError(f"fp16 conversion of {self.fp32.path.name} failed: {e}") from e
        return self._save(half, out, Precision.FP16, {"io": "float32 (cast inside the graph)"})

    def _save(self, model: onnx.ModelProto, out: Path, precision: Precision,
              provenance: dict[str, str]) -> Artifact:
        parent = self.fp32.sha256
        stamp_onnx(model, name=self.fp32.model, precision=precision, multiple_of=self.fp32.multiple_of,
                   parent_sha256=parent, extra={k: v for k, v in provenance.items() if v},
                   task=self.fp32.task, scale=self.fp32.scale)
        save_onnx(model, out)
        return self.fp32.derived(out, precision, **{k: v for k, v in provenance.items() if v})


@dataclass(frozen=True, slots=True)
class OnnxRepairTarget:
    """An ``OnnxQuantizer`` as the repair loop sees it (``convert.repair.RepairTarget``)."""

    quantizer: OnnxQuantizer
    base: OnnxQuantConfig

    def candidates(self) -> list[tuple[str, ...]]:
        """Per compute node, the nodes that keep its output in float."""
        return self.quantizer.float_groups()

    def islands(self) -> tuple[str, ...]:
        """Names of the normalisation and attention nodes (``ISLAND_OPS``)."""
        return tuple(n.name for n in onnx.load(str(self.quantizer.fp32.path)).graph.node if n.op_type in ISLAND_OPS)

    def label(self, name: str) -> str:
        """ONNX node names from PyTorch read like module paths: ``enc1/enc1.0/c1/Conv``."""
        return name.strip("/")

    def quantize(self, out: Path, method: CalibMethod, keep_float: tuple[str, ...]) -> Artifact:
        """int8 with ``method`` ranges and ``keep_float`` nodes left in float."""
        return self.quantizer.quantize(out, replace(self.base, method=method, keep_float=keep_float))
