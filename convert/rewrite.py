"""Exact, export-friendly rewrites of a PyTorch model before conversion.

Pixel unshuffle exports as rank-6 reshapes and transposes (ONNX) or a chain of rank-4
reshapes and transposes (LiteRT). A one-hot strided convolution computes exactly the same
values, maps to every accelerator, and quantises losslessly (its only weights are 0 and 1).
Pixel shuffle becomes DEPTH_TO_SPACE in ONNX, which CPUs, QNN and TensorRT run; for the
Edge TPU, which has no DEPTH_TO_SPACE, it can become a one-hot transposed convolution.

Example:
    >>> exportable = make_exportable(model, shuffle_as_conv=False, sample_hw=(64, 64))
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn


def unshuffle_conv(channels: int, factor: int) -> nn.Conv2d:
    """A conv equal to ``nn.PixelUnshuffle(factor)`` on ``channels`` input channels."""
    r = factor
    conv = nn.Conv2d(channels, channels * r * r, kernel_size=r, stride=r, bias=False)
    weight = torch.zeros_like(conv.weight)
    for c in range(channels):
        for i in range(r):
            for j in range(r):
                weight[c * r * r + i * r + j, c, i, j] = 1.0
    conv.weight = nn.Parameter(weight, requires_grad=False)
    return conv


def shuffle_weight(channels_in: int, factor: int) -> np.ndarray:
    """(in, out, r, r) float32 one-hot weight of a transposed conv equal to pixel shuffle."""
    r = factor
    out = channels_in // (r * r)
    weight = np.zeros((channels_in, out, r, r), np.float32)
    for c in range(out):
        for i in range(r):
            for j in range(r):
                weight[c * r * r + i * r + j, c, i, j] = 1.0
    return weight


def shuffle_deconv(channels_in: int, factor: int) -> nn.ConvTranspose2d:
    """A transposed conv equal to ``nn.PixelShuffle(factor)`` on ``channels_in`` input channels."""
    deconv = nn.ConvTranspose2d(channels_in, channels_in // factor**2, kernel_size=factor, stride=factor,
                                bias=False)
    deconv.weight = nn.Parameter(torch.from_numpy(shuffle_weight(channels_in, factor)), requires_grad=False)
    return deconv


def _input_channels(model: nn.Module, sample_hw: tuple[int, int]) -> dict[str, int]:
    """Input channel count of every pixel (un)shuffle module, from one forward pass."""
    seen: dict[str, int] = {}
    handles = []
    for name, mod in model.named_modules():
        if isinstance(mod, (nn.PixelShuffle, nn.PixelUnshuffle)):
            def hook(_m: nn.Module, args: tuple[torch.Tensor, ...], name: str = name) -> None:
                seen[name] = int(args[0].shape[1])
            handles.append(mod.register_forward_pre_hook(hook))
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, *sample_hw))
    finally:
        for h in handles:
            h.remove()
    return seen


def _set(model: nn.Module, dotted: str, new: nn.Module) -> None:
    parent_name, _, leaf = dotted.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, leaf, new)


def make_exportable(model: nn.Module, *, shuffle_as_conv: bool, sample_hw: tuple[int, int]) -> nn.Module:
    """A copy of ``model`` with pixel unshuffles (and optionally shuffles) as one-hot convs.

    Args:
        model: NCHW image model; it is not modified.
        shuffle_as_conv: also replace pixel shuffles by transposed convs.
        sample_hw: a valid input size for one tracing pass (multiples of the model's stride).

    Returns:
        An eval-mode model computing the same function.
    """
    out = copy.deepcopy(model).eval()
    channels = _input_channels(out, sample_hw)
    for name, mod in list(out.named_modules()):
        if isinstance(mod, nn.PixelUnshuffle) and name in channels:
            _set(out, name, unshuffle_conv(channels[name], mod.downscale_factor))
        elif shuffle_as_conv and isinstance(mod, nn.PixelShuffle) and name in channels:
            _set(out, name, shuffle_deconv(channels[name], mod.upscale_factor))
    return out.eval()
