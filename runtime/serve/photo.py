"""Photo work for the pages: fast screen-size previews, zoomed faces, full-resolution results.

Everything here runs on the job queue's one thread. A preview deblurs the screen-size copy
once per (photo, size, mode, face priority) at full strength and caches it; moving the
strength slider only re-blends (strength is a linear blend in sRGB, as in
``runtime.photo.deblur``), so it costs milliseconds. Faces are zoomed from the
full-resolution photo: each face's crop (with context) goes through the same method.
"""
from __future__ import annotations

import base64
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.engines.base import EngineConfig
from runtime.errors import ConfigError, parse_choice
from runtime.photo.deblur import DeblurConfig, Deblurer, Mode
from runtime.photo.kernel_aware import KernelMethod
from runtime.photo.imageio import WRITE_FORMATS, LoadedImage, encode_image, read_image
from runtime.serve.uploads import Upload

if TYPE_CHECKING:
    from facemask.detector import FaceDetector
    from runtime.photo.faces import PhotoFaces

MAX_ZOOMED_FACES = 4
ZOOM_SIDE_PX = 256
"""Long side of each zoomed face panel in the page."""
ZOOM_MAX_CROP_PX = 384
"""Largest full-resolution square shown per face; a bigger face is cut around the eyes."""
EYES_AT = 0.42
"""Height of the eyes in a face box, as a share of the box from its top."""
FACE_CONTEXT = 0.5
"""Context around a face crop, as a share of its side, so tile borders fall outside it."""
PREVIEW_CACHE = 8


@dataclass(frozen=True, slots=True)
class Preset:
    """What the user picked: the blur to target, how strongly, and face priority."""

    mode: Mode = Mode.AUTO
    strength: float = 1.0
    faces: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", parse_choice(Mode, self.mode, "mode"))
        s = self.strength
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 <= s <= 1:
            raise ConfigError(f"strength {s!r} is outside [0, 1]; 0 = unchanged, 1 = full deblur")
        object.__setattr__(self, "strength", float(s))

    @classmethod
    def parse(cls, mode: object, strength: object, faces: object) -> Preset:
        """From form or JSON values (strings allowed).

        Raises:
            ConfigError: unknown mode, strength not a number in [0, 1].
        """
        try:
            value = float(strength) if strength not in (None, "") else 1.0  # type: ignore[arg-type]
        except (TypeError, ValueError) as e:
            raise ConfigError(f"strength {strength!r} is not a number; use 0 to 1") from e
        flag = str(faces).lower() in ("1", "true", "on", "yes") if faces is not None else False
        return cls(mode if mode not in (None, "") else Mode.AUTO, value, flag)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class FaceZoom:
    """One face: its box in preview fractions (x0, y0, x1, y1) and zoomed JPEGs."""

    box_norm: tuple[float, float, float, float]
    before_jpeg: bytes
    after_jpeg: bytes


@dataclass(frozen=True, slots=True)
class Preview:
    """A preview at one strength: JPEGs of the screen-size photo before and after."""

    before_jpeg: bytes
    after_jpeg: bytes
    faces: list[FaceZoom]
    label: str
    size_wh: tuple[int, int]
    compute_ms: float
    blend_ms: float

    def to_json(self) -> dict[str, object]:
        return {"before": data_url(self.before_jpeg), "after": data_url(self.after_jpeg),
                "faces": [{"box": f.box_norm, "before": data_url(f.before_jpeg), "after": data_url(f.after_jpeg)}
                          for f in self.faces],
                "label": self.label, "width": self.size_wh[0], "height": self.size_wh[1],
                "compute_ms": round(self.compute_ms, 1), "blend_ms": round(self.blend_ms, 1)}


@dataclass(frozen=True, slots=True, eq=False)
class _Zoom:
    """One face's zoom: its box, the 'before' JPEG, and before/after at full strength."""

    box_norm: tuple[float, float, float, float]
    before_jpeg: bytes
    before: NDArray[np.float32]
    after: NDArray[np.float32]


@dataclass(frozen=True, slots=True, eq=False)
class _Base:
    """Full-strength results of one (photo, size, mode, faces), blended per strength."""

    before: NDArray[np.float32]
    before_jpeg: bytes
    after: NDArray[np.float32]
    zooms: list[_Zoom]
    label: str
    compute_ms: float


def data_url(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def jpeg(rgb: NDArray[np.float32], quality: int = 90) -> bytes:
    u8 = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ConfigError("JPEG encoding failed")
    return buf.tobytes()


def blend(before: NDArray[np.float32], after: NDArray[np.float32], strength: float) -> NDArray[np.float32]:
    return before + np.float32(strength) * (after - before)


def fit(rgb: NDArray[np.float32], side_px: int) -> NDArray[np.float32]:
    """``rgb`` scaled down (area filter) so its long side is at most ``side_px``."""
    h, w = rgb.shape[:2]
    scale = side_px / max(h, w)
    if scale >= 1:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), np.float32)


class PhotoWorker:
    """Keeps models loaded between requests; call only from the job queue's thread."""

    def __init__(self, model: str | Path, models_dir: Path, threads: int) -> None:
        self._config = DeblurConfig(model=model, models_dir=models_dir, engine=EngineConfig(threads=threads))
        self._deblurers: dict[Mode, Deblurer] = {}
        self._faces: PhotoFaces | None = None
        self._detector: FaceDetector | None = None
        self._bases: OrderedDict[tuple[object, ...], _Base] = OrderedDict()
        self._loaded: tuple[str, LoadedImage] | None = None

    def _load(self, upload: Upload) -> LoadedImage:
        if self._loaded is None or self._loaded[0] != upload.id:
            self._loaded = None                     # free the last photo before decoding the next
            self._loaded = (upload.id, read_image(upload.path))
        return self._loaded[1]

    def _deblurer(self, mode: Mode) -> Deblurer:
        if mode not in self._deblurers:
            self._deblurers[mode] = Deblurer(replace(self._config, mode=mode))
        return self._deblurers[mode]

    def _photo_faces(self) -> PhotoFaces:
        if self._faces is None:
            from runtime.photo.faces import PhotoFaces, PhotoFacesConfig

            self._faces = PhotoFaces(PhotoFacesConfig(model=self._config.model, engine=self._config.engine))
        return self._faces

    def _face_boxes(self, rgb: NDArray[np.float32]) -> NDArray[np.float32]:
        if self._detector is None:
            from facemask.detector import FaceDetector
            from facemask.options import RunningMode
            from runtime.video.pipeline import DEFAULT_DETECTOR

            self._detector = FaceDetector.create_from_options(replace(DEFAULT_DETECTOR, running_mode=RunningMode.IMAGE))
        u8 = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
        return np.asarray(self._detector.process(u8).boxes_xyxy, np.float32)

    def full_strength(self, rgb: NDArray[np.float32], mode: Mode, faces: bool
                      ) -> tuple[NDArray[np.float32], NDArray[np.float32] | None, str]:
        """(result at strength 1, face boxes when face priority found them, what produced it)."""
        if faces:
            res = self._photo_faces().deblur(rgb)
            n = len(res.face_boxes_xyxy)
            return res.image, res.face_boxes_xyxy, f"face priority ({n} face{'' if n == 1 else 's'})"
        out = self._deblurer(mode).deblur_image(rgb)
        ka = out.kernel_aware
        if out.model_id is None and ka is not None and ka.method is KernelMethod.SHARP:
            return out.image, None, "unchanged: looks sharp at this size"
        return out.image, None, f"{out.label} ({out.mode_used.value})"

    def preview(self, upload: Upload, preset: Preset, side_px: int) -> Preview:
        """The screen-size preview at ``preset.strength`` (computed once per mode and faces)."""
        key = (upload.id, side_px, preset.mode, preset.faces)
        base = self._bases.get(key)
        if base is None:
            base = self._base(upload, preset, side_px)
            self._bases[key] = base
            while len(self._bases) > PREVIEW_CACHE:
                self._bases.popitem(last=False)
        self._bases.move_to_end(key)
        t = time.perf_counter()
        after = jpeg(blend(base.before, base.after, preset.strength))
        zooms = [FaceZoom(z.box_norm, z.before_jpeg, jpeg(blend(z.before, z.after, preset.strength)))
                 for z in base.zooms]
        blend_ms = (time.perf_counter() - t) * 1e3
        h, w = base.before.shape[:2]
        return Preview(base.before_jpeg, after, zooms, base.label, (w, h), base.compute_ms, blend_ms)

    def _base(self, upload: Upload, preset: Preset, side_px: int) -> _Base:
        t = time.perf_counter()
        full = self._load(upload).rgb
        small = fit(full, side_px)
        after, boxes, label = self.full_strength(small, preset.mode, preset.faces)
        if boxes is None:
            boxes = self._face_boxes(small)
        zooms = self._zooms(full, small.shape[:2], boxes, preset)
        return _Base(small, jpeg(small), after, zooms, label, (time.perf_counter() - t) * 1e3)

    def _zooms(self, full: NDArray[np.float32], small_hw: tuple[int, ...], boxes: NDArray[np.float32],
               preset: Preset) -> list[_Zoom]:
        """Each of the largest faces, cut from the full-resolution photo, before and after.

        A face larger than ``ZOOM_MAX_CROP_PX`` is cut around its eyes at that size, so the
        zoom stays at full resolution and costs at most a ~1 MP deblur.
        """
        h, w = full.shape[:2]
        sy, sx = h / small_hw[0], w / small_hw[1]
        order = sorted(boxes.tolist(), key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))[:MAX_ZOOMED_FACES]
        zooms = []
        for x0, y0, x1, y1 in order:
            fx0, fy0, fx1, fy1 = x0 * sx, y0 * sy, x1 * sx, y1 * sy
            side = 1.3 * max(fx1 - fx0, fy1 - fy0)
            cx, cy = (fx0 + fx1) / 2, (fy0 + fy1) / 2
            if side > ZOOM_MAX_CROP_PX:
                side, cy = ZOOM_MAX_CROP_PX, fy0 + EYES_AT * (fy1 - fy0)
            pad = side * (0.5 + FACE_CONTEXT)
            a, b = int(max(0, cx - pad)), int(max(0, cy - pad))
            c, d = int(min(w, cx + pad)), int(min(h, cy + pad))
            if c - a < 16 or d - b < 16:
                continue
            crop = full[b:d, a:c]
            done, _, _ = self.full_strength(crop, preset.mode, preset.faces)
            ia, ib = int(max(0, cx - side / 2)) - a, int(max(0, cy - side / 2)) - b
            ic, id_ = int(min(w, cx + side / 2)) - a, int(min(h, cy + side / 2)) - b
            before, after = (fit_up(im[ib:id_, ia:ic], ZOOM_SIDE_PX) for im in (crop, done))
            box = tuple(round(v, 4) for v in (x0 / small_hw[1], y0 / small_hw[0], x1 / small_hw[1], y1 / small_hw[0]))
            zooms.append(_Zoom(box, jpeg(before), before, after))  # type: ignore[arg-type]
        return zooms

    def render(self, upload: Upload, preset: Preset) -> tuple[bytes, str]:
        """The full-resolution result as file bytes in the input's format, and its file name."""
        loaded = self._load(upload)
        after, _, _ = self.full_strength(loaded.rgb, preset.mode, preset.faces)
        out = blend(loaded.rgb, after, preset.strength)
        suffix = upload.path.suffix.lower()
        suffix = suffix if suffix in WRITE_FORMATS and (loaded.alpha is None or WRITE_FORMATS[suffix][2]) else ".png"
        name = f"{Path(upload.name).stem}.sharp{suffix}"
        return encode_image(Path(name), out, loaded.alpha, loaded.meta), name

    def close(self) -> None:
        for d in self._deblurers.values():
            d.close()
        if self._faces is not None:
            self._faces.close()
        if self._detector is not None:
            self._detector.close()


def fit_up(rgb: NDArray[np.float32], side_px: int) -> NDArray[np.float32]:
    """``rgb`` scaled so its long side is ``side_px`` (nearest when enlarging: pixels stay visible)."""
    h, w = rgb.shape[:2]
    scale = side_px / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_NEAREST if scale >= 2 else cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(rgb, size, interpolation=interp), np.float32)
