"""The quality benchmark's speed table: median milliseconds per image for every method.

Kept apart from the quality run (benchmarks/quality.py) because it measures time, not
output: the same inputs and kernels, timed on 256x256 and 720p crops.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

import numpy as np
from numpy.typing import NDArray

from benchmarks.evalset import UnsharpParams, benchmark_kernels, prepare
from benchmarks.quality_settings import HL_TRUE, RL_ITERATIONS, RL_TRUE, UNSHARP, WIENER_TRUE
from runtime.lab.degradations import blur
from runtime.photo.blind_kernel import estimate_kernel
from runtime.photo.classical import hyper_laplacian, richardson_lucy, unsharp_mask, wiener
from runtime.photo.estimate import classify_blur
from runtime.photo.kernel_aware import kernel_aware_deblur

if TYPE_CHECKING:
    from runtime.engines.base import Engine

FloatImage = NDArray[np.float32]
SPEED_SIZES_HW: dict[str, tuple[int, int]] = {"256x256": (256, 256), "1280x720": (720, 1280)}


def _time_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (engine caches, FFT plans)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return round(float(np.median(times)), 1)


def measure_speed(unsharp: UnsharpParams, engines: dict[str, Engine], repeats: int,
                  size_names: tuple[str, ...]) -> list[dict[str, object]]:
    """Median ms per image of each size for baselines and models (models on 2 threads).

    Inputs are coffee crops blurred with the ``shake4`` kernel, so the kernel-aware path
    takes its slowest (blind kernel) branch when the classifier calls it camera shake.
    """
    big = prepare("coffee", 1280)
    shake = next(k.kernel for k in benchmark_kernels() if k.kernel_id == "shake4")
    sizes = {}
    for name in size_names:
        h, w = SPEED_SIZES_HW[name]
        top, left = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
        sizes[name] = blur(np.ascontiguousarray(big[top: top + h, left: left + w]), shake)
    kernel = next(k.kernel for k in benchmark_kernels() if k.kernel_id == "motion11")  # a mid-sized kernel
    tile = np.ascontiguousarray(big[:256, :256])[None]
    methods: dict[str, Callable[[FloatImage], object]] = {
        UNSHARP: lambda im: unsharp_mask(im, unsharp.amount, unsharp.radius_px),
        WIENER_TRUE: lambda im: wiener(im, kernel),
        RL_TRUE: lambda im: richardson_lucy(im, kernel, RL_ITERATIONS),
        HL_TRUE: lambda im: hyper_laplacian(im, kernel),
        "classify_blur (estimate only)": classify_blur,
        "blind full kernel (estimate only)": estimate_kernel,
        "kernel-aware path (estimate + check + deconvolve)": kernel_aware_deblur,
    }
    rows: list[dict[str, object]] = []
    for name, fn in methods.items():
        row: dict[str, object] = {"method": name}
        for size, im in sizes.items():
            row[f"ms_{size}"] = _time_ms(lambda: fn(im), repeats if size == "256x256" else max(1, repeats // 2))
        rows.append(row)
    if not engines:
        return rows
    from runtime.engines.tiling import TileConfig, run_tiled

    for label, engine in engines.items():
        row = {"method": label, "engine_ms_256x256": _time_ms(lambda: engine.run(tile), 2 * repeats)}
        for size, im in sizes.items():
            row[f"ms_{size}"] = _time_ms(lambda: run_tiled(engine, im, TileConfig()), max(1, repeats // 2))
        rows.append(row)
    return rows
