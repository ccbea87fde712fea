"""Generated face videos with known ground truth, for tests and benchmarks.

Heads cut from the public-domain portraits that ship with scikit-image (astronaut) and
matplotlib (Grace Hopper) are pasted with a soft elliptical edge over scikit-image's
coffee photo (no face), moving, zooming, leaving and re-entering the frame, alone or
several at once. Every frame gets fresh sensor noise so a face that stands still still
gives the detector new pixels, which is what makes landmark jitter measurable.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from facemask.errors import FaceMaskError
from facemask.files import atomic_path
from facemask.image import to_rgb
from runtime.lab.sample_images import load_sample

@dataclass(frozen=True, slots=True)
class _Head:
    photo: str
    crop_xyxy: tuple[int, int, int, int]
    face_xyxy: tuple[float, float, float, float]
    mirror: bool = False


# Face boxes: tests/facemask/data/golden_faces.json (landmark boxes measured once).
_HEADS = (
    _Head("astronaut", (120, 0, 330, 240), (178.3, 72.0, 271.9, 175.5)),
    _Head("grace_hopper", (130, 20, 400, 380), (171.3, 131.0, 356.7, 333.1)),
    _Head("astronaut", (120, 0, 330, 240), (178.3, 72.0, 271.9, 175.5), mirror=True),
)


class Motion(Enum):
    """What the faces do over the clip."""

    STILL = "still"
    """One face stays put; only sensor noise changes (for jitter)."""
    MOVE = "move"
    """One face pans across the frame on a smooth path."""
    ZOOM = "zoom"
    """One face grows from 0.6x to 1.4x its base size and back."""
    EXIT_REENTER = "exit_reenter"
    """One face slides out through the right edge and comes back."""
    CROWD = "crowd"
    """Three faces side by side, drifting slowly."""


@dataclass(frozen=True, slots=True)
class SyntheticClip:
    """Frames plus ground truth.

    Attributes:
        frames: T frames, HxWx3 uint8 RGB.
        face_boxes_xyxy: (T, k, 4) float32 true face boxes in pixels; NaN rows where
            less than half the face is inside the frame.
        fps: Frame rate the motion was generated for.
    """

    frames: tuple[NDArray[np.uint8], ...]
    face_boxes_xyxy: NDArray[np.float32]
    fps: float


@lru_cache(maxsize=8)
def _head_rgba(head: _Head) -> tuple[NDArray[np.float32], tuple[float, float, float, float]]:
    x0, y0, x1, y1 = head.crop_xyxy
    rgb = load_sample(head.photo)[y0:y1, x0:x1].astype(np.float32)
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r = np.hypot((xx + 0.5 - w / 2) / (w / 2), (yy + 0.5 - h / 2) / (h / 2))
    alpha = np.clip((1.0 - r) / 0.2, 0.0, 1.0)
    fx0, fy0, fx1, fy1 = head.face_xyxy[0] - x0, head.face_xyxy[1] - y0, head.face_xyxy[2] - x0, head.face_xyxy[3] - y0
    if head.mirror:
        rgb, alpha = rgb[:, ::-1], alpha[:, ::-1]
        fx0, fx1 = w - fx1, w - fx0
    return np.dstack([rgb, alpha]), (fx0, fy0, fx1, fy1)


def paste_rgba(frame: NDArray[np.float32], rgba: NDArray[np.float32], scale: float,
               left_top_xy: tuple[float, float]) -> None:
    """Alpha-blends a sprite into ``frame`` in place, scaled bilinearly, warping only the
    rectangle it covers (public so the benchmark videos composite faces the same way).

    Args:
        frame: HxWx3 float32 RGB, changed in place.
        rgba: hxwx4 float32 sprite: RGB in ``frame``'s value range, alpha in [0, 1].
        scale: frame pixels per sprite pixel.
        left_top_xy: where the sprite's top-left corner lands, in frame pixels; the sprite
            may lie partly or wholly outside the frame.
    """
    x, y = left_top_xy
    h, w = frame.shape[:2]
    bx0, by0 = max(int(x), 0), max(int(y), 0)
    bx1 = min(int(np.ceil(x + scale * rgba.shape[1])) + 1, w)
    by1 = min(int(np.ceil(y + scale * rgba.shape[0])) + 1, h)
    if bx1 <= bx0 or by1 <= by0:
        return
    m = np.array([[scale, 0, x - bx0], [0, scale, y - by0]], np.float32)
    warped = cv2.warpAffine(rgba, m, (bx1 - bx0, by1 - by0), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    a = warped[..., 3:4]
    region = frame[by0:by1, bx0:bx1]
    region *= 1 - a
    region += warped[..., :3] * a


def _paste(frame: NDArray[np.float32], head: _Head, face_h_px: float,
           centre_xy: tuple[float, float]) -> NDArray[np.float32]:
    """Pastes a head so its face has height ``face_h_px`` centred at ``centre_xy``; returns the face box."""
    rgba, (fx0, fy0, fx1, fy1) = _head_rgba(head)
    s = face_h_px / (fy1 - fy0)
    tx = centre_xy[0] - s * (fx0 + fx1) / 2
    ty = centre_xy[1] - s * (fy0 + fy1) / 2
    paste_rgba(frame, rgba, s, (tx, ty))
    h, w = frame.shape[:2]
    box = np.array([tx + s * fx0, ty + s * fy0, tx + s * fx1, ty + s * fy1], np.float32)
    inside = (min(box[2], w) - max(box[0], 0)) * (min(box[3], h) - max(box[1], 0))
    visible = inside > 0.5 * (box[2] - box[0]) * (box[3] - box[1])
    return box if visible else np.full(4, np.nan, np.float32)


def _placements(motion: Motion, t: float, w: int, h: int) -> list[tuple[_Head, float, tuple[float, float]]]:
    """(head, face height, centre) per face at time ``t`` seconds."""
    base = 0.32 * h
    if motion is Motion.STILL:
        return [(_HEADS[0], base, (0.5 * w, 0.5 * h))]
    if motion is Motion.MOVE:
        return [(_HEADS[0], base, (w * (0.5 + 0.3 * np.sin(2 * np.pi * 0.5 * t)),
                                   h * (0.5 + 0.15 * np.sin(2 * np.pi * 0.35 * t))))]
    if motion is Motion.ZOOM:
        return [(_HEADS[1], base * (1.0 - 0.4 * np.cos(2 * np.pi * 0.5 * t)), (0.5 * w, 0.5 * h))]
    if motion is Motion.EXIT_REENTER:
        # Over 1.2 s: centre -> 1.5 w (gone from 0.3 s to 0.9 s) -> centre.
        x = 0.5 + 1.0 * np.sin(np.pi * min(t, 1.2) / 1.2) ** 2
        return [(_HEADS[0], base, (w * x, 0.5 * h))]
    face = 0.26 * h
    return [(head, face, (w * (0.2 + 0.3 * k) + 0.03 * w * np.sin(2 * np.pi * 0.4 * t + k),
                          h * (0.45 + 0.05 * np.cos(2 * np.pi * 0.3 * t + k))))
            for k, head in enumerate(_HEADS)]


def make_clip(motion: Motion, size_wh: tuple[int, int] = (640, 480), n_frames: int = 30,
              *, fps: float = 30.0, noise_sigma: float = 2.0, seed: int = 0) -> SyntheticClip:
    """Renders a clip of ``n_frames`` frames.

    Args:
        motion: What the faces do.
        size_wh: Frame (width, height) in pixels, at least 64 each.
        n_frames: Number of frames, >= 1.
        fps: Frame rate the motion is timed for.
        noise_sigma: Std-dev of per-frame Gaussian sensor noise, in 8-bit levels.
        seed: Noise seed.

    Raises:
        FaceMaskError: Bad size or frame count.
    """
    w, h = size_wh
    if min(w, h) < 64 or n_frames < 1:
        raise FaceMaskError(f"make_clip needs size_wh >= 64x64 and n_frames >= 1, got {size_wh}, {n_frames}")
    bg = cv2.resize(load_sample("coffee"), (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    frames, boxes = [], []
    for i in range(n_frames):
        frame = bg.copy()
        boxes.append([_paste(frame, head, fh, c) for head, fh, c in _placements(motion, i / fps, w, h)])
        noise = np.empty((h, w * 3), np.float32)
        cv2.setRNGSeed(seed * 1_000_003 + i)
        cv2.randn(noise, np.array([0.0]), np.array([noise_sigma]))
        frame += noise.reshape(h, w, 3)
        frames.append(np.clip(frame + 0.5, 0, 255).astype(np.uint8))
    return SyntheticClip(tuple(frames), np.asarray(boxes, np.float32), fps)


def write_mp4(path: str | os.PathLike[str], frames_rgb: tuple[NDArray[np.uint8], ...] | list[NDArray[np.uint8]],
              fps: float = 30.0) -> Path:
    """Encodes RGB frames as an MPEG-4 Part 2 ``.mp4`` with OpenCV, atomically.

    Raises:
        FaceMaskError: No frames, frames of different sizes, or no mp4 encoder.
    """
    p = Path(path)
    if not frames_rgb:
        raise FaceMaskError(f"cannot write {p}: no frames")
    h, w = frames_rgb[0].shape[:2]
    with atomic_path(p, suffix=".mp4") as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
        try:
            if not writer.isOpened():
                raise FaceMaskError(f"cannot write {p}: OpenCV has no mp4v encoder here")
            for i, frame in enumerate(frames_rgb):
                rgb = to_rgb(frame, name=f"frame {i}")
                if rgb.shape[:2] != (h, w):
                    raise FaceMaskError(f"cannot write {p}: frame {i} is {rgb.shape[1]}x{rgb.shape[0]}, not {w}x{h}")
                writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        finally:
            writer.release()
    return p


def read_video_rgb(path: str | os.PathLike[str]) -> list[NDArray[np.uint8]]:
    """Decodes every frame of a video file as HxWx3 uint8 RGB.

    Raises:
        FaceMaskError: The file is missing or has no decodable frame.
    """
    p = Path(path)
    if not p.is_file():
        raise FaceMaskError(f"cannot open {p}: not found")
    cap = cv2.VideoCapture(str(p))
    frames = []
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(cast(NDArray[np.uint8], cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    finally:
        cap.release()
    if not frames:
        raise FaceMaskError(f"cannot decode {p}: no video frames; is it a video file?")
    return frames
