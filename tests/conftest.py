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
