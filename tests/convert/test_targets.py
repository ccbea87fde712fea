"""The target table: plans, refusals with suggestions, I/O rules."""
from __future__ import annotations

import pytest

from convert.targets import TARGETS, get_target
from runtime.errors import ConfigError
from runtime.manifest import ArtifactFormat, DType, Layout, Precision

REQUIRED = ("x86-cpu", "rpi4", "rpi5", "android-gpu", "android-npu", "qualcomm-qnn", "coral-edgetpu", "jetson")


def test_every_required_target_exists() -> None:
    assert set(REQUIRED) <= set(TARGETS)


@pytest.mark.parametrize("name", list(TARGETS))
def test_defaults_plan_allowed_files(name: str) -> None:
    target = TARGETS[name]
    plan = target.plan((), ())
    assert plan and all((p.format, p.precision) in target.allowed for p in plan)
    for p in plan:
        assert p.static or not target.static
        assert p.io_layout is (Layout.NCHW if p.format is ArtifactFormat.ONNX else Layout.NHWC)


@pytest.mark.parametrize("name", list(TARGETS))
def test_every_allowed_pair_can_be_requested(name: str) -> None:
    target = TARGETS[name]
    for fmt, prec in target.allowed:
        (planned,) = target.plan((prec,), (fmt,))
        assert (planned.format, planned.precision) == (fmt, prec)
        if fmt is ArtifactFormat.TFLITE:
            assert planned.static  # LiteRT files are always static (NPU / Edge-TPU ready)
            assert planned.io_dtype is (DType.INT8 if prec is Precision.INT8 else DType.FLOAT32)


@pytest.mark.parametrize("name, precision, fmt, match", [
    ("coral-edgetpu", Precision.FP16, None, "allowed: int8"),
    ("android-gpu", Precision.INT8, None, "allowed: fp16, fp32"),
    ("jetson", None, ArtifactFormat.TFLITE, "--format tflite is not allowed for --target jetson"),
    ("rpi4", Precision.FP16, None, "not allowed for --target rpi4"),
    ("qualcomm-qnn", Precision.FP16, ArtifactFormat.TFLITE, "cannot run tflite fp16"),
])
def test_disallowed_options_raise_with_allowed_values(name: str, precision: Precision | None,
                                                       fmt: ArtifactFormat | None, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TARGETS[name].plan(() if precision is None else (precision,), () if fmt is None else (fmt,))


def test_unknown_target_gets_a_suggestion() -> None:
    with pytest.raises(ConfigError, match="did you mean 'rpi5'"):
        get_target("rpi-5")
    with pytest.raises(ConfigError, match="known targets: x86-cpu"):
        get_target("toaster")


def test_activation_types_follow_the_hardware() -> None:
    (x86,) = TARGETS["x86-cpu"].plan((), ())
    (trt,) = TARGETS["jetson"].plan((Precision.INT8,), ())
    (arm,) = TARGETS["rpi5"].plan((Precision.INT8,), (ArtifactFormat.ONNX,))
    assert x86.activation_dtype is DType.UINT8 and not x86.symmetric_activations
    assert trt.activation_dtype is DType.INT8 and trt.symmetric_activations and trt.opset == 13
    assert arm.activation_dtype is DType.INT8
    assert TARGETS["coral-edgetpu"].plan((), ())[0].shuffle_as_conv
