"""Photo work for the pages: fast screen-size previews, zoomed faces, full-resolution results.

Everything here runs on the job queue's one thread. A preview deblurs the screen-size copy
once per (photo, size, deblur settings, face priority) at full strength and caches it;
moving the strength slider only re-blends (strength is a linear blend in sRGB, as in
``runtime.photo.deblur``), so it costs milliseconds. Faces are zoomed from the
full-resolution photo: each face's crop (with context) goes through the same method.

Denoise and upscale (the restore chain of ``runtime.photo.chain``) run on the deblurred
photo at strengths 0 and 1 once per chain setting, and the slider blends those two: exact
at both ends and a preview in between, where the download runs the chain on the blended
photo itself, as ``edgedeblur deblur`` does.
"""
from __future__ import annotations

import base64
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, TypeVar

import cv2
import numpy as np
from numpy.typing import NDArray

from runtime.engines import create_engine
from runtime.engines.base import Engine, EngineConfig
from runtime.errors import ConfigError
from runtime.photo.chain import RestoreConfig, finish
from runtime.photo.deblur import DeblurConfig, Deblurer
from runtime.photo.kernel_aware import KernelMethod
from runtime.photo.imageio import WRITE_FORMATS, LoadedImage, alpha_for, encode_image, read_image
from runtime.serve.settings import PhotoSettings, parse_settings
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
"""Deblurred previews (per photo, size and deblur settings) kept for the strength slider."""
CHAIN_CACHE = 4
"""Their denoised ends (two more screen-size images each) kept per chain setting."""
LOADED_DEBLURERS = 4
"""Deblur settings (model, mode, method, tiles) whose pipelines stay loaded."""
DEFAULT_MAX_OUTPUT_PIXELS = 100_000_000
"""Largest result (after upscaling) the server writes: about 1.2 GB as float RGB."""
T = TypeVar("T")


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
    """One face's zoom: its box, and the shown square before and after at full strength."""

    box_norm: tuple[float, float, float, float]
    before: NDArray[np.float32]
    after: NDArray[np.float32]


@dataclass(frozen=True, slots=True, eq=False)
class _Base:
    """Deblurred at full strength, once per (photo, size, deblur settings, faces)."""

    before: NDArray[np.float32]
    before_jpeg: bytes
    after: NDArray[np.float32]
    zooms: list[_Zoom]
    label: str
    compute_ms: float


@dataclass(frozen=True, slots=True, eq=False)
class _Ends:
    """A ``_Base`` after the chain's later links, at strengths 0 and 1 of the deblur: the
    slider blends these, so it stays at a few milliseconds with denoise and upscale on.
    Each zoom is (box, before JPEG, low, high), the images at panel size."""

    low: NDArray[np.float32]
    high: NDArray[np.float32]
    zooms: list[tuple[tuple[float, float, float, float], bytes, NDArray[np.float32], NDArray[np.float32]]]
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
    """Keeps models loaded between requests; call only from the job queue's thread
    (``settings`` alone may be called from any thread: it loads nothing)."""

    def __init__(self, model: str | Path, models_dir: Path, threads: int,
                 max_output_pixels: int = DEFAULT_MAX_OUTPUT_PIXELS) -> None:
        self._config = DeblurConfig(model=model, models_dir=models_dir, engine=EngineConfig(threads=threads))
        self.max_output_pixels = max_output_pixels
        self._deblurers: OrderedDict[tuple[object, ...], Deblurer] = OrderedDict()
        self._faces: dict[str, PhotoFaces] = {}
        self._engines: dict[str, Engine] = {}
        self._detector: FaceDetector | None = None
        self._bases: OrderedDict[tuple[object, ...], _Base] = OrderedDict()
        self._ends: OrderedDict[tuple[object, ...], _Ends] = OrderedDict()
        self._loaded: tuple[str, LoadedImage] | None = None

    def settings(self, values: Mapping[str, object]) -> PhotoSettings:
        """A request's settings over this server's model (see ``parse_settings``)."""
        return parse_settings(values, self._config)

    def _load(self, upload: Upload) -> LoadedImage:
        if self._loaded is None or self._loaded[0] != upload.id:
            self._loaded = None                     # free the last photo before decoding the next
            self._loaded = (upload.id, read_image(upload.path))
        return self._loaded[1]

    def _deblurer(self, config: DeblurConfig) -> Deblurer:
        key = _deblur_key(config)
        if key not in self._deblurers:
            self._deblurers[key] = Deblurer(config)
            while len(self._deblurers) > LOADED_DEBLURERS:
                self._deblurers.popitem(last=False)[1].close()
        self._deblurers.move_to_end(key)
        return self._deblurers[key]

    def _photo_faces(self, config: DeblurConfig) -> PhotoFaces:
        key = str(config.model)
        if key not in self._faces:
            from runtime.photo.faces import PhotoFaces, PhotoFacesConfig

            self._faces[key] = PhotoFaces(PhotoFacesConfig(model=config.model, models_dir=config.models_dir,
                                                           engine=config.engine))
        return self._faces[key]

    def _engine(self, model: str | Path) -> Engine:
        """A loaded denoise or upscale engine, kept for the next request."""
        key = str(model)
        if key not in self._engines:
            self._engines[key] = create_engine(model, self._config.engine, models_dir=self._config.models_dir)
        return self._engines[key]

    def _face_boxes(self, rgb: NDArray[np.float32]) -> NDArray[np.float32]:
        if self._detector is None:
            from facemask.detector import FaceDetector
            from facemask.options import RunningMode
            from runtime.video.pipeline import DEFAULT_DETECTOR

            self._detector = FaceDetector.create_from_options(replace(DEFAULT_DETECTOR, running_mode=RunningMode.IMAGE))
        u8 = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
        return np.asarray(self._detector.process(u8).boxes_xyxy, np.float32)

    def full_strength(self, rgb: NDArray[np.float32], settings: PhotoSettings
                      ) -> tuple[NDArray[np.float32], NDArray[np.float32] | None, str]:
        """(deblurred at strength 1, face boxes when face priority found them, what produced it)."""
        config = settings.full_strength
        if settings.faces:
            res = self._photo_faces(config).deblur(rgb)
            n = len(res.face_boxes_xyxy)
            return res.image, res.face_boxes_xyxy, f"face priority ({n} face{'' if n == 1 else 's'})"
        out = self._deblurer(config).deblur_image(rgb)
        ka = out.kernel_aware
        if out.model_id is None and ka is not None and ka.method is KernelMethod.SHARP:
            return out.image, None, "unchanged: looks sharp at this size"
        return out.image, None, f"{out.label} ({out.mode_used.value})"

    def _finish(self, rgb: NDArray[np.float32], restore: RestoreConfig) -> tuple[NDArray[np.float32], str]:
        """The chain's links after deblurring, and their labels."""
        out, links, _ = finish(rgb, restore, self._engine)
        return out, "".join(f" · {r.label}" for r in links)

    def preview(self, upload: Upload, settings: PhotoSettings, side_px: int) -> Preview:
        """The screen-size preview at the settings' strength.

        Deblurring runs once per photo, size and deblur settings; denoise and upscale once
        more per chain setting. The preview photo is denoised but kept at screen size; each
        face zoom also goes through the upscaler, so the panels show its pixels.
        """
        key = (upload.id, side_px, _deblur_key(settings.full_strength), settings.faces)
        base = _cached(self._bases, key, lambda: self._base(upload, settings, side_px), PREVIEW_CACHE)
        chain_key = (*key, *_chain_key(settings.restore))
        ends = _cached(self._ends, chain_key, lambda: self._ends_of(base, settings.restore), CHAIN_CACHE)
        t = time.perf_counter()
        after = jpeg(blend(ends.low, ends.high, settings.strength))
        zooms = [FaceZoom(box, before, jpeg(blend(low, high, settings.strength)))
                 for box, before, low, high in ends.zooms]
        blend_ms = (time.perf_counter() - t) * 1e3
        h, w = base.before.shape[:2]
        return Preview(base.before_jpeg, after, zooms, base.label + ends.label, (w, h),
                       base.compute_ms + ends.compute_ms, blend_ms)

    def _base(self, upload: Upload, settings: PhotoSettings, side_px: int) -> _Base:
        t = time.perf_counter()
        full = self._load(upload).rgb
        small = fit(full, side_px)
        after, boxes, label = self.full_strength(small, settings)
        if boxes is None:
            boxes = self._face_boxes(small)
        zooms = self._zooms(full, small.shape[:2], boxes, settings)
        return _Base(small, jpeg(small), after, zooms, label, (time.perf_counter() - t) * 1e3)

    def _ends_of(self, base: _Base, restore: RestoreConfig) -> _Ends:
        t = time.perf_counter()
        if not restore.chained:
            zooms = []
            for z in base.zooms:
                before = fit_up(z.before, ZOOM_SIDE_PX)
                zooms.append((z.box_norm, jpeg(before), before, fit_up(z.after, ZOOM_SIDE_PX)))
            return _Ends(base.before, base.after, zooms, "", 0.0)
        screen = replace(restore, upscale=1)
        low, _ = self._finish(base.before, screen)
        high, label = self._finish(base.after, screen)
        zooms = []
        for z in base.zooms:
            cut = _centre(z.before.shape[:2], restore.upscale)
            before = fit_up(z.before[cut], ZOOM_SIDE_PX)
            ends = [fit_up(self._finish(im[cut], restore)[0], ZOOM_SIDE_PX) for im in (z.before, z.after)]
            zooms.append((z.box_norm, jpeg(before), *ends))
        if restore.upscale > 1:
            label += f" · zoom x{restore.upscale}"
        return _Ends(low, high, zooms, label, (time.perf_counter() - t) * 1e3)

    def _zooms(self, full: NDArray[np.float32], small_hw: tuple[int, ...], boxes: NDArray[np.float32],
               settings: PhotoSettings) -> list[_Zoom]:
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
            done, _, _ = self.full_strength(crop, settings)
            ia, ib = int(max(0, cx - side / 2)) - a, int(max(0, cy - side / 2)) - b
            ic, id_ = int(min(w, cx + side / 2)) - a, int(min(h, cy + side / 2)) - b
            box = tuple(round(v, 4) for v in (x0 / small_hw[1], y0 / small_hw[0], x1 / small_hw[1], y1 / small_hw[0]))
            zooms.append(_Zoom(box, crop[ib:id_, ia:ic], done[ib:id_, ia:ic]))  # type: ignore[arg-type]
        return zooms

    def render(self, upload: Upload, settings: PhotoSettings) -> tuple[bytes, str]:
        """The full-resolution result (deblur, then the chain) as file bytes in the input's
        format, and its file name.

        Raises:
            ConfigError: the upscaled photo would exceed ``max_output_pixels``.
        """
        loaded = self._load(upload)
        h, w = loaded.rgb.shape[:2]
        scale = settings.restore.upscale
        if h * w * scale * scale > self.max_output_pixels:
            raise ConfigError(f"{upload.name} x{scale} would be {w * scale}x{h * scale} = "
                              f"{h * w * scale * scale / 1e6:.3g} MP, over this server's "
                              f"{self.max_output_pixels / 1e6:.3g} MP; pick a smaller upscale "
                              "(or start serve with a larger --max-output-megapixels)")
        after, _, _ = self.full_strength(loaded.rgb, settings)
        out, _ = self._finish(blend(loaded.rgb, after, settings.strength), settings.restore)
        del after
        suffix = upload.path.suffix.lower()
        suffix = suffix if suffix in WRITE_FORMATS and (loaded.alpha is None or WRITE_FORMATS[suffix][2]) else ".png"
        name = f"{Path(upload.name).stem}.sharp{suffix}"
        return encode_image(Path(name), out, alpha_for(out, loaded.alpha), loaded.meta), name

    def close(self) -> None:
        for d in self._deblurers.values():
            d.close()
        for f in self._faces.values():
            f.close()
        for e in self._engines.values():
            e.close()
        if self._detector is not None:
            self._detector.close()


def _deblur_key(config: DeblurConfig) -> tuple[object, ...]:
    """What a deblur result depends on, beside the photo (the engine and folder are the server's)."""
    return str(config.model), config.mode, config.method, config.strength, config.tile, config.overlap


def _chain_key(restore: RestoreConfig) -> tuple[object, ...]:
    return (restore.denoise, restore.denoise_strength, restore.upscale, restore.upscale_strength,
            str(restore.denoise_model), str(restore.upscale_model))


def _cached(cache: OrderedDict[tuple[object, ...], T], key: tuple[object, ...], make: Callable[[], T],
            size: int) -> T:
    """``cache[key]``, made on a miss; the least recently used entries beyond ``size`` go."""
    if key not in cache:
        cache[key] = make()
        while len(cache) > size:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return cache[key]


def _centre(hw: tuple[int, ...], upscale: int) -> tuple[slice, slice]:
    """The centre ``1/upscale`` of a zoom square: upscaled, it fills the panel at about the
    size the whole square had."""
    h, w = hw
    ch, cw = max(1, h // upscale), max(1, w // upscale)
    y, x = (h - ch) // 2, (w - cw) // 2
    return slice(y, y + ch), slice(x, x + cw)


def fit_up(rgb: NDArray[np.float32], side_px: int) -> NDArray[np.float32]:
    """``rgb`` scaled so its long side is ``side_px`` (nearest when enlarging: pixels stay visible)."""
    h, w = rgb.shape[:2]
    scale = side_px / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_NEAREST if scale >= 2 else cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(rgb, size, interpolation=interp), np.float32)
