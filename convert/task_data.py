"""Degraded inputs for the restore chain's denoiser and upscaler, for int8 calibration,
validation and quantisation-aware fine-tuning.

The deblur nets keep their own data (``convert.calib``, ``convert.data``). The denoiser and
the upscaler are calibrated and validated on what they were trained on: the same
degradations (``convert.degrade_restore``: the noise mix, or half-size images made by area,
bicubic or Gaussian resizing with light noise and JPEG), applied here to NHWC numpy crops
with a fixed seed so a build is reproducible.

Example:
    >>> noisy, clean = degrade_crops("denoise", clean_crops, seed=1)
    >>> low, high = degrade_crops("upscale", crops_512, seed=1)   # low is 256x256
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from runtime.errors import ConfigError
from runtime.manifest import TASKS

TASK_SCALE: dict[str, int] = {"deblur": 1, "denoise": 1, "upscale": 2}
"""Output size over input size for each task's models."""
TASK_WORDS: dict[str, tuple[str, str]] = {"deblur": ("blurry", "sharp"), "denoise": ("noisy", "clean"),
                                          "upscale": ("low-res", "high-res")}
"""How a task's inputs and targets are called in reports and labels."""


def check_task(task: str, what: str = "task") -> str:
    """``task`` if it is one of ``runtime.manifest.TASKS``.

    Raises:
        ConfigError: unknown task (the message lists the known ones).
    """
    if task not in TASKS:
        raise ConfigError(f"{what} {task!r}: use one of {', '.join(TASKS)}")
    return task


def degrade_crops(task: str, clean: NDArray[np.float32], seed: int
                  ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """(inputs, targets) for the denoiser or the upscaler from clean crops.

    Args:
        task: 'denoise' or 'upscale'.
        clean: (N, H, W, 3) float32 sRGB in [0, 1]: the targets (H and W even for 'upscale').
        seed: noise, resize filters and JPEG qualities.

    Returns:
        inputs (N, H / s, W / s, 3) and targets (N, H, W, 3), float32 in [0, 1] (s = 2 for
        'upscale', else 1).

    Raises:
        ConfigError: 'deblur' or an unknown task, or odd sizes for 'upscale'.
    """
    import torch

    from convert.degrade_restore import degrade_task

    check_task(task)
    if task == "deblur":
        raise ConfigError("deblur pairs come from convert.calib (blur kernels), not degrade_crops")
    if task == "upscale" and (clean.shape[1] % 2 or clean.shape[2] % 2):
        raise ConfigError(f"x2 targets must have even sides, got {clean.shape[1]}x{clean.shape[2]}")
    gen = torch.Generator().manual_seed(seed)
    codec_rng = np.random.default_rng(seed + 7)
    x = torch.from_numpy(np.ascontiguousarray(clean, dtype=np.float32)).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        inputs, targets = degrade_task(task, x, gen, codec_rng)
    return (np.ascontiguousarray(inputs.permute(0, 2, 3, 1).numpy(), dtype=np.float32),
            np.ascontiguousarray(targets.permute(0, 2, 3, 1).numpy(), dtype=np.float32))
