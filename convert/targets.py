"""Edge targets: which files, precisions and tensor formats each device wants.

Every build is planned from this table; an option a target does not allow is refused with
the allowed values, never rewritten.

| target          | runtime on the device                  | formats (default first)  | default      |
|-----------------|----------------------------------------|--------------------------|--------------|
| x86-cpu         | ONNX Runtime CPU, LiteRT (XNNPACK)     | onnx, tflite             | onnx int8    |
| rpi4            | LiteRT XNNPACK, ONNX Runtime (A72)     | tflite, onnx             | tflite int8  |
| rpi5            | LiteRT XNNPACK, ONNX Runtime (A76)     | tflite, onnx             | tflite int8  |
| android-gpu     | LiteRT GPU delegate                    | tflite                   | tflite fp16  |
| android-npu     | LiteRT NPU / NNAPI delegate            | tflite                   | tflite int8  |
| qualcomm-qnn    | ONNX Runtime QNN EP (HTP), QNN delegate| onnx, tflite             | onnx int8    |
| coral-edgetpu   | edgetpu_compiler + LiteRT Edge TPU     | tflite                   | tflite int8  |
| jetson          | ONNX Runtime TensorRT EP / trtexec     | onnx                     | onnx fp16    |

Example:
    >>> plan = TARGETS["rpi5"].plan(precisions=(Precision.INT8,), formats=())
    >>> [(p.format.value, p.precision.value) for p in plan]
    [('tflite', 'int8')]
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from convert.oplists import (EDGE_TPU, LITERT_CPU, NNAPI, ORT_CPU, QNN_HTP, TENSORRT, TFLITE_GPU,
                             OpSupport)
from runtime.errors import ConfigError, closest
from runtime.manifest import ArtifactFormat, DType, Layout, Precision

ONNX, TFLITE = ArtifactFormat.ONNX, ArtifactFormat.TFLITE
FP32, FP16, INT8, INT8_DYN = Precision.FP32, Precision.FP16, Precision.INT8, Precision.INT8_DYNAMIC
DEFAULT_SIZE_HW = (256, 256)
"""Static input size when a static-shape target gets no ``--input-size``."""


@dataclass(frozen=True, slots=True)
class PlannedArtifact:
    """One file a target needs; targets that need the same file share it.

    Attributes:
        format: ONNX or TFLite.
        precision: numeric precision of weights and compute.
        static: True if the input size must be fixed in the file.
        opset: ONNX opset (ignored for TFLite).
        activation_dtype: int8 ONNX only: type of quantised activations (uint8 is fastest
            on x86; int8 suits ARM, QNN and TensorRT).
        symmetric_activations: int8 ONNX only: zero-point 0 activations (TensorRT needs it).
        shuffle_as_conv: replace pixel (un)shuffle by exact one-hot (transposed) convolutions
            for accelerators without DEPTH_TO_SPACE or with a tensor-rank limit.
    """

    format: ArtifactFormat
    precision: Precision
    static: bool
    opset: int = 17
    activation_dtype: DType = DType.UINT8
    symmetric_activations: bool = False
    shuffle_as_conv: bool = False

    @property
    def io_layout(self) -> Layout:
        """ONNX files keep PyTorch's NCHW; TFLite files take NHWC like the camera."""
        return Layout.NCHW if self.format is ONNX else Layout.NHWC

    @property
    def io_dtype(self) -> DType:
        """Full-integer TFLite takes int8 tensors (Edge-TPU / NPU ready); the rest float32."""
        return DType.INT8 if (self.format is TFLITE and self.precision is INT8) else DType.FLOAT32


@dataclass(frozen=True, slots=True)
class TargetProfile:
    """One edge device family.

    Attributes:
        name: the ``--target`` value.
        description: the device and what runs the model on it.
        allowed: every (format, precision) pair the device can run.
        defaults: pairs built when neither ``--format`` nor ``--precision`` is given.
        static: the device needs static input shapes (NPUs, GPU delegates).
        ops: per format, the operators the accelerator maps (checked after export).
        opset: ONNX opset to export at.
        activation_dtype: int8 ONNX activation type.
        symmetric_activations: int8 ONNX activations with zero-point 0.
        shuffle_as_conv: see ``PlannedArtifact.shuffle_as_conv``.
        notes: why the defaults are what they are (shown by ``edgedeblur convert --list-targets``).
    """

    name: str
    description: str
    allowed: tuple[tuple[ArtifactFormat, Precision], ...]
    defaults: tuple[tuple[ArtifactFormat, Precision], ...]
    static: bool
    ops: dict[ArtifactFormat, OpSupport] = field(default_factory=dict)
    opset: int = 17
    activation_dtype: DType = DType.INT8
    symmetric_activations: bool = False
    shuffle_as_conv: bool = False
    notes: str = ""

    def __post_init__(self) -> None:
        if not set(self.defaults) <= set(self.allowed):
            raise ConfigError(f"target {self.name}: defaults {self.defaults} are not all allowed")
        if self.activation_dtype not in (DType.INT8, DType.UINT8):
            raise ConfigError(f"target {self.name}: activation_dtype must be int8 or uint8")

    @property
    def formats(self) -> tuple[ArtifactFormat, ...]:
        """Allowed formats, default first."""
        order = [f for f, _ in self.defaults] + [f for f, _ in self.allowed]
        return tuple(dict.fromkeys(order))

    @property
    def precisions(self) -> tuple[Precision, ...]:
        """Allowed precisions, default first."""
        order = [p for _, p in self.defaults] + [p for _, p in self.allowed]
        return tuple(dict.fromkeys(order))

    def op_support(self, fmt: ArtifactFormat) -> OpSupport:
        """The op list checked for files of ``fmt`` (CPU lists impose nothing)."""
        return self.ops.get(fmt, ORT_CPU if fmt is ONNX else LITERT_CPU)

    def plan(self, precisions: Iterable[Precision], formats: Iterable[ArtifactFormat]
             ) -> list[PlannedArtifact]:
        """The files this target needs for the requested precisions and formats.

        Args:
            precisions: requested precisions; empty means the target's defaults.
            formats: requested formats; empty means, per precision, the first allowed
                format that has it (default format first).

        Raises:
            ConfigError: a precision, format or pair the target does not allow (the message
                lists what it allows).
        """
        precisions, formats = tuple(precisions), tuple(formats)
        for p in precisions:
            if p not in self.precisions:
                raise ConfigError(_not_allowed("--precision", p.value, [q.value for q in self.precisions], self))
        for f in formats:
            if f not in self.formats:
                raise ConfigError(_not_allowed("--format", f.value, [g.value for g in self.formats], self))
        if precisions and formats:
            pairs = [(f, p) for f in formats for p in precisions]
            bad = next((pair for pair in pairs if pair not in self.allowed), None)
            if bad is not None:
                ok = ", ".join(f"{g.value} {q.value}" for g, q in self.allowed)
                raise ConfigError(f"--target {self.name} cannot run {bad[0].value} {bad[1].value}; it runs: {ok}")
        elif precisions:  # the first format (default first) that has each precision
            pairs = [(next(f for f in self.formats if (f, p) in self.allowed), p) for p in precisions]
        elif formats:  # each format's default precision, else its first allowed one
            pairs = [next(pair for pair in (*self.defaults, *self.allowed) if pair[0] is f) for f in formats]
        else:
            pairs = list(self.defaults)
        return [self._planned(f, p) for f, p in dict.fromkeys(pairs)]

    def _planned(self, fmt: ArtifactFormat, precision: Precision) -> PlannedArtifact:
        return PlannedArtifact(
            format=fmt, precision=precision, static=self.static or fmt is TFLITE,
            opset=self.opset if fmt is ONNX else 17,
            activation_dtype=self.activation_dtype if fmt is ONNX else DType.INT8,
            symmetric_activations=self.symmetric_activations and fmt is ONNX,
            shuffle_as_conv=self.shuffle_as_conv,
        )


def _not_allowed(option: str, value: str, allowed: list[str], target: TargetProfile) -> str:
    near = closest(value, allowed)
    hint = f"; did you mean {near!r}?" if near else ""
    return f"{option} {value} is not allowed for --target {target.name}; allowed: {', '.join(allowed)}{hint}"


def _pairs(fmt: ArtifactFormat, *precisions: Precision) -> tuple[tuple[ArtifactFormat, Precision], ...]:
    return tuple((fmt, p) for p in precisions)


_PROFILES = (
    TargetProfile(
        name="x86-cpu", description="x86-64 laptop/desktop/server CPU: ONNX Runtime or LiteRT (XNNPACK)",
        allowed=_pairs(ONNX, FP32, FP16, INT8) + _pairs(TFLITE, FP32, FP16, INT8, INT8_DYN),
        defaults=_pairs(ONNX, INT8), static=False, activation_dtype=DType.UINT8,
        notes="u8 activations / s8 per-channel weights: 1.65-1.87x faster than fp32 in ORT "
              "(VNNI CPUs; older AVX2 CPUs may saturate). fp16 gives no speed-up on the CPU provider.",
    ),
    TargetProfile(
        name="rpi4", description="Raspberry Pi 4 (Cortex-A72): LiteRT XNNPACK or ONNX Runtime",
        allowed=_pairs(TFLITE, FP32, INT8, INT8_DYN) + _pairs(ONNX, FP32, INT8),
        defaults=_pairs(TFLITE, INT8), static=False,
        notes="Cortex-A72 has no fp16 arithmetic, so fp16 is not offered. ARM kernels prefer "
              "symmetric s8 activations (ORT quantisation guide).",
    ),
    TargetProfile(
        name="rpi5", description="Raspberry Pi 5 (Cortex-A76): LiteRT XNNPACK or ONNX Runtime",
        allowed=_pairs(TFLITE, FP32, FP16, INT8, INT8_DYN) + _pairs(ONNX, FP32, INT8),
        defaults=_pairs(TFLITE, INT8), static=False,
        notes="Cortex-A76 (ARMv8.2) runs fp16 natively in XNNPACK; int8 is still the fastest.",
    ),
    TargetProfile(
        name="android-gpu", description="Android phone GPU: LiteRT GPU delegate (OpenCL/OpenGL)",
        allowed=_pairs(TFLITE, FP32, FP16), defaults=_pairs(TFLITE, FP16), static=True,
        ops={TFLITE: TFLITE_GPU},
        notes="GPU delegates compute in fp16; fp16 weights halve the file. Static shapes, rank <= 4.",
    ),
    TargetProfile(
        name="android-npu", description="Android phone NPU: LiteRT NPU/NNAPI delegate",
        allowed=_pairs(TFLITE, INT8, FP16), defaults=_pairs(TFLITE, INT8), static=True,
        # NNAPI list: NNAPIDelegateKernel::Map() in tensorflow/lite/delegates/nnapi/nnapi_delegate.cc.
        ops={TFLITE: NNAPI},
        notes="NPUs run full-integer models with int8 input/output and static shapes.",
    ),
    TargetProfile(
        name="qualcomm-qnn", description="Qualcomm Hexagon NPU: ONNX Runtime QNN EP (HTP) or LiteRT QNN delegate",
        allowed=_pairs(ONNX, INT8, FP16) + _pairs(TFLITE, INT8), defaults=_pairs(ONNX, INT8),
        # ONNX list: see QNN_HTP in oplists.py. TFLite list: unverified, no Qualcomm QNN delegate
        # op list found in the docs index; the NNAPI delegate list stands in for it.
        # Static shapes: ORT QNN EP docs ("Model requirements") say dynamic shapes are not
        # supported and must be fixed before running on QNN EP.
        static=True, ops={ONNX: QNN_HTP, TFLITE: NNAPI}, activation_dtype=DType.UINT8,
        notes="The HTP backend takes QDQ models with u8 activations and s8 per-channel weights; "
              "static shapes only (QNN EP does not take dynamic shapes: fix them before export).",
    ),
    TargetProfile(
        name="coral-edgetpu", description="Google Coral Edge TPU: compile with edgetpu_compiler, run with LiteRT",
        allowed=_pairs(TFLITE, INT8), defaults=_pairs(TFLITE, INT8), static=True,
        # Full 8-bit quantisation: coral.ai/docs/edgetpu/models-intro ("Compatibility overview").
        # No DEPTH_TO_SPACE: maintainer reply in google-coral/edgetpu#386 (2021-05, compiler 15).
        ops={TFLITE: EDGE_TPU}, shuffle_as_conv=True,
        notes="Full-integer int8 with int8 I/O, batch 1, static shapes. Pixel shuffles become exact "
              "one-hot (transposed) convolutions: the Edge TPU has no DEPTH_TO_SPACE and runs "
              "everything after the first unsupported op on the CPU. Compile elsewhere: "
              "`edgetpu_compiler MODEL.tflite`.",
    ),
    TargetProfile(
        name="jetson", description="NVIDIA Jetson: TensorRT through ONNX Runtime's TensorRT EP or trtexec",
        allowed=_pairs(ONNX, FP32, FP16, INT8), defaults=_pairs(ONNX, FP16), static=False,
        ops={ONNX: TENSORRT}, opset=13, symmetric_activations=True,
        notes="opset 13 parses on TensorRT 8.2 (JetPack 4.6) and later. TensorRT int8 needs "
              "symmetric (zero-point 0) s8 QDQ.",
    ),
)

TARGETS: dict[str, TargetProfile] = {t.name: t for t in _PROFILES}


def get_target(name: str) -> TargetProfile:
    """The profile called ``name``.

    Raises:
        ConfigError: unknown name (lists the known ones, with a close match).
    """
    if name in TARGETS:
        return TARGETS[name]
    near = closest(name, TARGETS, cutoff=0.5)
    hint = f"did you mean {near!r}? " if near else ""
    raise ConfigError(f"unknown --target {name!r}; {hint}known targets: {', '.join(TARGETS)}")
