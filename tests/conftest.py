"""Shared fixtures: tiny generated ONNX and TFLite models (see model_fixtures.py), an RNG."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from model_fixtures import build_onnx, build_tflite


@pytest.fixture
def identity_onnx(tmp_path: Path) -> Path:
    """A dynamic-size NCHW float32 ONNX model that returns its input exactly."""
    return build_onnx(tmp_path / "identity.onnx")


@pytest.fixture
def onnx_factory(tmp_path: Path) -> Callable[..., Path]:
    """``make(name, **build_onnx kwargs) -> path`` inside tmp_path."""
    def make(name: str, **kwargs: object) -> Path:
        return build_onnx(tmp_path / name, **kwargs)  # type: ignore[arg-type]
    return make


@pytest.fixture
def tflite_factory(tmp_path: Path) -> Callable[..., Path]:
    """``make(name, **build_tflite kwargs) -> path`` inside tmp_path."""
    def make(name: str, **kwargs: object) -> Path:
        return build_tflite(tmp_path / name, **kwargs)  # type: ignore[arg-type]
    return make


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def restore_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding 'small', 'denoise' and 'x2' for the restore chain: the shipped
    folder once the denoiser and the upscaler ship there, else generated stand-ins (an
    identity deblur, a binomial smoother, an EdgeSR-shaped x2 net; ``build_restore_models``)."""
    from model_fixtures import build_restore_models
    from runtime.catalog import SHIPPED_DIR, load_shipped_manifest

    shipped = {e.model for e in load_shipped_manifest(SHIPPED_DIR).artifacts}
    if {"small", "denoise", "x2"} <= shipped:
        return SHIPPED_DIR
    return build_restore_models(tmp_path_factory.mktemp("restore_models"))
