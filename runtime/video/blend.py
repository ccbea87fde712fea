"""Compositing deblurred patches back into a frame with soft masks.

A face crop comes back from the model as a float patch; it is pasted over the frame as
``out = frame + strength * mask * (patch - frame)``, only inside the patch's footprint,
so the cost scales with face area, not frame area. Masks are expected to be 1 on the face
and to fall smoothly to 0 well inside the crop border, which is what hides the seam and
keeps the model's border effects (it sees padding there, not the real neighbours) out of
the result.

Example:
    >>> out = frame.copy()
    >>> paste_patches(out, patches, masks, origins_xy, strength=1.0)
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.errors import ConfigError


def _check_strength(strength: float) -> None:
    if not 0.0 <= strength <= 1.0:
        raise ConfigError(f"strength {strength} must be in [0, 1]")


def paste_patches(frame: NDArray[np.uint8], patches: Sequence[NDArray[np.float32]],
                  masks: Sequence[NDArray[np.float32]], origins_xy: NDArray[np.integer],
                  strength: float = 1.0) -> None:
    """Blend patches into ``frame`` in place, one after another (later ones on top).

    Args:
        frame: HxWx3 uint8 RGB, modified in place.
        patches: N arrays (h_i, w_i, 3) float32 RGB in [0, 1], the model outputs.
        masks: N arrays (h_i, w_i) float32 in [0, 1], the blend weight of each patch pixel.
        origins_xy: (N, 2) integer top-left corner of each patch in frame pixels; patches
            may hang over the frame edge (the outside part is ignored).
        strength: global weight in [0, 1]; 0 leaves the frame untouched.

    Raises:
        ConfigError: mismatched shapes or strength outside [0, 1].
    """
    _check_strength(strength)
    if len(patches) != len(masks) or np.shape(origins_xy) != (len(patches), 2):
        raise ConfigError(f"{len(patches)} patches, {len(masks)} masks and origins of shape "
                          f"{np.shape(origins_xy)} do not match; need N, N and (N, 2)")
    if strength == 0.0:
        return
    fh, fw = frame.shape[:2]
    for patch, mask, (x, y) in zip(patches, masks, np.asarray(origins_xy).tolist()):
        if patch.ndim != 3 or patch.shape[:2] != mask.shape:
            raise ConfigError(f"patch {patch.shape} and mask {mask.shape} must be (h, w, 3) and (h, w)")
        ph, pw = mask.shape
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + pw, fw), min(y + ph, fh)
        if x1 <= x0 or y1 <= y0:
            continue
        sy, sx = slice(y0 - y, y1 - y), slice(x0 - x, x1 - x)
        _blend_region(frame[y0:y1, x0:x1], patch[sy, sx], mask[sy, sx], strength)


def _blend_region(region: NDArray[np.uint8], patch: NDArray[np.float32],
                  mask: NDArray[np.float32], strength: float) -> None:
    """region <- region + strength * mask * (255 * patch - region), rounded, in place."""
    rows, cols = np.nonzero(mask.max(axis=1) > 0)[0], np.nonzero(mask.max(axis=0) > 0)[0]
    if rows.size == 0:
        return
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    sub = region[r0:r1, c0:c1]
    base = sub.astype(np.float32)
    alpha = mask[r0:r1, c0:c1, None] * np.float32(strength)
    out = base + alpha * (patch[r0:r1, c0:c1] * np.float32(255.0) - base)
    np.clip(out + 0.5, 0, 255, out=out)
    sub[...] = out.astype(np.uint8)


def mix(frame: NDArray[np.uint8], processed: NDArray[np.uint8], strength: float,
        out: NDArray[np.uint8] | None = None) -> NDArray[np.uint8]:
    """Uniform blend ``frame + strength * (processed - frame)`` of two HxWx3 uint8 images.

    Args:
        frame: the original, HxWx3 uint8.
        processed: the fully processed image, same shape.
        strength: weight of ``processed`` in [0, 1].
        out: optional destination (may be ``processed`` itself); a new array otherwise.

    Raises:
        ConfigError: shapes differ or strength outside [0, 1].
    """
    _check_strength(strength)
    if frame.shape != processed.shape:
        raise ConfigError(f"cannot mix images of shapes {frame.shape} and {processed.shape}")
    if strength == 1.0:
        if out is None:
            return processed.copy()
        if out is not processed:
            out[...] = processed
        return out
    return cv2.addWeighted(processed, strength, frame, 1.0 - strength, 0.0, dst=out)
