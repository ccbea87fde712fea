"""Run a model on one face crop at the cost of the face, not of a tile grid.

A dynamic-shape model takes the crop as it is (its side is already on the model's stride
grid; portrait-size crops are tiled). A static-shape model gets the fewest tiles of its own size that cover the crop,
overlapping freely (a 470-px crop takes 2 x 2 tiles of 256, not a 768-px square of 3 x 3),
and tiles on which the blend mask is ~0 are not run at all. A crop smaller than the tile
is reflect-padded up to it. Tiles are blended with sin^2 ramps over their overlap;
pixels no tile covered (mask ~0 there) keep the input.

Example:
    >>> out, model_px = run_face_crop(engine, crop, mask)
"""
from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from runtime.engines.base import Engine
from runtime.engines.tiling import TileConfig, plan_tiles, run_tiled

MIN_OVERLAP_PX = 16
"""Least overlap between neighbouring tiles: room for a seamless blend ramp."""
MAX_SINGLE_PX = 512
"""A dynamic-shape model takes crops up to this side in one pass; larger faces (portraits)
are tiled at the size the nets were trained at (one pass over a large image scored lower)."""
SKIP_WEIGHT = 1e-3
"""Tiles whose largest mask value is below this are skipped: they would not show."""


def tile_starts(length: int, tile: int, grid: int, min_overlap: int = MIN_OVERLAP_PX) -> list[int]:
    """Fewest tile starts covering ``length`` px with tiles of ``tile`` px overlapping by at
    least ``min_overlap``, spread evenly, on multiples of ``grid`` where that still covers."""
    if length <= tile:
        return [0]
    n = math.ceil((length - min_overlap) / (tile - min_overlap))
    span = length - tile
    starts = [min(span, grid * round(i * span / (n - 1) / grid)) for i in range(n)]
    starts[-1] = span                     # the last tile ends on the crop edge
    return starts


def _ramp(length: int, overlap: int, ramp_in: bool, ramp_out: bool) -> NDArray[np.float32]:
    w = np.ones(length, np.float32)
    if overlap > 0:
        r = (np.sin(0.5 * np.pi * (np.arange(overlap) + 0.5) / overlap) ** 2).astype(np.float32)
        if ramp_in:
            w[:overlap] = r
        if ramp_out:
            w[-overlap:] = r[::-1]
    return w


def run_face_crop(engine: Engine, crop: NDArray[np.float32], mask: NDArray[np.float32]
                  ) -> tuple[NDArray[np.float32], int]:
    """Model output for one (h, w, 3) float32 RGB [0, 1] crop whose blend mask is ``mask``.

    Returns:
        The (h, w, 3) float32 output and the pixels the model processed (padding included).

    Raises:
        EngineError: the engine failed.
    """
    h, w = crop.shape[:2]
    info = engine.info
    if info.fits(h, w):
        if max(h, w) <= MAX_SINGLE_PX:
            return engine.run(crop[None])[0], h * w
        plan = plan_tiles(h, w, info, TileConfig())
        return run_tiled(engine, crop, TileConfig()), plan.count * plan.rows.tile * plan.cols.tile
    th, tw = info.input_size_hw if info.input_size_hw is not None else (h, w)
    if h < th or w < tw:                  # smaller than the tile: reflect-pad up to it
        pads = ((0, max(0, th - h)), (0, max(0, tw - w)), (0, 0))
        padded = np.pad(crop, pads, mode="reflect" if min(h, w) > 1 else "edge")
        out, px = run_face_crop(engine, padded, np.pad(mask, pads[:2]))
        return out[:h, :w], px
    grid = info.multiple_of
    ys, xs = tile_starts(h, th, grid), tile_starts(w, tw, grid)
    oy = th - max((b - a for a, b in zip(ys, ys[1:])), default=th)
    ox = tw - max((b - a for a, b in zip(xs, xs[1:])), default=tw)
    boxes = [(y, x) for y in ys for x in xs if mask[y:y + th, x:x + tw].max() >= SKIP_WEIGHT]
    acc = np.zeros((h, w, 3), np.float32)
    weight = np.zeros((h, w), np.float32)
    if boxes:
        outs = engine.run(np.stack([crop[y:y + th, x:x + tw] for y, x in boxes]))
        for (y, x), tile in zip(boxes, outs):
            wt = (_ramp(th, oy, y > 0, y + th < h)[:, None] * _ramp(tw, ox, x > 0, x + tw < w)[None, :])
            acc[y:y + th, x:x + tw] += tile * wt[..., None]
            weight[y:y + th, x:x + tw] += wt
    covered = weight > 1e-6
    out = crop.copy()
    out[covered] = acc[covered] / weight[covered, None]
    return np.clip(out, 0.0, 1.0, out=out), len(boxes) * th * tw
