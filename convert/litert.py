"""PyTorch -> LiteRT (.tflite): fp32, fp16, dynamic-range int8 and full-integer int8.

litert-torch converts the PyTorch model directly (no TensorFlow, no onnx2tf), wrapped so
the file takes NHWC like a camera frame; shapes are static (NPU and Edge-TPU ready).
ai-edge-quantizer then makes the other precisions from the fp32 file: fp16 weights
(float casting), dynamic-range int8 (int8 weights, float activations) or full-integer
int8 with int8 input and output. Activation ranges come from calibration inputs with
min-max (the quantizer's own calibrator) or from histograms (percentile, entropy: ONNX
Runtime's histogram collector fed with every intermediate tensor of the float model).

Example:
    >>> fp32 = export_tflite(src, Path("build/nano.fp32.tflite"), TfliteExportConfig((256, 256)))
    >>> int8 = TfliteQuantizer(fp32, calib).quantize(Path("build/nano.int8.tflite"),
    ...                                              TfliteQuantConfig(Precision.INT8))
"""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before LiteRT/TF libraries load: no C++ info logs

from convert.artifact import Artifact
from convert.errors import ExportError, QuantizationError
from convert.quantize import CalibMethod
from convert.source import SourceModel
from facemask.files import atomic_path
from facemask.native_stderr import quiet_native
from runtime.errors import ConfigError
from runtime.manifest import ArtifactFormat, DType, Layout, Precision, TensorSpec

EXPORT_TOLERANCE = 1e-3
"""Max abs difference allowed between the fp32 .tflite (XNNPACK) and PyTorch."""
SAME_SCALE_OPS = ("RESHAPE", "TRANSPOSE")
"""Ops whose int8 output keeps its input's scale and zero-point."""
MIN_RANGE = 1e-3
"""Smallest activation range quantised (as ONNX Runtime's MinimumRealRange does for QNN)."""
_DTYPES = {np.dtype(np.float32): DType.FLOAT32, np.dtype(np.float16): DType.FLOAT16,
           np.dtype(np.int8): DType.INT8, np.dtype(np.uint8): DType.UINT8}
COMPUTE_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "FULLY_CONNECTED", "ADD", "MUL",
               "SUB", "CONCATENATION")
"""TFLite ops that compute; the rest (RESHAPE, TRANSPOSE, PAD, ...) pass values through."""
ISLAND_OPS = ("DIV", "SQRT", "RSQRT", "POW", "MEAN", "SUM", "SQUARED_DIFFERENCE", "SOFTMAX", "BATCH_MATMUL",
              "EXP", "LOG", "GELU", "L2_NORMALIZATION")
"""Normalisation and attention ops: int8 loses most there (tiny variances, divisions by
near-zero norms, softmax), so they are the first float islands the repair loop tries."""


@dataclass(frozen=True, slots=True)
class TfliteExportConfig:
    """How to convert PyTorch to an fp32 .tflite file.

    Args:
        size_hw: static (height, width) of the NHWC input, batch 1.
        shuffle_as_conv: pixel shuffles as one-hot transposed convs (Edge TPU).
    """

    size_hw: tuple[int, int]
    shuffle_as_conv: bool = False

    def __post_init__(self) -> None:
        if min(self.size_hw) < 8:
            raise ConfigError(f"TFLite input size {self.size_hw} must be at least 8x8")


@dataclass(frozen=True, slots=True)
class TfliteQuantConfig:
    """How to derive a quantised .tflite from the fp32 one.

    Args:
        precision: FP16 (fp16 weights), INT8_DYNAMIC (int8 weights, float activations) or
            INT8 (full integer, int8 input and output).
        method: activation-range calibration (INT8 only).
        keep_float: output tensor names of ops left in float (mixed precision).
    """

    precision: Precision = Precision.INT8
    method: CalibMethod = CalibMethod.MINMAX
    keep_float: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.precision not in (Precision.FP16, Precision.INT8_DYNAMIC, Precision.INT8):
            raise ConfigError(f"TFLite precision {self.precision.value} is not derived by quantisation; "
                              "use fp16, int8-dynamic or int8")


def short_name(tensor_name: str) -> str:
    """A PyTorch-style module path (``dec1.0.c2``) from a litert-torch tensor name.

    Fused ops carry several ``;``-separated scopes (activation first); the last one names
    the op that computes. Ops at the top level of the model are called ``model``.
    """
    scopes = [p for p in tensor_name.split(";") if "/" in p or "." in p]
    if not scopes:
        return tensor_name
    names = [s.rsplit(".", 1)[-1].split("_", 1)[1] for s in scopes[-1].split("/")
             if "_" in s.rsplit(".", 1)[-1]]
    path = ".".join(names[1:])  # names[0] is the model inside the NHWC wrapper
    return path or "model"


def interpreter(path: Path, *, preserve: bool = False, threads: int = 2, xnnpack: bool = True) -> Any:
    """A LiteRT interpreter with tensors allocated.

    ``preserve`` keeps every intermediate tensor readable (calibration); ``xnnpack=False``
    keeps the graph's own operators instead of one fused DELEGATE node (op listing).
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    with warnings.catch_warnings(), quiet_native():
        warnings.simplefilter("ignore", UserWarning)  # preserve_all_tensors "is for debugging": calibration is
        interp = Interpreter(model_path=str(path), num_threads=threads, experimental_preserve_all_tensors=preserve,
                             experimental_op_resolver_type=resolver)
        interp.allocate_tensors()
    return interp


def io_specs(path: Path) -> tuple[TensorSpec, TensorSpec]:
    """Input and output specs (NHWC, dtype, int8 scale/zero-point, static size) of a .tflite file."""
    interp = interpreter(path)
    specs = []
    for d in (interp.get_input_details()[0], interp.get_output_details()[0]):
        scale, zero_point = d["quantization"]
        dtype = _DTYPES[np.dtype(d["dtype"])]
        specs.append(TensorSpec(name=d["name"], layout=Layout.NHWC, dtype=dtype,
                                scale=float(scale) if dtype.quantized else None,
                                zero_point=int(zero_point) if dtype.quantized else None,
                                size_hw=(int(d["shape"][1]), int(d["shape"][2]))))
    return specs[0], specs[1]


def run_raw(path: Path, x: NDArray[np.float32]) -> NDArray[np.float32]:
    """Run a float-I/O .tflite on NHWC ``x`` (batch 1) without clipping."""
    interp = interpreter(path)
    i, o = interp.get_input_details()[0], interp.get_output_details()[0]
    interp.set_tensor(i["index"], x.astype(np.float32))
    interp.invoke()
    return interp.get_tensor(o["index"]).astype(np.float32)


def _litert_torch() -> Any:
    """``litert_torch``, imported without the oneDNN notice its native libraries print to
    stderr when they load (before absl logging is set up, so no log level hides it)."""
    with quiet_native():
        import litert_torch
    return litert_torch


def _nhwc_module(src: SourceModel, config: TfliteExportConfig) -> Any:
    """The source as a PyTorch module taking and returning NHWC images."""
    litert_torch = _litert_torch()

    if src.is_torch:
        from convert.rewrite import make_exportable

        module = make_exportable(src.module, shuffle_as_conv=config.shuffle_as_conv,
                                 sample_hw=config.size_hw)
    else:
        from convert.export import image_graph
        from convert.onnx_import import depth_to_space_as_deconv, onnx_to_torch

        model = image_graph(src, config.size_hw)
        if config.shuffle_as_conv:
            model = depth_to_space_as_deconv(model)
        module = onnx_to_torch(model, src.name)
        if src.layout is Layout.NHWC:
            return module
    return litert_torch.to_channel_last_io(module, args=[0], outputs=[0]).eval()


def export_tflite(src: SourceModel, out: Path, config: TfliteExportConfig) -> Artifact:
    """Convert a source to an fp32 NHWC .tflite at ``out`` and check it against the source.

    PyTorch models convert directly; ONNX files first become a PyTorch module through
    onnx2torch (``convert.onnx_import``).

    Raises:
        ExportError: an ONNX node onnx2torch cannot map, litert-torch failed, or the file differs
            from its source by more than ``EXPORT_TOLERANCE``.
    """
    import torch

    litert_torch = _litert_torch()
    wrapped = _nhwc_module(src, config)
    h, w = config.size_hw
    x = np.random.default_rng(0).random((1, h, w, 3), dtype=np.float32)
    try:
        with quiet_native(python_output=True):
            edge = litert_torch.convert(wrapped, (torch.from_numpy(x),))
            flatbuffer = edge.model_content()
    except Exception as e:  # litert-torch raises many types from torch.export and MLIR
        raise ExportError(f"LiteRT conversion of {src.name} at {h}x{w} failed: "
                          f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
    with atomic_path(out, parents=True) as tmp:   # Python writes it: MLIR's own writer aborts the process on a full disk
        tmp.write_bytes(flatbuffer)
    with torch.no_grad():
        ref = wrapped(torch.from_numpy(x)).numpy()
    err = float(np.max(np.abs(run_raw(out, x) - ref)))
    if not err <= EXPORT_TOLERANCE:
        out.unlink(missing_ok=True)
        raise ExportError(f"the LiteRT export of {src.name} differs from its source by {err:.2e} "
                          f"(> {EXPORT_TOLERANCE:g}); use --format onnx for this model")
    spec_in, spec_out = io_specs(out)
    return Artifact(path=out, model=src.name, format=ArtifactFormat.TFLITE, precision=Precision.FP32,
                    input=spec_in, output=spec_out, multiple_of=src.multiple_of, task=src.task, scale=src.scale,
                    provenance={"export_max_abs_error": f"{err:.3g}",
                                "shuffle_as_conv": str(config.shuffle_as_conv).lower()})


class TfliteQuantizer:
    """Derives quantised .tflite files from one fp32 artifact, any number of times.

    Args:
        fp32: the fp32 NHWC .tflite artifact.
        calib: (N, H, W, 3) float32 calibration inputs at the artifact's static size.
    """

    def __init__(self, fp32: Artifact, calib: NDArray[np.float32]) -> None:
        if fp32.format is not ArtifactFormat.TFLITE or fp32.precision is not Precision.FP32:
            raise ConfigError(f"{fp32.path} is not an fp32 TFLite artifact")
        if fp32.size_hw is not None and calib.shape[1:3] != fp32.size_hw:
            raise ConfigError(f"calibration images are {calib.shape[1:3]}, the model takes {fp32.size_hw}")
        self.fp32 = fp32
        self.calib = calib
        self._ranges: dict[CalibMethod, dict[str, dict[str, NDArray[np.float32]]]] = {}
        self._labels: dict[str, str] | None = None

    def _feed(self) -> dict[str, list[dict[str, NDArray[np.float32]]]]:
        interp = interpreter(self.fp32.path)
        (key, sig), = interp.get_signature_list().items()
        name = sig["inputs"][0]
        return {key: [{name: img[None].astype(np.float32)} for img in self.calib]}

    def float_groups(self) -> list[tuple[str, ...]]:
        """For each compute op, the ops (by output tensor name) to keep in float so its output
        is never quantised: the op, the pass-through ops after it and the compute ops reading it."""
        interp = interpreter(self.fp32.path, xnnpack=False)
        names = {t["index"]: t["name"] for t in interp.get_tensor_details()}
        ops = interp._get_ops_details()  # noqa: SLF001 - LiteRT's only op listing
        readers: dict[int, list[dict[str, Any]]] = {}
        for op in ops:
            for i in op["inputs"]:
                readers.setdefault(int(i), []).append(op)
        groups = []
        for op in ops:
            if op["op_name"] not in COMPUTE_OPS or not len(op["outputs"]):
                continue
            group, todo = [int(op["index"])], [int(i) for i in op["outputs"]]
            while todo:
                for r in readers.get(todo.pop(), []):
                    if int(r["index"]) not in group:
                        group.append(int(r["index"]))
                        if r["op_name"] not in COMPUTE_OPS:
                            todo.extend(int(i) for i in r["outputs"])
            groups.append(tuple(names[int(ops[g]["outputs"][0])] for g in group if len(ops[g]["outputs"])))
        return groups

    def op_labels(self) -> dict[str, str]:
        """``OP_TYPE#index`` per op output tensor name: the label of ops whose names carry no
        module path (graphs that came from ONNX through onnx2torch)."""
        if self._labels is None:
            interp = interpreter(self.fp32.path, xnnpack=False)
            names = {t["index"]: t["name"] for t in interp.get_tensor_details()}
            self._labels = {names[int(op["outputs"][0])]: f"{op['op_name']}#{op['index']}"
                            for op in interp._get_ops_details() if len(op["outputs"])}  # noqa: SLF001
        return self._labels

    def islands(self) -> tuple[str, ...]:
        """Output tensor names of the normalisation and attention ops (``ISLAND_OPS``)."""
        interp = interpreter(self.fp32.path, xnnpack=False)
        names = {t["index"]: t["name"] for t in interp.get_tensor_details()}
        return tuple(names[int(op["outputs"][0])] for op in interp._get_ops_details()  # noqa: SLF001
                     if op["op_name"] in ISLAND_OPS and len(op["outputs"]))

    def _output_chain(self) -> list[str]:
        """The output tensor and the tensors before it that share its scale (through RESHAPE /
        TRANSPOSE) back to the op that computes it: pinning only the output would be ignored."""
        interp = interpreter(self.fp32.path, xnnpack=False)
        names = {t["index"]: t["name"] for t in interp.get_tensor_details()}
        producer = {int(o): op for op in interp._get_ops_details() for o in op["outputs"]}  # noqa: SLF001
        chain, index = [], int(interp.get_output_details()[0]["index"])
        while True:
            chain.append(names[index])
            op = producer.get(index)
            if op is None or op["op_name"] not in SAME_SCALE_OPS:
                return chain
            index = int(op["inputs"][0])

    def ranges(self, method: CalibMethod) -> dict[str, dict[str, NDArray[np.float32]]]:
        """Activation ranges ({tensor: {'min', 'max'}}) for ``method``, computed once.

        ai-edge-quantizer's own calibrator keeps a moving average of per-image min/max,
        which clips ~10% off the true range here; it is run on one image only, to learn
        which tensors need ranges. The ranges come from every calibration image: true
        min/max, or ONNX Runtime's histogram search for percentile and entropy.
        """
        if method in self._ranges:
            return self._ranges[method]
        from ai_edge_quantizer import quantizer, recipe

        q = quantizer.Quantizer(str(self.fp32.path), recipe.static_wi8_ai8())
        feed = {k: v[:1] for k, v in self._feed().items()}
        with quiet_native(python_output=True):
            template = q.calibrate(feed, num_threads=2)
        found = self._collect(method, list(template))
        ranges = {}
        for name, qsv in template.items():
            if name in found:
                shape = np.shape(qsv["min"])
                qsv = {**qsv, "min": np.full(shape, found[name][0], np.float32),
                       "max": np.full(shape, found[name][1], np.float32)}
            ranges[name] = _widened(qsv)
        for name in (self.fp32.input.name, *self._output_chain()):  # the I/O contract: images in [0, 1]
            if name in ranges:
                shape = np.shape(ranges[name]["min"])
                ranges[name] = {**ranges[name], "min": np.zeros(shape, np.float32), "max": np.ones(shape, np.float32)}
        self._ranges[method] = ranges
        return ranges

    def _collect(self, method: CalibMethod, names: list[str]) -> dict[str, tuple[float, float]]:
        """(low, high) per tensor over all calibration images, from the float model's tensors."""
        from onnxruntime.quantization.calibrate import HistogramCollector

        collector = None if method is CalibMethod.MINMAX else HistogramCollector(
            method=method.value, symmetric=False, num_bins=2048 if method is CalibMethod.PERCENTILE else 128,
            num_quantized_bins=128, percentile=99.999, scenario="same")
        interp = interpreter(self.fp32.path, preserve=True, xnnpack=False)
        index = {t["name"]: t["index"] for t in interp.get_tensor_details()}
        wanted = [n for n in names if n in index]
        bounds = {n: (np.inf, -np.inf) for n in wanted}
        inp = interp.get_input_details()[0]["index"]
        with quiet_native(python_output=True):
            for img in self.calib:
                interp.set_tensor(inp, img[None].astype(np.float32))
                interp.invoke()
                values = {n: interp.get_tensor(index[n]).astype(np.float32) for n in wanted}
                if collector is None:
                    bounds = {n: (min(bounds[n][0], float(v.min())), max(bounds[n][1], float(v.max())))
                              for n, v in values.items()}
                else:
                    collector.collect(values)
            if collector is not None:
                result = collector.compute_collection_result()
                bounds = {n: (float(result[n][0]), float(result[n][1])) for n in wanted}
        return bounds

    def quantize(self, out: Path, config: TfliteQuantConfig) -> Artifact:
        """Write the quantised model to ``out`` (atomically) and describe it.

        Raises:
            QuantizationError: ai-edge-quantizer failed (message has its reason).
        """
        from ai_edge_quantizer import quantizer, recipe
        from ai_edge_quantizer.algorithm_manager import AlgorithmName
        from ai_edge_quantizer.qtyping import TFLOperationName

        base = {Precision.INT8: recipe.static_wi8_ai8(), Precision.INT8_DYNAMIC: recipe.dynamic_wi8_afp32(),
                Precision.FP16: _fp16_recipe()}[config.precision]
        try:
            q = quantizer.Quantizer(str(self.fp32.path), base)
            for name in config.keep_float:  # an op's scope is its output tensor names + ";"
                q.update_quantization_recipe(regex=f"^{re.escape(name)};", operation_name=TFLOperationName.ALL_SUPPORTED,
                                             algorithm_key=AlgorithmName.NO_QUANTIZE)
            qsv = self.ranges(config.method) if config.precision is Precision.INT8 else None
            with quiet_native(python_output=True):
                result = q.quantize(qsv, enable_progress_report=False)
            with atomic_path(out, parents=True) as tmp:
                tmp.write_bytes(bytes(result.quantized_model))
        except (ValueError, RuntimeError, KeyError) as e:
            raise QuantizationError(f"{config.precision.value} quantisation of {self.fp32.path.name} failed "
                                    f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from e
        spec_in, spec_out = io_specs(out)
        prov = {"calibration_images": str(len(self.calib))} if config.precision is Precision.INT8 else {}
        if config.precision is Precision.INT8:
            prov["calibration"] = config.method.value
        if config.keep_float:
            prov["kept_in_float"] = ",".join(dict.fromkeys(short_name(n) for n in config.keep_float))
        return self.fp32.derived(out, config.precision, input=spec_in, output=spec_out, **prov)


def _widened(qsv: dict[str, NDArray[np.float32]]) -> dict[str, NDArray[np.float32]]:
    """A range of at least ``MIN_RANGE`` containing 0: a dead layer (all-zero output) would
    otherwise get scale 0, which XNNPACK refuses to run."""
    if "min" not in qsv or "max" not in qsv:
        return qsv
    lo = np.minimum(qsv["min"], 0).astype(np.float32)
    hi = np.maximum(np.maximum(qsv["max"], 0), lo + MIN_RANGE).astype(np.float32)
    return {**qsv, "min": lo, "max": hi}


def _fp16_recipe() -> list[dict[str, Any]]:
    """fp16 weights dequantised at load time: half the file, float compute (GPU delegates run fp16)."""
    return [{
        "regex": ".*", "operation": "*", "algorithm_key": "float_casting",
        "op_config": {"weight_tensor_config": {"num_bits": 16, "dtype": "FLOAT"},
                      "compute_precision": "FLOAT", "explicit_dequantize": True},
    }]


@dataclass(frozen=True, slots=True)
class TfliteRepairTarget:
    """A ``TfliteQuantizer`` as the repair loop sees it (``convert.repair.RepairTarget``)."""

    quantizer: TfliteQuantizer

    def candidates(self) -> list[tuple[str, ...]]:
        """Per compute op, the ops that keep its output in float."""
        return self.quantizer.float_groups()

    def islands(self) -> tuple[str, ...]:
        """The normalisation and attention ops."""
        return self.quantizer.islands()

    def label(self, name: str) -> str:
        """The PyTorch module path of the op, else its type and index."""
        path = short_name(name)
        return self.quantizer.op_labels().get(name, path) if path == "model" else path

    def quantize(self, out: Path, method: CalibMethod, keep_float: tuple[str, ...]) -> Artifact:
        """Full-integer int8 with ``method`` ranges and ``keep_float`` ops left in float."""
        return self.quantizer.quantize(out, TfliteQuantConfig(Precision.INT8, method, keep_float))
