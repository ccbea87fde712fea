"""The shipped int8/fp16 artifacts: registered, validated, and close to their fp32 model."""
from __future__ import annotations

import numpy as np
import pytest

from convert.bundle import SHIP_GATE_DB
from convert.calib import validation_pairs
from runtime.catalog import SHIPPED_DIR, load_shipped_manifest, resolve_model
from runtime.engines import EngineConfig, create_engine
from runtime.manifest import ArtifactFormat, DType, Layout, Precision, Status

MANIFEST = load_shipped_manifest()
SHIPPED = [e for e in MANIFEST.artifacts if e.precision in (Precision.INT8, Precision.FP16)]
MIN_PSNR_VS_FP32_DB = {Precision.FP16: 60.0, Precision.INT8: 30.0}
"""PSNR of the artifact's output against the fp32 model's on held-out images. NPU vendors
call > 30 dB between float and device output good (see shared STACK notes); ground-truth
quality is gated separately (``drop_vs_fp32_db``)."""


def test_every_shipped_model_has_int8_and_fp16_in_both_formats() -> None:
    fp32 = {e.model for e in MANIFEST.artifacts if e.precision is Precision.FP32}
    assert fp32, "no fp32 models shipped"
    for model in fp32:
        ids = {e.id for e in SHIPPED if e.model == model}
        assert ids == {f"{model}.{p}.{f}" for p in ("int8", "fp16") for f in ("onnx", "tflite")}


@pytest.mark.parametrize("entry", SHIPPED, ids=lambda e: e.id)
def test_shipped_entry_passed_the_gate(entry) -> None:  # noqa: ANN001
    assert entry.status is Status.OK and entry.notes["gate"] == "passed"
    assert entry.metrics["drop_vs_fp32_db"] <= SHIP_GATE_DB and entry.metrics["nonfinite_images"] == 0
    assert resolve_model(entry.id).path == SHIPPED_DIR / entry.path  # file present, sha256 matches
    if entry.format is ArtifactFormat.ONNX:
        assert entry.parent_sha256 == MANIFEST.find(f"{entry.model}.fp32.onnx").sha256
        assert entry.input.layout is Layout.NCHW and entry.input.size_hw is None
    else:
        assert entry.input.layout is Layout.NHWC and entry.input.size_hw == (256, 256)
        if entry.precision is Precision.INT8:
            assert entry.input.dtype is DType.INT8 and entry.input.zero_point == -128
            assert abs(entry.input.scale - 1 / 255) < 1e-6


@pytest.mark.parametrize("entry", SHIPPED, ids=lambda e: e.id)
def test_shipped_artifact_runs_close_to_fp32(entry) -> None:  # noqa: ANN001
    size = entry.input.size_hw or (64, 64)
    pairs = validation_pairs(2, size, task=entry.task)  # noisy or low-res inputs for the denoiser and x2
    with create_engine(f"{entry.model}.fp32.onnx", EngineConfig()) as ref, \
            create_engine(entry.alias if entry.format is ArtifactFormat.ONNX else entry.id, EngineConfig()) as eng:
        assert eng.info.precision is entry.precision
        mse = float(np.mean((eng.run(pairs.inputs) - ref.run(pairs.inputs)) ** 2))
    assert 10 * np.log10(1 / max(mse, 1e-12)) > MIN_PSNR_VS_FP32_DB[entry.precision]
