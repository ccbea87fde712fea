"""Photos that ship inside installed packages, split once into training and evaluation sets.

No data set can be downloaded, so training uses procedural images plus some package
photos; evaluation (quality benchmark, tests' quality checks) uses *other* package photos,
including the two real faces. Keeping both lists here is what guarantees they never overlap.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.errors import ConfigError


def _skimage(name: str) -> Callable[[], NDArray[np.uint8]]:
    def load() -> NDArray[np.uint8]:
        import skimage.data

        img = getattr(skimage.data, name)()
        if name == "stereo_motorcycle":
            img = img[0]
        return img
    return load


def _mpl(name: str) -> Callable[[], NDArray[np.uint8]]:
    def load() -> NDArray[np.uint8]:
        import matplotlib
        from PIL import Image

        path = Path(matplotlib.get_data_path()) / "sample_data" / name
        return np.asarray(Image.open(path).convert("RGB"))
    return load


_LOADERS: dict[str, Callable[[], NDArray[np.uint8]]] = {
    # evaluation: two real faces plus varied natural content
    "astronaut": _skimage("astronaut"),
    "grace_hopper": _mpl("grace_hopper.jpg"),
    "coffee": _skimage("coffee"),
    "chelsea": _skimage("chelsea"),
    # training
    "rocket": _skimage("rocket"),
    "immunohistochemistry": _skimage("immunohistochemistry"),
    "hubble_deep_field": _skimage("hubble_deep_field"),
    "retina": _skimage("retina"),
    "motorcycle": _skimage("stereo_motorcycle"),
    "camera": _skimage("camera"),
    "brick": _skimage("brick"),
    "grass": _skimage("grass"),
    "gravel": _skimage("gravel"),
    "coins": _skimage("coins"),
    "text": _skimage("text"),
    "page": _skimage("page"),
    "moon": _skimage("moon"),
    "colorwheel": _skimage("colorwheel"),
}

EVAL_IMAGES: tuple[str, ...] = ("astronaut", "grace_hopper", "coffee", "chelsea")
"""Never used for training or calibration: the quality benchmark and quality tests."""

FACE_IMAGES: tuple[str, ...] = ("astronaut", "grace_hopper")
"""Real faces shipped by packages (public domain)."""

TRAIN_IMAGES: tuple[str, ...] = tuple(n for n in _LOADERS if n not in EVAL_IMAGES)
"""Package photos that training and int8 calibration may use."""


def load_sample(name: str) -> NDArray[np.uint8]:
    """Load a package-shipped photo as HxWx3 uint8 RGB.

    Raises:
        ConfigError: the name is unknown (the message lists the known names).
    """
    if name not in _LOADERS:
        raise ConfigError(f"unknown sample image {name!r}; choose from {', '.join(_LOADERS)}")
    img = np.asarray(_LOADERS[name]())
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img[..., :3]).astype(np.uint8)


def load_sample_scaled(name: str, long_side_px: int) -> NDArray[np.float32]:
    """A package photo resized so its long side is ``long_side_px`` (area filter down,
    cubic up), as HxWx3 float32 sRGB in [0, 1]: the form benchmarks and tests work in.

    Raises:
        ConfigError: the name is unknown.
    """
    img = load_sample(name)
    h, w = img.shape[:2]
    s = long_side_px / max(h, w)
    size = (round(w * s), round(h * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return cv2.resize(img, size, interpolation=interp).astype(np.float32) / np.float32(255)
