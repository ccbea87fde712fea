"""The engine contract: what every inference backend takes, returns and reports.

An engine runs one image-to-image model. Callers always speak NHWC float32 RGB in [0, 1];
each backend converts to the model's own layout and dtype (fp16, int8/uint8 with scale and
zero-point) internally, so the tiler, the photo API and the video pipeline never care
which file format or precision they were given.

Example:
    >>> with create_engine("small", EngineConfig(threads=2)) as engine:
    ...     out = engine.run(np.zeros((1, 256, 256, 3), np.float32))
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from runtime.errors import ConfigError, parse_choice
from runtime.manifest import ArtifactFormat, Precision


class Backend(str, enum.Enum):
    """Inference library; AUTO picks by the model file's format."""

    AUTO = "auto"
    ORT = "ort"
    LITERT = "litert"


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """How to run a model.

    Args:
        backend: 'auto' (by file format), 'ort' (ONNX Runtime) or 'litert' (LiteRT).
        threads: intra-op CPU threads (>= 1); keep it at or below the physical cores.
        providers: ONNX Runtime execution providers, in order of preference.
        delegate: LiteRT delegate shared-library name or path (GPU, Edge TPU), or None
            for the default CPU path (XNNPACK).
        spin: let ONNX Runtime's worker threads busy-wait for work between calls. Off by
            default: in a video loop the other stages run between model calls, and spinning
            threads burn that time as CPU (battery) for a latency gain of well under 1 ms.
    """

    backend: Backend = Backend.AUTO
    threads: int = 2
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    delegate: str | None = None
    spin: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "backend", parse_choice(Backend, self.backend, "`backend`"))
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1:
            raise ConfigError(f"`threads` {self.threads!r} must be a whole number >= 1")
        providers = (self.providers,) if isinstance(self.providers, str) else tuple(self.providers)
        if not providers or not all(isinstance(p, str) and p for p in providers):
            raise ConfigError(f"providers {self.providers!r} must be a non-empty list of provider names, "
                              "e.g. CPUExecutionProvider")
        object.__setattr__(self, "providers", providers)
        if self.delegate is not None and not self.delegate.strip():
            raise ConfigError("`delegate` is empty; give a delegate library name or leave it out")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What a loaded model is and what shapes it accepts.

    ``input_size_hw`` is the static (height, width) in pixels, or None when any size
    that is a multiple of ``multiple_of`` works. ``multiple_of`` is the net's stride: for a
    static-size model, tiles and face crops start on multiples of it, so every call sees
    the image in the same phase of the net's downsampling grid. ``max_batch`` is the largest batch one
    model call takes (None: unlimited); ``Engine.run`` splits bigger batches itself. ``scale`` is
    the output size over the input size (2 for an x2 upscaler, else 1).
    """

    id: str
    path: Path
    format: ArtifactFormat
    precision: Precision
    input_size_hw: tuple[int, int] | None
    multiple_of: int
    max_batch: int | None
    scale: int = 1

    def fits(self, height: int, width: int) -> bool:
        """Whether a height x width input can be fed to the model as is."""
        if self.input_size_hw is not None:
            return (height, width) == self.input_size_hw
        return height % self.multiple_of == 0 and width % self.multiple_of == 0


@runtime_checkable
class Engine(Protocol):
    """A loaded image-to-image model, ready to run (use as a context manager)."""

    @property
    def info(self) -> ModelInfo:
        """Identity and accepted shapes of the loaded model."""
        ...

    def run(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """Run the model.

        Args:
            batch: (N, H, W, 3) float32 RGB in [0, 1]; H and W must satisfy ``info.fits``.

        Returns:
            (N, H * s, W * s, 3) float32 RGB clipped to [0, 1] (``s`` = ``info.scale``), a new
            array owned by the caller.

        Raises:
            EngineError: wrong shape, a backend failure, or NaN/Inf in the output.
        """
        ...

    def close(self) -> None:
        """Release the session; further ``run`` calls raise EngineError."""
        ...

    def __enter__(self) -> Engine: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...
