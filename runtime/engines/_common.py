"""Machinery shared by the backends: tensor conversion, batching, output checks."""
from __future__ import annotations

import abc
import logging
import math
from types import TracebackType

import numpy as np
from numpy.typing import NDArray

from runtime.engines.base import ModelInfo
from runtime.errors import EngineError, ModelLoadError
from runtime.manifest import DType, Layout

_NUMPY: dict[DType, type[np.generic]] = {DType.FLOAT32: np.float32, DType.FLOAT16: np.float16,
                                          DType.INT8: np.int8, DType.UINT8: np.uint8}
_QRANGE = {DType.INT8: (-128, 127), DType.UINT8: (0, 255)}
log = logging.getLogger(__name__)

WARMUP_SIDE_PX = 64
"""Side of the warm-up input for models that take any size."""
GARBAGE_DEVIATION = 1.0
"""A deblurring model changes a plain grey image by far less; more means garbage output
(a model for 0-255 input, an output scaled 1e6) that clipping would hide as a white image."""


class TensorCodec:
    """Converts NHWC float32 [0, 1] to one model tensor's layout and dtype, and back.

    Quantised tensors use ``real = (q - zero_point) * scale``. The input buffer of the
    last shape is kept, so repeated calls at a fixed size allocate nothing (and a stream
    of varying shapes does not pile up buffers).
    """

    def __init__(self, layout: Layout, dtype: DType, scale: float | None = None,
                 zero_point: int | None = None) -> None:
        self.layout = layout
        self.dtype = dtype
        self.np_dtype = _NUMPY[dtype]
        self.scale = float(scale) if scale else 1.0 / 255.0
        self.zero_point = int(zero_point or 0)
        self._buffer: NDArray[np.generic] = np.empty(0, self.np_dtype)
        self._scratch: NDArray[np.float32] = np.empty(0, np.float32)

    def encode(self, batch: NDArray[np.float32]) -> NDArray[np.generic]:
        """NHWC float32 -> the model's tensor (a reused buffer: consume before the next call)."""
        view = batch.transpose(0, 3, 1, 2) if self.layout is Layout.NCHW else batch
        if self._buffer.shape != view.shape:
            self._buffer = np.empty(view.shape, self.np_dtype)
        buf = self._buffer
        if not self.dtype.quantized:
            np.copyto(buf, view, casting="unsafe")
            return buf
        if self._scratch.shape != view.shape:
            self._scratch = np.empty(view.shape, np.float32)
        tmp = self._scratch
        lo, hi = _QRANGE[self.dtype]
        np.divide(view, self.scale, out=tmp)
        tmp += self.zero_point
        np.rint(tmp, out=tmp)
        np.clip(tmp, lo, hi, out=tmp)
        np.copyto(buf, tmp, casting="unsafe")
        return buf

    def decode(self, tensor: NDArray[np.generic]) -> NDArray[np.float32]:
        """The model's output tensor -> a new NHWC float32 array (not yet clipped)."""
        view = tensor.transpose(0, 2, 3, 1) if self.layout is Layout.NCHW else tensor
        out = np.array(view, dtype=np.float32, order="C")
        if self.dtype.quantized:
            out -= np.float32(self.zero_point)
            out *= np.float32(self.scale)
        return out


def warmup_size_hw(info: ModelInfo) -> tuple[int, int]:
    """The input size used to warm a model up: its static size, or ~64 px rounded up."""
    if info.input_size_hw is not None:
        return info.input_size_hw
    side = info.multiple_of * math.ceil(WARMUP_SIDE_PX / info.multiple_of)
    return side, side


class CodecEngine(abc.ABC):
    """Base of the backends: shape checks, batch splitting, output checks, context manager.

    Subclasses set ``_info``, ``_in`` and ``_out`` and implement ``_infer`` on one model
    batch in the model's own layout and dtype.
    """

    _info: ModelInfo
    _in: TensorCodec
    _out: TensorCodec
    _closed: bool = False

    @property
    def info(self) -> ModelInfo:
        """Identity and accepted shapes of the loaded model."""
        return self._info

    @abc.abstractmethod
    def _infer(self, tensor: NDArray[np.generic]) -> NDArray[np.generic]:
        """One model call on a batch already in the model's layout and dtype."""

    @abc.abstractmethod
    def _release(self) -> None:
        """Free the backend session."""

    def run(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """Run the model on (N, H, W, 3) float32 RGB [0, 1]; returns (N, H*s, W*s, 3), clipped.

        Raises:
            EngineError: the engine is closed, the batch has the wrong shape, the backend
                failed, or the output holds NaN/Inf.
        """
        out = self._forward(batch)
        np.clip(out, 0.0, 1.0, out=out)
        return out

    def _forward(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """``run`` without the final clip (the first-run check looks at the raw range)."""
        if self._closed:
            raise EngineError(f"engine for {self._info.id} is closed; create a new one")
        batch = np.asarray(batch)
        if batch.ndim != 4 or batch.shape[3] != 3 or batch.shape[0] < 1:
            raise EngineError(f"{self._info.id} needs an (N, H, W, 3) RGB batch, got shape {batch.shape}")
        n, h, w, _ = batch.shape
        if not self._info.fits(h, w):
            need = (f"exactly {self._info.input_size_hw[0]}x{self._info.input_size_hw[1]}"
                    if self._info.input_size_hw else f"height and width multiples of {self._info.multiple_of}")
            raise EngineError(f"{self._info.id} cannot take a {h}x{w} input: it needs {need}. "
                              "Use runtime.engines.tiling.run_tiled for other sizes")
        batch = batch.astype(np.float32, copy=False)
        step = self._info.max_batch or n
        parts = [self._run_chunk(batch[i:i + step]) for i in range(0, n, step)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _run_chunk(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        try:
            raw = self._infer(self._in.encode(batch))
        except Exception as e:  # backend libraries raise their own assorted types
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise EngineError(f"{self._info.id} failed on a {batch.shape} batch: {first}") from e
        out = self._out.decode(raw)
        n, h, w, c = batch.shape
        s = self._info.scale
        if out.shape != (n, h * s, w * s, c):
            size = "the same size" if s == 1 else f"scale {s}"
            raise EngineError(f"{self._info.id} returned shape {out.shape} for input {batch.shape}; "
                              f"it is not an image-to-image model of {size}")
        if not np.isfinite(out).all():
            if not np.isfinite(batch).all():
                raise EngineError(f"the input to {self._info.id} contains NaN/Inf; clean the image first")
            raise EngineError(f"{self._info.id} produced NaN/Inf output; the model file is broken or "
                              "was quantised badly. Re-export it or try its fp32 version")
        return out

    def warm_up(self) -> None:
        """One call at a typical size, so the first real call is not slow.

        Raises:
            ModelLoadError: the model cannot run on a plain image (wrong output shape,
                NaN/Inf, unsupported op): it is unusable, so loading fails.
        """
        h, w = warmup_size_hw(self._info)
        grey = np.full((1, h, w, 3), 0.5, np.float32)
        try:
            out = self._forward(grey)
        except EngineError as e:
            raise ModelLoadError(f"cannot use {self._info.path}: a test run failed: {e}") from e
        worst = float(np.abs(out - 0.5).max())
        if worst > GARBAGE_DEVIATION:
            log.warning("%s turns a plain grey test image into values up to %.3g away from it (outside "
                        "[0, 1]): it is probably not a deblurring model for [0, 1] RGB input, and its "
                        "outputs will be clipped to black/white. Check the model or its input scaling",
                        self._info.path, worst)

    def close(self) -> None:
        """Release the session; further ``run`` calls raise EngineError."""
        if not self._closed:
            self._closed = True
            self._release()

    def __enter__(self) -> CodecEngine:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
