"""8-bit 4:2:0 (I420) samples: taken from decoded frames, turned upright, kept where a run changed nothing.

Frames of video files and of stdin carry the samples they were decoded from (``Frame.decoded``). The
face pipeline changes only the faces, so most of a frame leaves the run as it came; the sink
writes the decoded samples there and converts only what changed. A sharp 720p face clip that
the run leaves alone, re-encoded at crf 18, keeps 42.0 dB on the face against its decoded
input (40.9 through RGB; 44.1 against 42.0 with the camera's preset), and lossless output is
bit-exact (``benchmarks/results/runtime/real``, ``tests/runtime/video/test_yuv.py``).

Conversions use FFmpeg's swscale with BT.601 coefficients, limited range: what OpenCV
decodes with and what the encoder used for RGB frames, so a pixel the run changed sits
among kept ones without a colour step.

Example:
    >>> i420 = to_i420(frame)      # what the encoder takes, or None for RGB
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from runtime.video.frames import DecodedSamples, Frame

_CARRIED_FORMAT = "yuv420p"
"""The sink encodes 8-bit 4:2:0 at limited range: only such samples can go back unchanged."""
_WHOLE_FRAME = 0.9
"""Above this fraction of changed pixels (``--background light`` or ``full``) the frame is
encoded from RGB as a whole: merging would cost 4-5 ms more per 720p frame and keep little."""
_MARGIN_PX = 8
"""Pixels converted around the changed ones: the encoder's chroma filter reads a few beyond a
changed 2x2 block, so they are converted from the same neighbours as in a whole frame."""


def planes(i420: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]:
    """Y (H x W), U and V (H/2 x W/2) of a packed (H * 3 / 2, W) I420 array (views)."""
    h, w = i420.shape[0] * 2 // 3, i420.shape[1]
    flat = i420.reshape(-1)
    q = (h // 2) * (w // 2)
    return (flat[:h * w].reshape(h, w), flat[h * w:h * w + q].reshape(h // 2, w // 2),
            flat[h * w + q:].reshape(h // 2, w // 2))


def pack(y: NDArray[np.uint8], u: NDArray[np.uint8], v: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The packed (H * 3 / 2, W) array PyAV reads as ``yuv420p``."""
    h, w = y.shape
    return np.concatenate([y.reshape(-1), u.reshape(-1), v.reshape(-1)]).reshape(h * 3 // 2, w)


def turn(i420: NDArray[np.uint8], quarters: int) -> NDArray[np.uint8]:
    """``i420`` turned as ``np.rot90(image, quarters)`` turns the image it decodes to."""
    if quarters % 4 == 0:
        return i420
    return pack(*(np.rot90(p, quarters) for p in planes(i420)))


def decoded_pixels(decoded: Any, quarters: int = 0) -> tuple[NDArray[np.uint8], DecodedSamples | None]:
    """A PyAV video frame's RGB, turned by ``quarters`` (``np.rot90``), made with BT.601 as
    OpenCV makes it (bit for bit on 8-bit 4:2:0), and its samples when the sink can take them
    back (8-bit 4:2:0, even size)."""
    rgb = np.ascontiguousarray(np.rot90(decoded.reformat(format="rgb24", src_colorspace="ITU601").to_ndarray(),
                                        quarters))
    if decoded.format.name != _CARRIED_FORMAT or decoded.width % 2 or decoded.height % 2:
        return rgb, None
    return rgb, DecodedSamples(turn(decoded.to_ndarray(), quarters), rgb)


def rgb_to_i420(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Even-sized RGB converted as the encoder converts an RGB frame."""
    import av  # heavy; only video outputs need it

    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p").to_ndarray()


def to_i420(frame: Frame) -> NDArray[np.uint8] | None:
    """The frame as I420 with its decoded samples wherever its RGB is still the decoded RGB;
    ``None`` when it carries none of its size (cameras, folders, odd sizes) or nearly all of it
    changed: encode its RGB."""
    decoded = frame.decoded
    out = frame.image_rgb
    if decoded is None or decoded.rgb.shape != out.shape:
        return None
    if out is decoded.rgb:
        return decoded.i420
    changed = _changed(out, decoded.rgb)
    count = np.count_nonzero(changed)
    if count == 0:
        return decoded.i420
    if count > _WHOLE_FRAME * changed.size:
        return None
    y0, y1, x0, x1 = _box(changed, _MARGIN_PX)
    converted = rgb_to_i420(np.ascontiguousarray(out[y0:y1, x0:x1]))
    merged = decoded.i420.copy()
    inside = changed[y0:y1, x0:x1]
    blocks = inside[0::2, 0::2] | inside[0::2, 1::2] | inside[1::2, 0::2] | inside[1::2, 1::2]
    for scale, plane, new, where in zip((1, 2, 2), planes(merged), planes(converted), (inside, blocks, blocks)):
        np.copyto(plane[y0 // scale:y1 // scale, x0 // scale:x1 // scale], new, where=where)
    return merged


def _box(changed: NDArray[np.bool_], margin: int) -> tuple[int, int, int, int]:
    """The changed pixels' bounding box widened by ``margin``, on even coordinates, inside the frame."""
    h, w = changed.shape
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    return (_block_edge(rows[0] - margin, h), _block_edge(rows[-1] + 2 + margin, h),
            _block_edge(cols[0] - margin, w), _block_edge(cols[-1] + 2 + margin, w))


def _block_edge(v: int, limit: int) -> int:
    """``v`` inside [0, limit], rounded down to a 2x2 chroma block's edge."""
    return min(max(int(v), 0), limit) & ~1


def _changed(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Where two HxWx3 images differ in any channel (XOR, then OR of the channels: 14x
    faster than ``np.any(a != b, axis=2)`` on a 720p frame)."""
    d = np.bitwise_xor(a, b)
    return (d[..., 0] | d[..., 1] | d[..., 2]) != 0
