"""Image checks and I/O: every frame entering facemask goes through :func:`to_rgb`.

facemask works on RGB uint8 HxWx3 frames, the order MediaPipe and the deblur models
expect. OpenCV decodes to BGR; a BGR frame still yields faces but with wrong colours
downstream, so the colour order is an explicit option (:class:`ColorOrder`) instead of
a guess. :func:`read_image_rgb` decodes files for facemask on its own (the edgedeblur
commands read photos through ``runtime.photo.imageio``, which also takes HEIC and 16-bit).
"""
from __future__ import annotations

import errno
import os
from enum import Enum
from pathlib import Path
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from facemask.errors import FaceMaskError
from facemask.files import atomic_write

DEFAULT_MAX_SIDE_PX = 8192
"""Largest frame side accepted by default (an 8K frame); bigger frames are rejected."""


class ColorOrder(Enum):
    """Channel order of the frames a caller passes in."""

    RGB = "rgb"
    BGR = "bgr"


def _dtype_fix(dtype: np.dtype) -> str:
    if np.issubdtype(dtype, np.floating):
        return "scale floats in [0,1] with (np.clip(image, 0, 1) * 255).round().astype(np.uint8)"
    if dtype == np.uint16:
        return "reduce 16-bit data with (image >> 8).astype(np.uint8)"
    return "convert it to uint8 in 0..255"


def to_rgb(
    image: object,
    color_order: ColorOrder = ColorOrder.RGB,
    *,
    max_side_px: int = DEFAULT_MAX_SIDE_PX,
    name: str = "image",
) -> NDArray[np.uint8]:
    """Checks a frame and returns it as a C-contiguous RGB uint8 array.

    Args:
        image: HxWx3 uint8 array in ``color_order``.
        color_order: Channel order of ``image``; BGR frames are converted to RGB.
        max_side_px: Largest accepted width or height in pixels.
        name: How error messages call the frame (e.g. a file name).

    Returns:
        HxWx3 uint8 RGB array; ``image`` itself when it is already RGB and contiguous.

    Raises:
        FaceMaskError: Not an array, wrong dtype or channel count, empty, or too large.
    """
    if not isinstance(image, np.ndarray):
        raise FaceMaskError(
            f"{name} is a {type(image).__name__}, not a numpy array; pass an HxWx3 uint8 "
            "RGB array, e.g. np.asarray(pil_image.convert('RGB'))")
    if image.ndim == 2:
        raise FaceMaskError(
            f"{name} is grayscale ({image.shape[1]}x{image.shape[0]}); faces need HxWx3 RGB: "
            "use cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)")
    if image.ndim == 3 and image.shape[2] == 4:
        raise FaceMaskError(
            f"{name} has 4 channels (RGBA or BGRA); drop alpha with image[..., :3] for RGBA "
            "or cv2.cvtColor(image, cv2.COLOR_BGRA2RGB) for BGRA")
    if image.ndim != 3 or image.shape[2] != 3:
        raise FaceMaskError(
            f"{name} has shape {image.shape}; expected HxWx3 (RGB, channels last)")
    if image.dtype != np.uint8:
        raise FaceMaskError(f"{name} has dtype {image.dtype}, expected uint8; {_dtype_fix(image.dtype)}")
    h, w = image.shape[:2]
    if h == 0 or w == 0:
        raise FaceMaskError(f"{name} is empty ({w}x{h} pixels); pass a frame with pixels")
    if max(h, w) > max_side_px:
        raise FaceMaskError(
            f"{name} is {w}x{h}, larger than max_side_px={max_side_px}; downscale it first "
            "(cv2.resize with cv2.INTER_AREA) or raise FaceDetectorOptions.max_side_px")
    if color_order is ColorOrder.BGR:
        return cast(NDArray[np.uint8], cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return np.ascontiguousarray(image)


def read_image_rgb(path: str | os.PathLike[str]) -> NDArray[np.uint8]:
    """Decodes an image file (EXIF orientation applied) into HxWx3 uint8 RGB.

    Raises:
        FaceMaskError: The file is missing or not a decodable image.
    """
    p = Path(path)
    if not p.is_file():
        raise FaceMaskError(f"cannot open {p}: not found; check the path")
    data = np.fromfile(p, dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise FaceMaskError(
            f"cannot decode {p}: not an image OpenCV can read; use a JPEG, PNG, BMP or TIFF")
    return cast(NDArray[np.uint8], cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def write_image_rgb(path: str | os.PathLike[str], image_rgb: NDArray[np.uint8]) -> Path:
    """Encodes an RGB image by the file's suffix and writes it atomically.

    The bytes go to a temporary file in the same folder that replaces ``path`` only once
    complete, so a failure never leaves a partial file.

    Raises:
        FaceMaskError: Unknown suffix, the image cannot be encoded, or the file cannot be
            written (missing or read-only folder, full disk): one line naming the file.
    """
    p = Path(path)
    rgb = to_rgb(image_rgb, name=str(p))
    try:
        ok, buf = cv2.imencode(p.suffix or ".none", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    except cv2.error as e:
        raise FaceMaskError(f"cannot write {p}: unknown image type {p.suffix!r}; use .png or .jpg") from e
    if not ok:
        raise FaceMaskError(f"cannot encode {p}; use a .png or .jpg name")
    try:
        atomic_write(p, buf.tobytes())
    except OSError as e:
        why = "the disk is full" if e.errno == errno.ENOSPC else (e.strerror or str(e))
        raise FaceMaskError(f"cannot write {p}: {why}; free space there or choose another path") from e
    return p
