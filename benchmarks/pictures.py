"""Pictures of benchmark results (before/after strips): one writer for all of them.

Strips are for looking at, and every file in the repository travels with each checkout and
each call to a lent GPU machine, whose working tree is capped at 64 MiB. As PNG the strips
took 30 MiB of that. JPEG at quality 92 without chroma subsampling keeps a strip about
40 dB from the lossless picture: halos, ringing, seams and colour shifts still show, at
about a quarter of the size.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from facemask.files import atomic_path

SUFFIX = ".jpg"
QUALITY = 92


def write_picture(path: Path, rgb: NDArray[np.uint8] | NDArray[np.floating]) -> Path:
    """Write an RGB picture (uint8, or float in [0, 1]) as JPEG atomically; returns ``path``.

    Raises:
        ValueError: ``path`` does not end in .jpg (the format the repository keeps pictures in).
    """
    path = Path(path)
    if path.suffix != SUFFIX:
        raise ValueError(f"{path}: benchmark pictures are written as {SUFFIX}")
    if rgb.dtype != np.uint8:
        rgb = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    params = [cv2.IMWRITE_JPEG_QUALITY, QUALITY, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
    ok, data = cv2.imencode(SUFFIX, np.ascontiguousarray(rgb[..., ::-1]), params)
    if not ok:
        raise ValueError(f"{path}: OpenCV could not encode a {rgb.shape} picture")
    with atomic_path(path, suffix=SUFFIX) as tmp:
        tmp.write_bytes(data.tobytes())
    return path


def write_comparison_strip(folder: Path, crops: dict[str, list[NDArray[np.floating]]], rows_note: str = "") -> None:
    """``folder/strip.jpg``: one row per example, columns input | each config | sharp (in
    ``crops``' order), and ``strip.txt`` naming the columns (and the rows, ``rows_note``).
    Rows stop at the shortest column; nothing is written when a column is empty."""
    order = ["input", *[k for k in crops if k not in ("input", "sharp")], "sharp"]
    n = min(len(crops[k]) for k in order)
    if not n:
        return
    write_picture(folder / "strip.jpg", np.concatenate(
        [np.concatenate([crops[k][i] for k in order], axis=1) for i in range(n)], axis=0))
    rows = f"rows: {rows_note}\n" if rows_note else ""
    (folder / "strip.txt").write_text("columns: " + " | ".join(order) + "\n" + rows)
