"""edgedeblur runtime: deblur photos and video on edge devices, without torch.

The public API is re-exported here and imported on first use, so ``import runtime`` (and
``edgedeblur --help``) stays fast and loads no inference library.

Example:
    >>> import runtime
    >>> result = runtime.deblur_image(image_rgb, runtime.DeblurConfig(strength=0.7))
    >>> runtime.deblur_file(Path("photo.jpg"), Path("photo.sharp.png"))
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.catalog import ResolvedModel, resolve_model
    from runtime.photo.deblur import (DeblurConfig, Deblurer, DeblurResult, Method, Mode, choose_model,
                                      deblur_file, deblur_image, load_kernel)
    from runtime.engines import Backend, Engine, EngineConfig, ModelInfo, create_engine
    from runtime.photo.imageio import ImageMeta, LoadedImage, read_image, write_image
    from runtime.manifest import ArtifactEntry, Manifest, TensorSpec
    from runtime.engines.tiling import TileConfig, run_tiled

_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("DeblurConfig", "Deblurer", "DeblurResult", "Method", "Mode", "choose_model",
                     "deblur_file", "deblur_image", "load_kernel"), "runtime.photo.deblur"),
    **dict.fromkeys(("Backend", "Engine", "EngineConfig", "ModelInfo", "create_engine"), "runtime.engines"),
    **dict.fromkeys(("ResolvedModel", "resolve_model"), "runtime.catalog"),
    **dict.fromkeys(("ImageMeta", "LoadedImage", "read_image", "write_image"), "runtime.photo.imageio"),
    **dict.fromkeys(("ArtifactEntry", "Manifest", "TensorSpec"), "runtime.manifest"),
    **dict.fromkeys(("TileConfig", "run_tiled"), "runtime.engines.tiling"),
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'runtime' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
