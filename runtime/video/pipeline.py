"""Face-priority deblurring: full model strength on faces, a cheaper treatment elsewhere.

Per frame: faces are tracked (facemask, VIDEO mode) and turned into square regions of
the size each face needs; the model runs on the region crops (``runtime.video.face_tiles``: the
crop as is on a dynamic-shape model, the fewest covering tiles on a static one, tiles the
mask does not reach skipped; an unchanged crop reuses its last output, ``runtime.video.crop_cache``);
the results are pasted over the background with soft masks that cover the face oval,
feather outside it and vanish before the crop border, where the model saw no real
neighbours. The background gets its own treatment: ``none`` (untouched), ``light`` (unsharp
mask, see ``runtime.video.sharpen``) or ``full`` (the model over the whole frame, tiled). Faces
and background each have a strength in [0, 1] relative to the original frame; faces can
instead take ``auto``: the strength their blur asks for (``runtime.video.face_strength``), so sharp
faces are left alone. Frames smaller than one model tile are reflect-padded for the face path.

``--faces full --background full`` with equal strengths is the full-frame baseline: no
face detection, the model tiled over the whole frame. ``runtime.video.stream`` runs a pipeline
over a whole source.

Example:
    >>> with FacePriorityPipeline(PipelineConfig(model="small.int8")) as pipe:
    ...     for frame in source:
    ...         sink.write(replace(frame, image_rgb=pipe.process(frame).image_rgb))
"""
from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType

import numpy as np
from numpy.typing import NDArray

from facemask.detector import FaceDetector
from facemask.masks import MaskConfig, region_masks
from facemask.options import DetectorModel, FaceDetectorOptions, RunningMode
from facemask.regions import FaceRegions, RegionConfig, build_regions
from facemask.result import FaceResult
from facemask.tracking import FaceTracker, TrackerConfig
from runtime.catalog import LIVE_VIDEO_MODEL, SHIPPED_DIR
from runtime.engines import Engine, EngineConfig, create_engine
from runtime.engines.tiling import TileConfig, plan_tiles, run_tiled
from runtime.errors import ConfigError, parse_choice
from runtime.video.blend import mix, paste_patches
from runtime.video.crop_cache import CropCache
from runtime.video.face_strength import FaceStrengthResult, FaceStrengths, StrengthConfig
from runtime.video.face_tiles import run_face_crop
from runtime.video.frames import Frame
from runtime.video.sharpen import UnsharpConfig, UnsharpMask
from runtime.video.stats import StageTimes

AUTO = "auto"
"""``faces_strength`` value: each face gets the strength its blur estimate asks for."""


class Treatment(str, enum.Enum):
    """What a part of the frame gets: nothing, the cheap sharpener, or the model."""

    NONE = "none"
    LIGHT = "light"
    FULL = "full"


DEFAULT_DETECTOR = FaceDetectorOptions(running_mode=RunningMode.VIDEO,
                                       detector_model=DetectorModel.FULL_RANGE,
                                       min_detection_confidence=0.4)
"""Full-range detection: at 720p a face a metre or two away is only ~10 % of the width."""

DEFAULT_REGIONS = RegionConfig(tile=256, margin=0.35, hair=0.0, exact=True)
"""Margin 0.35 of the face size: the mask ends 0.27 beyond the oval (``DEFAULT_MASKS``), the
rest is context, and the crop's edge taper keeps the model's border effects out. Exact crop
sides: pay for the face, not for a tile grid."""

DEFAULT_MASKS = MaskConfig(dilate=0.15)
"""Full strength 0.15 of the face size past the oval, so hair, ears and jaw line are deblurred
with the face instead of staying soft around it. On the three blurred real-face clips
(``benchmarks.real_clip``, 30 frames, side by side) the face box gained +0.81 / +0.85 / +1.02 dB
against +0.77 / +0.79 / +0.95 with dilate 0.05, the oval itself unchanged; 0.25 and 0.5 gave the
same as 0.15 (``benchmarks/results/runtime/real``: box +0.82 / +0.86 / +1.03 over 60 frames).
Sharp faces are left alone either way (strength 0)."""


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Everything the face-priority pipeline needs to know.

    Attributes:
        faces: treatment inside face regions.
        background: treatment of the rest of the frame.
        faces_strength: in [0, 1], how far faces move from the original towards the treated
            result, or ``"auto"``: per face, by its blur (0 for sharp faces, see ``strength``).
        background_strength: the same for the background.
        model: shipped model name (``small``, ``nano.int8``...) or a model file path.
        models_dir: folder whose manifest names the shipped models.
        engine: backend and threads for the model.
        detector: face detector options (VIDEO mode for video, IMAGE for unrelated stills).
        regions: face crop sizing; ``tile`` is replaced by a static model's input size.
        masks: soft-mask shape.
        tracker: landmark smoothing and fade in/out between video frames (VIDEO mode);
            ``None`` uses the detector's raw faces.
        light: the unsharp mask used by ``light``.
        strength: how ``auto`` turns blur estimates into strengths along face tracks.
        reuse_crops: reuse the model output of a face crop that barely changed (video): half
            the model time, for 0.04-0.08 dB on a moving face; ``run`` does it for live
            sources only (``benchmarks/results/runtime/real``).
        tiles: tiling of the whole frame for ``--background full``. 256-px tiles, the
            size the models are trained at: a dynamic-size model run over a whole 720p frame
            in one pass scored 0.4-0.9 dB lower on faces than the same model on tiles
            (benchmarks/results/runtime). Static-size models tile at their own input size.
    """

    faces: Treatment = Treatment.FULL
    background: Treatment = Treatment.NONE
    faces_strength: float | str = 1.0
    background_strength: float = 1.0
    model: str | Path = LIVE_VIDEO_MODEL
    models_dir: Path = SHIPPED_DIR
    engine: EngineConfig = field(default_factory=EngineConfig)
    detector: FaceDetectorOptions = DEFAULT_DETECTOR
    regions: RegionConfig = DEFAULT_REGIONS
    masks: MaskConfig = DEFAULT_MASKS
    tracker: TrackerConfig | None = field(default_factory=TrackerConfig)
    light: UnsharpConfig = field(default_factory=UnsharpConfig)
    tiles: TileConfig = field(default_factory=TileConfig)
    strength: StrengthConfig = field(default_factory=StrengthConfig)
    reuse_crops: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "faces", parse_choice(Treatment, self.faces, "`faces`"))
        object.__setattr__(self, "background", parse_choice(Treatment, self.background, "`background`"))
        for name in ("faces_strength", "background_strength"):
            v = getattr(self, name)
            if name == "faces_strength" and v == AUTO:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise ConfigError(f"--{name.replace('_', '-')} {v!r} must be a number in [0, 1]"
                                  + (" or 'auto'" if name == "faces_strength" else ""))

    @property
    def auto_strength(self) -> bool:
        """Whether faces take the strength their blur asks for."""
        return self.faces_strength == AUTO

    @property
    def needs_faces(self) -> bool:
        """Faces need their own pass unless they would get exactly the background's treatment."""
        return (self.faces, self.faces_strength) != (self.background, self.background_strength)

    @property
    def needs_model(self) -> bool:
        """Whether any part of the frame runs the model."""
        return Treatment.FULL in (self.background, self.faces if self.needs_faces else None)


@dataclass(frozen=True, slots=True)
class FrameResult:
    """One processed frame.

    Attributes:
        image_rgb: HxWx3 uint8 RGB output (a new array, owned by the caller).
        faces: the faces found (empty when the face stage did not run).
        regions: the crops processed for them (empty likewise).
        times: per-stage milliseconds (decode and encode are 0: the caller measures them).
        model_pixels: pixels fed to the model for this frame (crops or tiles, padding included).
        strengths: per face of ``faces``: blur estimate and strength (empty unless ``auto``).
    """

    image_rgb: NDArray[np.uint8]
    faces: FaceResult
    regions: FaceRegions
    times: StageTimes
    model_pixels: int
    strengths: FaceStrengthResult = field(default_factory=FaceStrengthResult.empty)


@dataclass(frozen=True, slots=True)
class _Treated:
    """The frame after the background treatment; ``model_output`` when the model ran on it."""

    image: NDArray[np.uint8]
    model_output: NDArray[np.float32] | None = None
    model_pixels: int = 0
    inference_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class _Patches:
    """Treated face crops (float32 RGB [0, 1], one per region) and what the model spent."""

    images: list[NDArray[np.float32]]
    model_pixels: int = 0
    inference_ms: float = 0.0


class FacePriorityPipeline:
    """Deblurs frames with the face-priority strategy of a :class:`PipelineConfig`.

    Args:
        config: treatments, strengths, model and face settings.
        engine: an already loaded engine to use instead of loading ``config.model``
            (e.g. shared between pipelines); it is not closed by this pipeline.

    Raises:
        ModelLoadError, ConfigError: the model cannot be loaded.
        FaceMaskError: the face models cannot be loaded.
    """

    def __init__(self, config: PipelineConfig = PipelineConfig(), *, engine: Engine | None = None) -> None:
        self._config = config
        self._owns_engine = engine is None and config.needs_model
        if engine is None and config.needs_model:
            engine = create_engine(config.model, config.engine, models_dir=config.models_dir)
        self._engine = engine
        self._detector: FaceDetector | None = None
        video = config.detector.running_mode is RunningMode.VIDEO
        self._tracker = (FaceTracker(config.tracker)
                         if config.needs_faces and video and config.tracker is not None else None)
        self._regions_cfg = config.regions
        self._strengths = FaceStrengths(config.strength)
        self._cache = CropCache() if config.reuse_crops and self._tracker is not None else None
        if self._engine is not None:  # crops the model's size, on its stride grid
            info = self._engine.info
            tile = min(info.input_size_hw) if info.input_size_hw is not None else config.regions.tile
            self._regions_cfg = replace(config.regions, tile=tile, align=info.multiple_of)
        self._unsharp = UnsharpMask(config.light)
        try:
            if config.needs_faces:
                self._detector = FaceDetector.create_from_options(config.detector)
        except BaseException:
            self.close()
            raise

    @property
    def config(self) -> PipelineConfig:
        return self._config

    @property
    def engine(self) -> Engine | None:
        """The model engine, or ``None`` when no part of the frame runs the model."""
        return self._engine

    def process(self, frame: Frame) -> FrameResult:
        """Deblur one frame.

        Args:
            frame: HxWx3 uint8 RGB frame; ``timestamp_ms`` must increase between calls in
                VIDEO mode.

        Returns:
            The processed frame with its faces, regions, stage timings and model load.

        Raises:
            EngineError: the model failed.
            FaceMaskError: the frame is malformed or its timestamp goes backwards.
        """
        image = frame.image_rgb
        h, w = image.shape[:2]
        work = _pad_to(image, self._regions_cfg.tile) if self._detector is not None else image
        t0 = time.perf_counter()
        faces, strengths, regions, masks = self._faces(image, work, frame.timestamp_ms)
        t1 = time.perf_counter()
        bg = self._background(work)
        t2 = time.perf_counter()
        patches = self._face_patches(work, regions, masks, faces, bg.model_output)
        paste_patches(bg.image, patches.images, masks, regions.boxes_xyxy[:, :2])
        t3 = time.perf_counter()
        times = StageTimes(faces_ms=(t1 - t0) * 1e3,
                           inference_ms=bg.inference_ms + patches.inference_ms,
                           background_ms=(t2 - t1) * 1e3 - bg.inference_ms,
                           blend_ms=(t3 - t2) * 1e3 - patches.inference_ms)
        out = bg.image if work is image else np.ascontiguousarray(bg.image[:h, :w])
        return FrameResult(out, faces, regions, times, bg.model_pixels + patches.model_pixels, strengths)

    def _faces(self, image: NDArray[np.uint8], work: NDArray[np.uint8], timestamp_ms: float
               ) -> tuple[FaceResult, FaceStrengthResult, FaceRegions, tuple[NDArray[np.float32], ...]]:
        """Faces of ``image``, their strengths, and regions and masks on ``work`` (the frame,
        padded at the bottom and right when it is smaller than one tile)."""
        h, w = image.shape[:2]
        work_wh = (work.shape[1], work.shape[0])
        if self._detector is None:
            return (FaceResult.empty((w, h)), FaceStrengthResult.empty(),
                    FaceRegions.empty(work_wh, self._regions_cfg.tile), ())
        ts = timestamp_ms if self._config.detector.running_mode is RunningMode.VIDEO else None
        faces = self._detector.process(image, ts)
        if self._tracker is not None:
            faces = self._tracker.update(faces)
        strengths = FaceStrengthResult.empty()
        placed = faces if work is image else replace(faces, image_size_wh=work_wh)
        if self._config.auto_strength and self._config.faces is not Treatment.NONE:
            strengths = self._strengths.update(image, faces)
            placed = replace(placed, weights=(placed.weights * strengths.strength).astype(np.float32))
        regions = build_regions(placed, self._regions_cfg)
        if not len(regions):
            return faces, strengths, regions, ()
        return faces, strengths, regions, region_masks(regions, placed, self._config.masks).blend

    def _background(self, image: NDArray[np.uint8]) -> _Treated:
        """The whole frame with the background treatment (and the raw model output if any)."""
        cfg = self._config
        if cfg.background is Treatment.NONE:
            return _Treated(image.copy())
        if cfg.background is Treatment.LIGHT:
            return _Treated(self._unsharp.apply(image, cfg.background_strength))
        engine = self._model()
        t = time.perf_counter()
        full = run_tiled(engine, image.astype(np.float32) * np.float32(1 / 255), cfg.tiles)
        ms = (time.perf_counter() - t) * 1e3
        plan = plan_tiles(image.shape[0], image.shape[1], engine.info, cfg.tiles)
        px = plan.count * plan.rows.tile * plan.cols.tile
        return _Treated(mix(image, _to_u8(full), cfg.background_strength), full, px, ms)

    def _face_patches(self, image: NDArray[np.uint8], regions: FaceRegions,
                      masks: tuple[NDArray[np.float32], ...], faces: FaceResult,
                      full: NDArray[np.float32] | None) -> _Patches:
        """Treated face crops, moved ``faces_strength`` of the way from the original (with
        ``auto`` the masks carry each face's strength)."""
        cfg = self._config
        crops = regions.crops(image)
        originals = [c.astype(np.float32) * np.float32(1 / 255) for c in crops]
        if cfg.faces is Treatment.NONE or not crops:
            return _Patches(originals)
        px, ms = 0, 0.0
        if cfg.faces is Treatment.LIGHT:
            treated = [self._unsharp.apply(np.ascontiguousarray(c), 1.0).astype(np.float32)
                       * np.float32(1 / 255) for c in crops]
        elif full is not None:
            treated = regions.crops(full)
        else:
            t = time.perf_counter()
            treated, px = self._run_crops(crops, originals, masks, regions, faces)
            ms = (time.perf_counter() - t) * 1e3
        s = np.float32(1.0 if cfg.auto_strength else cfg.faces_strength)
        if s != 1.0:
            treated = [o + s * (t - o) for o, t in zip(originals, treated)]
        return _Patches(treated, px, ms)

    def _run_crops(self, crops: list[NDArray[np.uint8]], originals: list[NDArray[np.float32]],
                   masks: tuple[NDArray[np.float32], ...], regions: FaceRegions,
                   faces: FaceResult) -> tuple[list[NDArray[np.float32]], int]:
        """Model output for each crop (``runtime.video.face_tiles``), reusing the last output of a
        crop that barely changed. Returns outputs and model pixels."""
        engine = self._model()
        outputs, px = [], 0
        for r, (crop, original, mask) in enumerate(zip(crops, originals, masks)):
            members = regions.members[r]
            key = (tuple(int(t) for t in faces.track_ids[members]), tuple(int(v) for v in regions.boxes_xyxy[r]))
            centre = faces.landmarks_px[members, :, :2].mean(axis=(0, 1))
            cached = self._cache.get(key, crop, centre) if self._cache is not None else None  # type: ignore[arg-type]
            if cached is None:
                cached, n = run_face_crop(engine, original, mask)
                px += n
                if self._cache is not None:
                    self._cache.put(key, crop, centre, cached)  # type: ignore[arg-type]
            outputs.append(cached)
        if self._cache is not None:
            self._cache.end_frame()
        return outputs, px

    def _model(self) -> Engine:
        if self._engine is None:
            raise ConfigError("this pipeline was configured without a model; set faces or "
                              "background to 'full' to load one")
        return self._engine

    def close(self) -> None:
        """Release the detector and the engine this pipeline loaded; safe to call twice."""
        if self._detector is not None:
            self._detector.close()
            self._detector = None
        if self._owns_engine and self._engine is not None:
            self._engine.close()
            self._engine = None

    def __enter__(self) -> FacePriorityPipeline:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _pad_to(image: NDArray[np.uint8], side: int) -> NDArray[np.uint8]:
    """``image`` reflect-padded at the bottom and right to at least ``side`` x ``side``."""
    h, w = image.shape[:2]
    if min(h, w) >= side:
        return image
    return np.pad(image, ((0, max(0, side - h)), (0, max(0, side - w)), (0, 0)),
                  mode="reflect" if min(h, w) > 1 else "edge")


def _to_u8(image: NDArray[np.float32]) -> NDArray[np.uint8]:
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
