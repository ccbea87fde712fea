"""Validation on camera-made blur (``val_realblur``): the criterion for choosing checkpoints.

Reads a folder with ``PAIRS.tsv`` (columns ``blur`` and ``sharp``: paths relative to the
folder) and cuts fixed crops from each pair, so validation during training is cheap and
repeatable. These pairs are never trained or calibrated on.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from runtime.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ValPair:
    """One listed pair: the blurry and the sharp file, and whether people are in it."""

    blur: Path
    sharp: Path
    people: bool


def read_pairs(folder: Path) -> list[ValPair]:
    """The pairs listed in ``folder/PAIRS.tsv`` (``has_people`` column optional).

    Raises:
        ConfigError: the folder has no PAIRS.tsv or a listed file is missing.
    """
    table = folder / "PAIRS.tsv"
    if not table.is_file():
        raise ConfigError(f"{table}: not found; --val-real needs a folder with PAIRS.tsv (blur, sharp columns)")
    with table.open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    pairs = [ValPair(folder / r["blur"], folder / r["sharp"], r.get("has_people") == "yes") for r in rows]
    for p in (p for pair in pairs for p in (pair.blur, pair.sharp)):
        if not p.is_file():
            raise ConfigError(f"{table} lists {p}, which is missing")
    return pairs


def _read_rgb(path: Path) -> np.ndarray:
    """float32 RGB [0, 1] through OpenCV alone (8- or 16-bit; EXIF orientation applied), so
    training runs where only PyTorch, OpenCV and NumPy are installed.

    Raises:
        ConfigError: the file cannot be decoded.
    """
    img = cv2.imread(str(path), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR)
    if img is None:
        raise ConfigError(f"{path}: cannot be decoded; re-save it as PNG")
    scale = 65535.0 if img.dtype == np.uint16 else 255.0
    return np.ascontiguousarray(img[..., ::-1], dtype=np.float32) / np.float32(scale)


def load_crops(folder: Path, size: int = 256, per_pair: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """(blurry, sharp) NCHW crops: ``per_pair`` fixed, evenly spaced ``size`` squares per pair."""
    blurry, sharp = [], []
    for pair in read_pairs(folder):
        b, s = _read_rgb(pair.blur), _read_rgb(pair.sharp)
        h, w = b.shape[:2]
        y = (h - size) // 2
        for i in range(per_pair):
            x = int((w - size) * (i + 1) / (per_pair + 1))
            blurry.append(b[y:y + size, x:x + size])
            sharp.append(s[y:y + size, x:x + size])
    to = lambda a: torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    return to(blurry), to(sharp)


def psnr_each(a: torch.Tensor, b: torch.Tensor, border: int = 8) -> torch.Tensor:
    """PSNR per image (dB), ``border`` px excluded (edges see zero padding)."""
    sl = (slice(None), slice(None), slice(border, -border), slice(border, -border))
    mse = ((a.clamp(0, 1) - b)[sl] ** 2).mean(dim=(1, 2, 3)).clamp_min(1e-12)
    return -10 * torch.log10(mse)


@torch.no_grad()
def gain_db(model: nn.Module, blurry: torch.Tensor, sharp: torch.Tensor, chunk: int = 6) -> float:
    """Mean PSNR gain of ``model`` over its input on the crops (dB)."""
    dev = next(model.parameters()).device
    gains = []
    for i in range(0, len(blurry), chunk):
        b, s = blurry[i:i + chunk].to(dev), sharp[i:i + chunk].to(dev)
        gains.append(psnr_each(model(b).float(), s) - psnr_each(b, s))
    g = float(torch.cat(gains).mean())
    return g if math.isfinite(g) else float("-inf")
