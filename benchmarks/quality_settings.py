"""The quality benchmark's settings and method-row names, shared by its runner and its report.

They live here so that ``benchmarks.quality`` (which runs the benchmark) and
``benchmarks.quality_report`` (which renders its outputs) read one set of values
without importing each other.
"""
from __future__ import annotations

from benchmarks.evalset import MILD_GROUP, SRGB_GROUP

BORDER_PX = 20
MAX_SHIFT_PX = 4
RL_ITERATIONS = 30
AUTO_MIN_CONFIDENCE = 0.5
GROUPS: tuple[str, ...] = ("camera_shake", "linear_motion", "defocus", "all", MILD_GROUP, SRGB_GROUP)

INPUT, UNSHARP, WIENER_TRUE, RL_TRUE = "blurry input", "unsharp mask (tuned)", "Wiener, true kernel", "RL, true kernel"
HL_TRUE = "hyper-Laplacian, true kernel"
WIENER_FAMILY, WIENER_AUTO = "Wiener, blind (family known)", "Wiener, blind (classify_blur)"
BLIND_HL = "blind full kernel + hyper-Laplacian, always applied"
KERNEL_AWARE = "kernel-aware path (--method kernel)"
BASELINES: tuple[str, ...] = (INPUT, UNSHARP, WIENER_TRUE, RL_TRUE, HL_TRUE, WIENER_FAMILY, WIENER_AUTO, BLIND_HL,
                              KERNEL_AWARE)
TRUE_KERNEL: frozenset[str] = frozenset({WIENER_TRUE, RL_TRUE, HL_TRUE})
"""Rows given the true kernel; all others are blind."""
