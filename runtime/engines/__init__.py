"""Inference engines behind one factory: ``create_engine(name_or_path, EngineConfig())``.

Backends register here by module path and are imported only when used, so importing
``runtime`` pulls in neither onnxruntime nor LiteRT.

Example:
    >>> with create_engine("small") as engine:
    ...     sharp = engine.run(blurry_batch)      # (N, H, W, 3) float32 RGB [0, 1]
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

from runtime.catalog import SHIPPED_DIR, ResolvedModel, resolve_members
from runtime.engines.base import Backend, Engine, EngineConfig, ModelInfo
from runtime.engines.ensemble import EnsembleEngine
from runtime.errors import ConfigError
from runtime.manifest import ArtifactFormat

__all__ = ["Backend", "Engine", "EngineConfig", "EnsembleEngine", "ModelInfo", "BACKENDS", "create_engine",
           "backend_for", "open_engine"]

BACKENDS: dict[Backend, tuple[str, str, ArtifactFormat]] = {
    Backend.ORT: ("runtime.engines.ort", "OrtEngine", ArtifactFormat.ONNX),
    Backend.LITERT: ("runtime.engines.litert", "LiteRTEngine", ArtifactFormat.TFLITE),
}
"""Backend -> (module, class, the file format it runs)."""


def backend_for(model: ResolvedModel, config: EngineConfig) -> Backend:
    """The backend that will run ``model``: by format for 'auto', else checked against it.

    Raises:
        ConfigError: the backend cannot run the file's format, or a delegate was given
            for a backend that has none.
    """
    fmt = model.format
    by_format = next(b for b, (_, _, f) in BACKENDS.items() if f is fmt)
    backend = by_format if config.backend is Backend.AUTO else config.backend
    if BACKENDS[backend][2] is not fmt:
        raise ConfigError(f"`backend` {backend.value} cannot run {model.path.name} ({fmt.value}); "
                          f"use `backend` {by_format.value} or auto")
    if config.delegate is not None and backend is not Backend.LITERT:
        raise ConfigError(f"`delegate` applies to LiteRT (.tflite) models only, not {model.path.name}; "
                          "drop it or pick a .tflite model")
    return backend


def open_engine(model: ResolvedModel, config: EngineConfig = EngineConfig()) -> Engine:
    """Load an already-resolved model in the right backend (warm-up included)."""
    module, cls, _ = BACKENDS[backend_for(model, config)]
    factory: Callable[[ResolvedModel, EngineConfig], Engine] = getattr(importlib.import_module(module), cls)
    return factory(model, config)


def create_engine(model: str | Path, config: EngineConfig = EngineConfig(), *,
                  models_dir: Path = SHIPPED_DIR) -> Engine:
    """Resolve a shipped model name, a model file path or an ensemble of them and load it.

    Args:
        model: a shipped name ('small', 'small.int8', 'small.int8.tflite'), a path, or
            names joined by '+' ('small.int8+nano.int8': the mean of their outputs,
            ``runtime.engines.ensemble``).
        config: backend, threads, providers, delegate.
        models_dir: where shipped models and their manifest live.

    Returns:
        A warmed-up engine taking (N, H, W, 3) float32 RGB [0, 1].

    Raises:
        ModelLoadError: unknown name, missing/corrupt file, not an image-to-image model.
        ConfigError: the backend or delegate does not fit the file.
    """
    resolved = resolve_members(model, models_dir=models_dir)
    if len(resolved) == 1:
        return open_engine(resolved[0], config)
    members: list[Engine] = []
    try:
        for r in resolved:
            members.append(open_engine(r, config))
    except BaseException:
        for m in members:
            m.close()
        raise
    return EnsembleEngine(members)   # it closes them itself if they do not fit together
