"""Faces for face-priority deblurring: MediaPipe detection and landmarks, regions, masks, tracking.

Frames are HxWx3 uint8 **RGB** (say ``color_order=ColorOrder.BGR`` for OpenCV frames).
A video frame goes through::

    with FaceDetector.create_from_options(FaceDetectorOptions(running_mode=RunningMode.VIDEO)) as det:
        tracker = FaceTracker()
        for t_ms, frame_rgb in frames:
            faces = tracker.update(det.process(frame_rgb, t_ms))     # FaceResult
            regions = build_regions(faces, RegionConfig(tile=256))    # square crops
            masks = region_masks(regions, faces)                      # float32 [0,1] per crop
            for crop, mask in zip(regions.crops(frame_rgb), masks.blend): ...

facemask imports nothing from ``runtime`` or ``convert`` and raises only FaceMaskError.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from facemask.errors import FaceMaskError

if TYPE_CHECKING:
    from facemask.detector import FaceDetector
    from facemask.draw import draw_faces
    from facemask.image import ColorOrder, read_image_rgb, to_rgb, write_image_rgb
    from facemask.masks import MaskConfig, RegionMasks, emphasis_map, region_masks, soft_mask
    from facemask.options import Backend, DetectorModel, FaceDetectorOptions, RunningMode
    from facemask.regions import FaceRegions, RegionConfig, build_regions
    from facemask.result import FaceResult
    from facemask.tracking import FaceTracker, OneEuroFilter, TrackerConfig

# Loaded on first use, so `import facemask.errors` (the CLI does) stays free of numpy/OpenCV.
_HOMES = {
    "FaceDetector": "detector", "draw_faces": "draw",
    "ColorOrder": "image", "read_image_rgb": "image", "to_rgb": "image", "write_image_rgb": "image",
    "MaskConfig": "masks", "RegionMasks": "masks", "emphasis_map": "masks", "region_masks": "masks",
    "soft_mask": "masks",
    "Backend": "options", "DetectorModel": "options", "FaceDetectorOptions": "options", "RunningMode": "options",
    "FaceRegions": "regions", "RegionConfig": "regions", "build_regions": "regions",
    "FaceResult": "result",
    "FaceTracker": "tracking", "OneEuroFilter": "tracking", "TrackerConfig": "tracking",
}

__all__ = ["FaceMaskError", *sorted(_HOMES)]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'facemask' has no attribute {name!r}")
    return getattr(importlib.import_module(f"facemask.{_HOMES[name]}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
