"""Face-priority deblurring: full model strength on faces, a cheaper treatment elsewhere.

Per frame: faces are tracked (facemask, VIDEO mode) and turned into square, tile-sized
regions; the model runs on the region crops (batched when several have one size); the
results are pasted over the background with soft masks that cover the face oval, feather
outside it and vanish before the crop border, where the model saw no real neighbours. The
background gets its own treatment: ``none`` (untouched), ``light`` (unsharp mask, see
``runtime.video.sharpen``) or ``full`` (the model over the whole frame, tiled). Faces and
background each have a strength in [0, 1] relative to the original frame.

``--faces full --background full`` with equal strengths is the full-frame baseline: no
face detection, the model tiled over the whole frame. ``runtime.video.stream`` runs a pipeline
over a whole source.

Example:
    >>> with FacePriorityPipeline(PipelineConfig(model="small.int8")) as pipe:
    ...     for frame in source:
    ...         sink.write(replace(frame, image_rgb=pipe.process(frame).image_rgb))
"""
from __future__ import annotations

import difflib
import enum
import logging
import time
from collections import defaultdict
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
from runtime.video.sharpen import UnsharpConfig, UnsharpMask
from runtime.video.blend import mix, paste_patches
from runtime.catalog import VIDEO_DEFAULT_MODEL
from runtime.engines import Engine, EngineConfig, create_engine
from runtime.errors import ConfigError
from runtime.video.sources import Frame
from runtime.video.stats import StageTimes
from runtime.engines.tiling import TileConfig, plan_tiles, run_tiled

log = logging.getLogger(__name__)


class Treatment(str, enum.Enum):
    """What a part of the frame gets: nothing, the cheap sharpener, or the model."""

    NONE = "none"
    LIGHT = "light"
    FULL = "full"


def _treatment(value: object, option: str) -> Treatment:
    try:
        return Treatment(value)
    except ValueError as e:
        names = [t.value for t in Treatment]
        close = difflib.get_close_matches(str(value), names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"--{option} {value!r} is not one of {', '.join(names)}{hint}") from e


DEFAULT_DETECTOR = FaceDetectorOptions(running_mode=RunningMode.VIDEO,
                                       detector_model=DetectorModel.FULL_RANGE,
                                       min_detection_confidence=0.4)
"""Full-range detection: at 720p a face a metre or two away is only ~10 % of the width."""

DEFAULT_REGIONS = RegionConfig(tile=256, margin=0.35, hair=0.0)
"""Margin 0.35 of the face size: the mask ends ~0.17 beyond the oval, the rest is context
so the model's border effects stay outside the mask."""


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Everything the face-priority pipeline needs to know.

    Attributes:
        faces: treatment inside face regions.
        background: treatment of the rest of the frame.
        faces_strength: in [0, 1], how far faces move from the original towards the treated result.
        background_strength: the same for the background.
        model: shipped model name (``small``, ``nano.int8``...) or a model file path.
        engine: backend and threads for the model.
        detector: face detector options (VIDEO mode for video, IMAGE for unrelated stills).
        regions: face crop sizing; ``tile`` is replaced by a static model's input size.
        masks: soft-mask shape.
        tracker: landmark smoothing and fade in/out between video frames (VIDEO mode);
            ``None`` uses the detector's raw faces.
        light: the unsharp mask used by ``light``.
        tiles: tiling of the whole frame for ``--background full``. 256-px tiles, the
            size the models are trained at: a dynamic-size model run over a whole 720p frame
            in one pass scored 0.4-0.9 dB lower on faces than the same model on tiles
            (benchmarks/results/runtime). Static-size models tile at their own input size.
    """

    faces: Treatment = Treatment.FULL
    background: Treatment = Treatment.NONE
    faces_strength: float = 1.0
    background_strength: float = 1.0
    model: str | Path = VIDEO_DEFAULT_MODEL
    engine: EngineConfig = field(default_factory=EngineConfig)
    detector: FaceDetectorOptions = DEFAULT_DETECTOR
    regions: RegionConfig = DEFAULT_REGIONS
    masks: MaskConfig = field(default_factory=MaskConfig)
    tracker: TrackerConfig | None = field(default_factory=TrackerConfig)
    light: UnsharpConfig = field(default_factory=UnsharpConfig)
    tiles: TileConfig = field(default_factory=TileConfig)

    def __post_init__(self) -> None:
        object.__setattr__(self, "faces", _treatment(self.faces, "faces"))
        object.__setattr__(self, "background", _treatment(self.background, "background"))
        for name in ("faces_strength", "background_strength"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise ConfigError(f"--{name.replace('_', '-')} {v!r} must be a number in [0, 1]")

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
    """

    image_rgb: NDArray[np.uint8]
    faces: FaceResult
    regions: FaceRegions
    times: StageTimes
    model_pixels: int


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
        self._engine = engine if engine is not None else (
            create_engine(config.model, config.engine) if config.needs_model else None)
        self._detector: FaceDetector | None = None
        video = config.detector.running_mode is RunningMode.VIDEO
        self._tracker = (FaceTracker(config.tracker)
                         if config.needs_faces and video and config.tracker is not None else None)
        self._regions_cfg = config.regions
        if self._engine is not None:  # crops the model's size, on its stride grid
            info = self._engine.info
            tile = min(info.input_size_hw) if info.input_size_hw is not None else config.regions.tile
            self._regions_cfg = replace(config.regions, tile=tile, align=info.multiple_of)
        self._unsharp = UnsharpMask(config.light)
        self._warned_small = False
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
        t0 = time.perf_counter()
        faces, regions, masks = self._faces(image, frame.timestamp_ms)
        t1 = time.perf_counter()
        bg = self._background(image)
        t2 = time.perf_counter()
        patches = self._face_patches(image, regions, bg.model_output)
        paste_patches(bg.image, patches.images, masks, regions.boxes_xyxy[:, :2])
        t3 = time.perf_counter()
        times = StageTimes(faces_ms=(t1 - t0) * 1e3,
                           inference_ms=bg.inference_ms + patches.inference_ms,
                           background_ms=(t2 - t1) * 1e3 - bg.inference_ms,
                           blend_ms=(t3 - t2) * 1e3 - patches.inference_ms)
        return FrameResult(bg.image, faces, regions, times, bg.model_pixels + patches.model_pixels)

    def _faces(self, image: NDArray[np.uint8], timestamp_ms: float
               ) -> tuple[FaceResult, FaceRegions, tuple[NDArray[np.float32], ...]]:
        h, w = image.shape[:2]
        tile = self._regions_cfg.tile
        if self._detector is None or min(h, w) < tile:
            if self._detector is not None and not self._warned_small:
                log.warning("frames of %dx%d are smaller than one %d-px face crop; faces get "
                            "the background treatment", w, h, tile)
                self._warned_small = True
            return FaceResult.empty((w, h)), FaceRegions.empty((w, h), tile), ()
        ts = timestamp_ms if self._config.detector.running_mode is RunningMode.VIDEO else None
        faces = self._detector.process(image, ts)
        if self._tracker is not None:
            faces = self._tracker.update(faces)
        regions = build_regions(faces, self._regions_cfg)
        if not len(regions):
            return faces, regions, ()
        return faces, regions, region_masks(regions, faces, self._config.masks).blend

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
                      full: NDArray[np.float32] | None) -> _Patches:
        """Treated face crops, moved ``faces_strength`` of the way from the original."""
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
            treated, px = self._run_crops(originals)
            ms = (time.perf_counter() - t) * 1e3
        s = np.float32(cfg.faces_strength)
        if s != 1.0:
            treated = [o + s * (t - o) for o, t in zip(originals, treated)]
        return _Patches(treated, px, ms)

    def _run_crops(self, crops: list[NDArray[np.float32]]) -> tuple[list[NDArray[np.float32]], int]:
        """Model output for each crop: one batched call per crop size the model accepts as is,
        tiles for larger crops of a static-size model. Returns outputs and model pixels."""
        engine = self._model()
        out: list[NDArray[np.float32] | None] = [None] * len(crops)
        by_side: dict[int, list[int]] = defaultdict(list)
        for i, crop in enumerate(crops):
            by_side[crop.shape[0]].append(i)
        px = 0
        for side, idx in by_side.items():
            if engine.info.fits(side, side):
                for i, res in zip(idx, engine.run(np.stack([crops[i] for i in idx]))):
                    out[i] = res
                px += len(idx) * side * side
                continue
            plan = plan_tiles(side, side, engine.info, self._config.tiles)
            for i in idx:
                out[i] = run_tiled(engine, crops[i], self._config.tiles)
            px += len(idx) * plan.count * plan.rows.tile * plan.cols.tile
        return [o for o in out if o is not None], px

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


def _to_u8(image: NDArray[np.float32]) -> NDArray[np.uint8]:
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
