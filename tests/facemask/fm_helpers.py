"""Shared test helpers: package photos, golden measurements and long-lived detectors.

Test modules import the fixtures they use from here explicitly (pytest puts each test
folder on sys.path); the detectors behind them are built once per session.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from numpy.typing import NDArray

from facemask.detector import FaceDetector
from facemask.options import Backend, FaceDetectorOptions
from facemask.result import FaceResult
from runtime.lab.sample_images import load_sample

GOLDEN = json.loads((Path(__file__).parent / "data" / "golden_faces.json").read_text())


@functools.cache
def shared_detector(backend: Backend) -> FaceDetector:
    """One IMAGE-mode detector per backend for the whole session."""
    return FaceDetector.create_from_options(FaceDetectorOptions(backend=backend))


@pytest.fixture(scope="session")
def photos() -> dict[str, NDArray[np.uint8]]:
    return {name: load_sample(name) for name in ("astronaut", "grace_hopper", "coffee")}


@pytest.fixture(scope="session")
def astronaut() -> NDArray[np.uint8]:
    return load_sample("astronaut")


@pytest.fixture(scope="session")
def litert_detector() -> Iterator[FaceDetector]:
    yield shared_detector(Backend.LITERT)
    shared_detector(Backend.LITERT).close()


@pytest.fixture(scope="session")
def mediapipe_detector() -> Iterator[FaceDetector]:
    yield shared_detector(Backend.MEDIAPIPE)
    shared_detector(Backend.MEDIAPIPE).close()


@pytest.fixture(scope="session")
def astronaut_faces(astronaut: NDArray[np.uint8]) -> FaceResult:
    faces = shared_detector(Backend.LITERT).process(astronaut)
    assert len(faces) == 1
    return faces
