"""Several models run as one: the mean of their outputs.

Two nets of different architecture make partly independent mistakes, so their mean beats
either one. Measured on the shipped small and nano (2026-12-05, models alone): camera-made
blur (``val_realblur``) +0.08 / +0.06 dB alone, +0.10 for the mean of their int8 files;
shaken and defocused training faces +1.38 / +1.34 alone, +1.51 for the mean. The int8 pair
costs less than fp32 small alone (0.53 against 0.59 s/MP). Flipped copies of one net
(test-time augmentation) gained nothing: one net's mistakes repeat under a flip. A weak
member dilutes a strong one: on H.264 face crops, where nano gains half what small does,
the pair lost to small alone (``runtime.catalog.FILE_VIDEO_MODEL``).

An ensemble is named by joining model names with ``+`` (``small.int8+nano.int8``); every
member must take the same input sizes (see :func:`combined_info`).
"""
from __future__ import annotations

import math
from types import TracebackType

import numpy as np
from numpy.typing import NDArray

from runtime.catalog import ENSEMBLE_SEPARATOR
from runtime.engines.base import Engine, ModelInfo
from runtime.errors import EngineError, ModelLoadError


def combined_info(infos: list[ModelInfo]) -> ModelInfo:
    """What the ensemble accepts: every member's constraint at once.

    Raises:
        ModelLoadError: the members differ in scale, or have different static input sizes.
    """
    first = infos[0]
    label = ENSEMBLE_SEPARATOR.join(i.id for i in infos)
    if len({i.scale for i in infos}) > 1:
        scales = ", ".join(f"{i.id} x{i.scale}" for i in infos)
        raise ModelLoadError(f"{label}: the members scale differently ({scales}); ensemble models of one task only")
    static = {i.input_size_hw for i in infos if i.input_size_hw is not None}
    if len(static) > 1 or (static and any(i.input_size_hw is None for i in infos)):
        sizes = ", ".join(f"{i.id} {i.input_size_hw or 'any size'}" for i in infos)
        raise ModelLoadError(f"{label}: the members take different input sizes ({sizes}); "
                             "use members of one format (all .onnx or all .tflite of one size)")
    batches = [i.max_batch for i in infos if i.max_batch is not None]
    return ModelInfo(id=label, path=first.path, format=first.format, precision=first.precision,
                     input_size_hw=first.input_size_hw, multiple_of=math.lcm(*(i.multiple_of for i in infos)),
                     max_batch=min(batches) if batches else None, scale=first.scale)


class EnsembleEngine:
    """Runs every member engine on a batch and returns the mean (it owns and closes them).

    Example:
        >>> with EnsembleEngine([create_engine("small.int8"), create_engine("nano.int8")]) as e:
        ...     out = e.run(batch)
    """

    def __init__(self, members: list[Engine]) -> None:
        if len(members) < 2:
            raise ModelLoadError("an ensemble needs at least two models")
        self._members = members
        try:
            self._info = combined_info([m.info for m in members])
        except ModelLoadError:
            self.close()
            raise

    @property
    def info(self) -> ModelInfo:
        """The members' combined identity and shape constraints (format, path: the first member's)."""
        return self._info

    @property
    def members(self) -> list[ModelInfo]:
        """Each member's own identity, in order."""
        return [m.info for m in self._members]

    def run(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """The mean of the members' outputs (each already clipped to [0, 1])."""
        if not self._members:
            raise EngineError(f"engine for {self._info.id} is closed; create a new one")
        out = self._members[0].run(batch)
        for m in self._members[1:]:
            out += m.run(batch)
        out *= np.float32(1 / len(self._members))
        return out

    def close(self) -> None:
        """Close every member; further ``run`` calls raise EngineError."""
        members, self._members = self._members, []
        for m in members:
            m.close()

    def __enter__(self) -> EnsembleEngine:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
