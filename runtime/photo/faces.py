"""Face priority for photos: faces restored by the model, the rest kept natural.

``edgedeblur deblur photo.jpg --faces full --background light`` runs the same masks and
blend as video (``runtime.video.pipeline``) on one still: faces found in IMAGE mode get the model
on their exact crops, the background gets ``none``, ``light`` (unsharp mask) or ``full``.
The pipeline works in 8 bits; the photo keeps its own depth because only the change the
pipeline made is added to it (pixels outside the masks stay bit-exact).

``zoom_strip`` builds the compare image: the whole photo before/after on top, then each
face zoomed before/after ("zoom in on the eyes").

Example:
    >>> with PhotoFaces(PhotoFacesConfig(model="small")) as pf:
    ...     result = pf.deblur(photo_rgb)
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np
from numpy.typing import NDArray

from facemask.options import RunningMode
from runtime.catalog import DEFAULT_MODEL, SHIPPED_DIR
from runtime.engines import EngineConfig
from runtime.video.pipeline import DEFAULT_DETECTOR, FacePriorityPipeline, PipelineConfig, Treatment
from runtime.video.frames import Frame
from runtime.engines.tiling import TileConfig, plan_tiles

ZOOM_PX = 320
"""Height of each zoomed face panel in the compare image."""
MAX_ZOOMED_FACES = 6


@dataclass(frozen=True, slots=True)
class PhotoFacesConfig:
    """Face-priority settings for a photo.

    Attributes:
        faces, background: treatments (``none`` | ``light`` | ``full``).
        faces_strength: in [0, 1] or ``"auto"`` (by each face's blur).
        background_strength: in [0, 1].
        model: shipped model name or file.
        models_dir: folder whose manifest names the shipped models.
        engine: backend and threads.
        tiles: tiling for ``--background full``.
        max_faces: most faces restored.
    """

    faces: Treatment | str = Treatment.FULL
    background: Treatment | str = Treatment.LIGHT
    faces_strength: float | str = 1.0
    background_strength: float = 1.0
    model: str | Path = DEFAULT_MODEL
    models_dir: Path = SHIPPED_DIR
    engine: EngineConfig = field(default_factory=EngineConfig)
    tiles: TileConfig = field(default_factory=TileConfig)
    max_faces: int = 16

    def pipeline(self) -> PipelineConfig:
        """The pipeline configuration for stills (IMAGE mode, no tracker)."""
        detector = replace(DEFAULT_DETECTOR, running_mode=RunningMode.IMAGE, max_faces=self.max_faces)
        return PipelineConfig(faces=self.faces, background=self.background, faces_strength=self.faces_strength,
                              background_strength=self.background_strength, model=self.model,
                              models_dir=self.models_dir, engine=self.engine, detector=detector, tracker=None,
                              tiles=self.tiles, reuse_crops=False)


@dataclass(frozen=True, slots=True)
class PhotoFacesResult:
    """One photo through face priority.

    Attributes:
        image: (H, W, 3) float32 RGB [0, 1].
        face_boxes_xyxy: (n, 4) float32 boxes of the faces found.
        face_blur: (n,) float32 blur estimates (empty unless ``auto``).
        model_pixels: pixels the model processed.
        full_frame_pixels: pixels the model would process deblurring the whole photo.
    """

    image: NDArray[np.float32]
    face_boxes_xyxy: NDArray[np.float32]
    face_blur: NDArray[np.float32]
    model_pixels: int
    full_frame_pixels: int


class PhotoFaces:
    """Face-priority deblurring of stills; keeps the model and detector loaded between photos.

    Raises:
        ModelLoadError, ConfigError, FaceMaskError: as ``FacePriorityPipeline``.
    """

    def __init__(self, config: PhotoFacesConfig = PhotoFacesConfig()) -> None:
        self.config = config
        self._pipe = FacePriorityPipeline(config.pipeline())

    def deblur(self, image_rgb: NDArray[np.float32]) -> PhotoFacesResult:
        """Face-priority deblur of one (H, W, 3) float32 RGB [0, 1] photo."""
        u8 = (np.clip(image_rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        res = self._pipe.process(Frame(u8, 0, 0.0))
        change = (res.image_rgb.astype(np.float32) - u8) * np.float32(1 / 255)
        out = np.clip(image_rgb + change, 0.0, 1.0).astype(np.float32)
        h, w = u8.shape[:2]
        engine = self._pipe.engine
        full = 0
        if engine is not None:
            plan = plan_tiles(h, w, engine.info, self.config.tiles)
            full = plan.count * plan.rows.tile * plan.cols.tile
        return PhotoFacesResult(out, res.faces.boxes_xyxy, res.strengths.blur, res.model_pixels, full)

    def close(self) -> None:
        self._pipe.close()

    def __enter__(self) -> PhotoFaces:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def zoom_strip(before: NDArray[np.float32], after: NDArray[np.float32],
               face_boxes_xyxy: NDArray[np.float32], gap_px: int = 8) -> NDArray[np.float32]:
    """Compare image: whole photo before | after, then each face zoomed before | after.

    Args:
        before, after: (H, W, 3) float32 RGB [0, 1], same shape.
        face_boxes_xyxy: (n, 4) face boxes in photo pixels (the largest faces are shown).

    Returns:
        float32 RGB [0, 1] image.
    """
    from runtime.photo.imageio import side_by_side

    top = side_by_side([before, after], ["before", "after"])
    h, w = before.shape[:2]
    boxes = sorted(np.asarray(face_boxes_xyxy, np.float32).tolist(),
                   key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))[:MAX_ZOOMED_FACES]
    pairs = []
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        side = 1.3 * max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        a, b = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        c, d = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
        if c - a < 2 or d - b < 2:
            continue
        scale = ZOOM_PX / (d - b)
        size = (max(1, round((c - a) * scale)), ZOOM_PX)
        pair = [np.asarray(cv2.resize(im[b:d, a:c], size, interpolation=cv2.INTER_NEAREST if scale >= 2
                                      else cv2.INTER_LINEAR), np.float32) for im in (before, after)]
        pairs.append(side_by_side(pair, [f"face {i} before", f"face {i} after"]))
    rows, line = [top], []
    for pair in pairs:                          # as many pairs per row as fit the top's width
        if line and sum(p.shape[1] + 2 * gap_px for p in line) + pair.shape[1] > top.shape[1]:
            rows.append(_hstack(line, 2 * gap_px))
            line = []
        line.append(pair)
    if line:
        rows.append(_hstack(line, 2 * gap_px))
    width = max(r.shape[1] for r in rows)
    padded = [np.pad(r, ((0, gap_px), (0, width - r.shape[1]), (0, 0)), constant_values=1.0) for r in rows]
    return np.concatenate(padded, axis=0)[:-gap_px]


def _hstack(panels: list[NDArray[np.float32]], gap_px: int) -> NDArray[np.float32]:
    """Panels side by side on white, top-aligned, ``gap_px`` apart."""
    height = max(p.shape[0] for p in panels)
    parts = []
    for i, p in enumerate(panels):
        if i:
            parts.append(np.ones((height, gap_px, 3), np.float32))
        parts.append(np.pad(p, ((0, height - p.shape[0]), (0, 0), (0, 0)), constant_values=1.0))
    return np.concatenate(parts, axis=1)
