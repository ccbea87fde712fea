"""edgedeblur runtime: deblur photos and video on edge devices, without torch.

The public API for photos and for video is re-exported here and imported on first use, so
``import runtime`` (and ``edgedeblur --help``) stays fast and loads no inference library.
Everything else lives by job in ``engines/``, ``photo/``, ``video/`` and ``energy/``.

Example:
    >>> import runtime
    >>> result = runtime.deblur_image(image_rgb, runtime.DeblurConfig(strength=0.7))
    >>> printed = runtime.restore(image_rgb, runtime.load_preset("portrait").config())   # deblur -> denoise -> x2
    >>> runtime.deblur_file(Path("photo.jpg"), Path("photo.sharp.png"))
    >>> with runtime.open_source("0") as camera, runtime.FacePriorityPipeline(runtime.PipelineConfig()) as pipe:
    ...     runtime.run_stream(camera, pipe, [runtime.VideoFileSink(Path("out.mp4"))])
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.catalog import ResolvedModel, resolve_model
    from runtime.engines import Backend, Engine, EngineConfig, ModelInfo, create_engine
    from runtime.engines.tiling import TileConfig, run_tiled
    from runtime.manifest import ArtifactEntry, Manifest, TensorSpec
    from runtime.photo.deblur import (DeblurConfig, Deblurer, DeblurResult, Method, Mode, choose_model,
                                      deblur_file, deblur_image, load_kernel)
    from runtime.photo.chain import LinkReport, RestoreConfig, Restorer, RestoreResult, restore, restore_file
    from runtime.photo.imageio import ImageMeta, LoadedImage, read_image, write_image
    from runtime.photo.links import AutoDenoise, deblur_link, denoise_link, upscale_link
    from runtime.photo.presets import Preset, load_preset, read_preset, user_presets
    from runtime.video.frames import Frame, FrameSource, SourceConfig, SourceEnd, SourceInfo, SourceKind
    from runtime.video.pipeline import FacePriorityPipeline, FrameResult, PipelineConfig, Treatment
    from runtime.video.preview import PreviewWindow
    from runtime.video.sinks import ImageFolderSink, Sink, SinkResult, VideoFileSink, VideoSinkConfig
    from runtime.video.sources import open_source
    from runtime.video.stats import RunStats, StatsRecorder, write_stats_json
    from runtime.video.stream import StreamReport, run_stream

_EXPORTS: dict[str, str] = {
    # photos
    **dict.fromkeys(("DeblurConfig", "Deblurer", "DeblurResult", "Method", "Mode", "choose_model",
                     "deblur_file", "deblur_image", "load_kernel"), "runtime.photo.deblur"),
    **dict.fromkeys(("ImageMeta", "LoadedImage", "read_image", "write_image"), "runtime.photo.imageio"),
    # the restore chain and its presets
    **dict.fromkeys(("LinkReport", "RestoreConfig", "Restorer", "RestoreResult", "restore", "restore_file"),
                    "runtime.photo.chain"),
    **dict.fromkeys(("AutoDenoise", "deblur_link", "denoise_link", "upscale_link"), "runtime.photo.links"),
    **dict.fromkeys(("Preset", "load_preset", "read_preset", "user_presets"), "runtime.photo.presets"),
    # video
    **dict.fromkeys(("Frame", "FrameSource", "SourceConfig", "SourceEnd", "SourceInfo", "SourceKind"),
                    "runtime.video.frames"),
    "open_source": "runtime.video.sources",
    **dict.fromkeys(("FacePriorityPipeline", "FrameResult", "PipelineConfig", "Treatment"), "runtime.video.pipeline"),
    **dict.fromkeys(("ImageFolderSink", "Sink", "SinkResult", "VideoFileSink", "VideoSinkConfig"),
                    "runtime.video.sinks"),
    "PreviewWindow": "runtime.video.preview",
    **dict.fromkeys(("RunStats", "StatsRecorder", "write_stats_json"), "runtime.video.stats"),
    **dict.fromkeys(("StreamReport", "run_stream"), "runtime.video.stream"),
    # models and engines
    **dict.fromkeys(("Backend", "Engine", "EngineConfig", "ModelInfo", "create_engine"), "runtime.engines"),
    **dict.fromkeys(("TileConfig", "run_tiled"), "runtime.engines.tiling"),
    **dict.fromkeys(("ResolvedModel", "resolve_model"), "runtime.catalog"),
    **dict.fromkeys(("ArtifactEntry", "Manifest", "TensorSpec"), "runtime.manifest"),
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'runtime' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
