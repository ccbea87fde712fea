"""A 720p "video call" clip built at benchmark time from a real face photo.

The repository holds no talking-head clip, and the training photos must not be copied into
it, so the runtime benchmark builds one when it runs: a real face photo from a folder outside
the repository (default ``/work/shared/train_photos/faces``; the package photo of Grace
Hopper when that folder is absent) is scaled so the face's landmark box covers ~7 % of a
1280x720 frame (a webcam at arm's length), set in a defocused "room" (its own edges
stretched and blurred) that fills the frame, and moved
gently (a few pixels of sway and a 1 % breathing zoom). The sharp variant is those frames;
the blurred ones add one kernel (``BLURS``: camera shake, a defocus disc or the Gaussian of
a soft-focus lens, in linear light) and sensor noise. ``RealClip`` has the accessors
of ``benchmarks.videos.FaceVideo`` (``sharp_frame``, ``face_boxes``), so the benchmark's
ground-truth and probes work on it unchanged.

Example:
    >>> clip = make_real_clip(tmp / "real.sharp.mp4", blur=None)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.lab.sample_images import load_sample
from runtime.video.sinks import VideoFileSink, VideoSinkConfig
from runtime.video.frames import Frame
from runtime.lab.degradations import degrade
from runtime.photo.kernels import camera_shake_kernel, defocus_kernel, gaussian_kernel

DEFAULT_PHOTOS = Path("/work/shared/train_photos/faces")
FACE_AREA_FRAC = 0.07
"""Landmark-box area as a fraction of the frame: ~254 px square at 720p (a webcam at arm's
length); ``benchmarks.large_faces`` builds larger ones (a phone held close)."""
SIZE_WH = (1280, 720)
BLURS = ("shake", "defocus", "soft")
"""Blurred variants: 9-px camera shake (as the generated benchmark videos at 720p), a
radius-3 defocus disc, a sigma-2 Gaussian (soft focus)."""
_MIN_SOURCE_FACE_PX = 320
"""Photos whose face is smaller would be upscaled (soft): skipped while a larger one exists."""


@dataclass(frozen=True, slots=True)
class _Scene:
    image: NDArray[np.float32]          # the scaled photo in its blurred surround, beyond the frame
    face_xyxy: tuple[float, float, float, float]   # in scene pixels
    source: str


def _face_box(image_rgb: NDArray[np.uint8]) -> NDArray[np.float32] | None:
    from facemask.detector import FaceDetector
    from facemask.options import FaceDetectorOptions

    with FaceDetector.create_from_options(FaceDetectorOptions(max_faces=1)) as det:
        faces = det.process(image_rgb)
    return faces.boxes_xyxy[0] if len(faces) else None


def _pick_photo(photos: Path | None, min_face_px: float) -> tuple[NDArray[np.uint8], NDArray[np.float32], str]:
    """The first photo (sorted by name) whose one face is at least ``min_face_px``, else the
    one with the largest face (it will be upscaled); the package fallback."""
    from facemask.image import read_image_rgb

    largest: tuple[float, Path, NDArray[np.uint8], NDArray[np.float32]] | None = None
    if photos is not None and photos.is_dir():
        for path in sorted(p for p in photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
            image = read_image_rgb(path)
            box = _face_box(image)
            side = 0.0 if box is None else float(min(box[2] - box[0], box[3] - box[1]))
            if box is not None and side >= min_face_px:
                return image, box, path.name
            if box is not None and side >= _MIN_SOURCE_FACE_PX and (largest is None or side > largest[0]):
                largest = (side, path, image, box)
    if largest is not None:
        side, path, image, box = largest
        return image, box, f"{path.name} (face upscaled {min_face_px / side:.2f}x)"
    image = load_sample("grace_hopper")
    box = _face_box(image)
    if box is None:
        raise RuntimeError("no face found in the fallback photo grace_hopper")
    return image, box, "grace_hopper (package photo)"


@lru_cache(maxsize=8)
def _scene(photos: Path | None, face_area: float = FACE_AREA_FRAC) -> _Scene:
    w, h = SIZE_WH
    side = math.sqrt(face_area * w * h)
    image, box, name = _pick_photo(photos, max(side, _MIN_SOURCE_FACE_PX))
    scale = side / max(box[2] - box[0], box[3] - box[1])
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=interp)
    fx0, fy0, fx1, fy1 = (float(v) * scale for v in box)
    # face centre goes to (w/2, 0.45 h) of a scene 64 px larger than the frame on each side
    pad = 64
    cx, cy = (fx0 + fx1) / 2, (fy0 + fy1) / 2
    left, top = int(round(w / 2 + pad - cx)), int(round(0.45 * h + pad - cy))
    sh, sw = small.shape[:2]
    pads = (max(0, top), max(0, h + 2 * pad - top - sh), max(0, left), max(0, w + 2 * pad - left - sw))
    big = cv2.copyMakeBorder(small, *pads, borderType=cv2.BORDER_REPLICATE).astype(np.float32) / 255.0
    inside = cv2.copyMakeBorder(np.ones(small.shape[:2], np.float32), *pads, borderType=cv2.BORDER_CONSTANT, value=0)
    inside = cv2.GaussianBlur(cv2.erode(inside, np.ones((25, 25), np.uint8)), (0, 0), 8)[..., None]
    wall = cv2.GaussianBlur(big, (0, 0), 40)      # an out-of-focus room around the photo: no second face
    big = inside * big + (1 - inside) * wall
    y0, x0 = pads[0] - top, pads[2] - left
    scene = big[y0:y0 + h + 2 * pad, x0:x0 + w + 2 * pad]
    off = (left - pad, top - pad)
    return _Scene(np.ascontiguousarray(scene), (fx0 + off[0] + pad, fy0 + off[1] + pad,
                                                 fx1 + off[0] + pad, fy1 + off[1] + pad), name)


@dataclass(frozen=True, slots=True)
class RealClip:
    """A generated real-face clip and its ground truth (see module docstring)."""

    path: Path
    photos: Path | None
    n_frames: int
    fps: float
    blur: str | None
    seed: int
    size_wh: tuple[int, int] = SIZE_WH
    face_area: float = FACE_AREA_FRAC

    @property
    def source(self) -> str:
        """Name of the photo the clip was built from."""
        return _scene(self.photos, self.face_area).source

    def _affine(self, i: int) -> NDArray[np.float64]:
        """Scene -> frame: sway of a few pixels and a 1 % breathing zoom about the face."""
        t = i / self.fps
        scene = _scene(self.photos, self.face_area)
        fx0, fy0, fx1, fy1 = scene.face_xyxy
        c = np.array([(fx0 + fx1) / 2, (fy0 + fy1) / 2])
        zoom = 1.0 + 0.01 * math.sin(2 * math.pi * 0.2 * t)
        shift = np.array([6.0 * math.sin(2 * math.pi * 0.25 * t), 3.0 * math.sin(2 * math.pi * 0.17 * t + 1.0)])
        pad = 64
        m = np.zeros((2, 3))
        m[0, 0] = m[1, 1] = zoom
        m[:, 2] = c - zoom * c + shift - pad
        return m

    def _render(self, i: int) -> NDArray[np.float32]:
        w, h = self.size_wh
        return cv2.warpAffine(_scene(self.photos, self.face_area).image, self._affine(i), (w, h),
                              flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT_101)

    def sharp_frame(self, i: int) -> NDArray[np.uint8]:
        """Frame ``i`` before degradation: HxWx3 uint8 RGB."""
        return _to_u8(self._render(i))

    def face_boxes(self, i: int) -> NDArray[np.float32]:
        """(1, 4) float32 true face box of frame ``i``."""
        x0, y0, x1, y1 = _scene(self.photos, self.face_area).face_xyxy
        m = self._affine(i)
        pts = np.array([[x0, y0, 1.0], [x1, y1, 1.0]]) @ m.T
        return pts.reshape(1, 4).astype(np.float32)

    def input_frame(self, i: int) -> NDArray[np.uint8]:
        """Frame ``i`` as encoded: sharp, or blurred by ``blur`` plus noise."""
        sharp = self._render(i)
        if self.blur is None:
            return _to_u8(sharp)
        kernel = _kernel(self.blur, self.seed)
        return _to_u8(degrade(sharp, kernel, np.random.default_rng([self.seed, 2, i]), srgb_noise_sigma=0.01))


def _kernel(blur: str, seed: int) -> NDArray[np.float32]:
    """The kernel of one of ``BLURS``."""
    if blur == "shake":
        return camera_shake_kernel(np.random.default_rng([seed, 1]), 9.0)
    if blur == "defocus":
        return defocus_kernel(3.0)
    if blur == "soft":
        return gaussian_kernel(2.0)
    raise ValueError(f"blur {blur!r} is not one of {BLURS} or None")


def _to_u8(img: NDArray[np.float32]) -> NDArray[np.uint8]:
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def make_real_clip(path: Path, *, photos: Path | None = DEFAULT_PHOTOS, blur: str | None, n_frames: int = 60,
                   fps: float = 30.0, seed: int = 0, crf: int = 18, face_area: float = FACE_AREA_FRAC) -> RealClip:
    """Render and encode the clip (H.264 at ``crf``, a typical webcam bitrate); ``face_area``:
    the face's landmark-box area as a fraction of the frame."""
    clip = RealClip(path, photos, n_frames, fps, blur, seed, face_area=face_area)
    with VideoFileSink(path, VideoSinkConfig(fps=fps, crf=crf, preset="veryfast")) as sink:
        for i in range(n_frames):
            sink.write(Frame(clip.input_frame(i), i, i * 1000.0 / fps))
    return clip
