"""Reading image-tensor shapes that backends report with unknown dims."""
from __future__ import annotations

from typing import Sequence

from runtime.errors import ModelLoadError
from runtime.manifest import DType, Layout, Precision, TensorSpec


def static_dim(d: object) -> int | None:
    """A known positive dimension, or None for symbolic/unknown (str, None, -1, 0)."""
    return d if isinstance(d, int) and not isinstance(d, bool) and d > 0 else None


def infer_layout(shape: Sequence[object]) -> Layout | None:
    """NCHW if dim 1 is 3, NHWC if dim 3 is 3, None if neither is known."""
    if static_dim(shape[1]) == 3:
        return Layout.NCHW
    if static_dim(shape[3]) == 3:
        return Layout.NHWC
    return None


def spatial_hw(shape: Sequence[object], layout: Layout) -> tuple[int | None, int | None]:
    """(H, W) of a 4-D shape in ``layout``; unknown dims are None."""
    h, w = (shape[2], shape[3]) if layout is Layout.NCHW else (shape[1], shape[2])
    return static_dim(h), static_dim(w)


def check_one_in_one_out(model: str, n_inputs: int, n_outputs: int) -> None:
    """Raises ModelLoadError unless the model has exactly one input and one output."""
    if n_inputs != 1 or n_outputs != 1:
        raise ModelLoadError(f"{model} is not an image-to-image model: it has {n_inputs} inputs "
                             f"and {n_outputs} outputs, expected one of each")


def static_io_size(model: str, in_shape: Sequence[object], in_layout: Layout,
                   out_shape: Sequence[object], out_layout: Layout, scale: int = 1) -> tuple[int, int] | None:
    """The static input (H, W), or None if dynamic.

    Raises:
        ModelLoadError: known input and output sizes are not ``scale`` times apart.
    """
    h, w = spatial_hw(in_shape, in_layout)
    oh, ow = spatial_hw(out_shape, out_layout)
    if None not in (h, w, oh, ow) and (scale * h, scale * w) != (oh, ow):  # type: ignore[operator]
        want = "the same size" if scale == 1 else f"{scale}x the input"
        raise ModelLoadError(f"{model} is not an image-to-image model of scale {scale}: input is {h}x{w} but "
                             f"output is {oh}x{ow} (expected {want})")
    return (h, w) if h is not None and w is not None else None


def image_layout(shape: Sequence[object], spec: TensorSpec | None, model: str, what: str,
                 default: Layout | None = None) -> Layout:
    """The layout of a 3-channel image tensor: from the manifest spec, else the shape, else
    ``default`` (an output whose channel axis is symbolic follows the input).

    Raises:
        ModelLoadError: the tensor is not 4-D with 3 channels in either layout.
    """
    if len(shape) != 4:
        raise ModelLoadError(f"{model} is not an image-to-image model: its {what} has shape "
                             f"{list(shape)}, expected 4-D (N, 3, H, W) or (N, H, W, 3)")
    found = infer_layout(shape)
    layout = spec.layout if spec is not None else found or default
    if layout is None:
        raise ModelLoadError(f"{model} is not an image-to-image model: its {what} shape {list(shape)} "
                             "has no 3-channel axis; add the tensor layout to the manifest")
    channels = static_dim(shape[1] if layout is Layout.NCHW else shape[3])
    if channels not in (None, 3):
        raise ModelLoadError(f"{model} is not an image-to-image model: its {what} has {channels} "
                             f"channels in {layout.value} layout, expected 3 (RGB)")
    return layout


def precision_from_dtype(dtype: DType) -> Precision:
    """The precision an I/O dtype suggests when no manifest entry says otherwise."""
    if dtype is DType.FLOAT16:
        return Precision.FP16
    if dtype.quantized:
        return Precision.INT8
    return Precision.FP32
