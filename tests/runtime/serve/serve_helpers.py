"""Small real photos for the serve tests."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from runtime.lab.sample_images import load_sample


def blurred_face_jpeg(path: Path, side: int = 256) -> Path:
    """The astronaut, ``side`` px, defocused a little, as a JPEG."""
    rgb = cv2.resize(load_sample("astronaut"), (side, side), interpolation=cv2.INTER_AREA)
    rgb = cv2.GaussianBlur(rgb, (0, 0), 1.6)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def decode(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None, "not an image"
    return img
