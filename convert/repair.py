"""Quantise to int8 behind the quality gate, repairing the model when plain int8 loses too much.

Plain post-training int8 often costs deblur nets ~2 dB. When the gate fails, in order:

1. other calibration methods (min-max, percentile, entropy): free at run time;
2. mixed precision: first the normalisation and attention ops (division, square root,
   mean, softmax, matmul) in float, as a group; then per-layer sensitivity (keep one layer in float, measure the gain in
   PSNR vs the float model on calibration images, never validation images), then keep
   the top 1, 2, 4, ... layers in float until the gate passes, up to ``max_float_fraction``
   of the layers;
3. quantisation-aware fine-tuning (zoo and checkpoint models only, ``qat_steps > 0``):
   see ``convert.qat``; the fine-tuned model is quantised again with the best method.

The first attempt that passes is kept; if none does, the best one is returned with a
failed report and the build marks it rejected. Every attempt is recorded for the report.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
from numpy.typing import NDArray

from convert.artifact import Artifact
from convert.calib import ImagePairs
from convert.quantize import CalibMethod
from convert.validate import ValidationConfig, ValidationReport, run_artifact, validate
from runtime.errors import ConfigError
from runtime.lab.metrics import psnr
from runtime.manifest import ArtifactEntry, Status

log = logging.getLogger(__name__)

SENSITIVITY_IMAGES = 4
"""Calibration images used to rank layers (PSNR vs float); enough to separate layers."""


@dataclass(frozen=True, slots=True)
class RepairConfig:
    """What the repair loop may try.

    Args:
        enabled: False reports the plain min-max result without trying anything else.
        methods: calibration methods to try, in order (the first is the baseline).
        max_float_fraction: at most this fraction of the compute layers may stay in float.
        qat_steps: quantisation-aware fine-tuning steps (0: off; PyTorch sources only).
    """

    enabled: bool = True
    methods: tuple[CalibMethod, ...] = (CalibMethod.MINMAX, CalibMethod.PERCENTILE, CalibMethod.ENTROPY)
    max_float_fraction: float = 0.25
    qat_steps: int = 0

    def __post_init__(self) -> None:
        if not self.methods:
            raise ConfigError("repair needs at least one calibration method")
        if not 0 <= self.max_float_fraction <= 1:
            raise ConfigError(f"max_float_fraction {self.max_float_fraction} must be in [0, 1]")
        if self.qat_steps < 0:
            raise ConfigError(f"--qat-steps {self.qat_steps} must be >= 0")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One quantisation tried by the repair loop."""

    label: str
    method: CalibMethod
    kept_in_float: tuple[str, ...]
    psnr_vs_gt_db: float
    drop_db: float
    passed: bool


@dataclass(frozen=True, slots=True)
class RepairResult:
    """The artifact kept, its gate report and everything that was tried.

    Attributes:
        artifact: the chosen file (already at the requested path).
        report: its validation report.
        chosen: the attempt that made it.
        attempts: every attempt, in order.
        sensitivity: (layer, PSNR gain vs float in dB when kept in float), most sensitive
            first; empty when the loop did not get that far.
    """

    artifact: Artifact
    report: ValidationReport
    chosen: Attempt
    attempts: tuple[Attempt, ...]
    sensitivity: tuple[tuple[str, float], ...] = ()


class RepairTarget(Protocol):
    """One format's quantiser as the repair loop sees it."""

    def candidates(self) -> list[tuple[str, ...]]:
        """Per layer, the names (nodes or op outputs) to keep in float so that layer's output
        is never quantised; the layer itself first, graph order."""
        ...

    def islands(self) -> tuple[str, ...]:
        """The normalisation and attention ops (names as in ``candidates``), tried in float first."""
        ...

    def label(self, name: str) -> str:
        """A readable layer name for the report."""
        ...

    def quantize(self, out: Path, method: CalibMethod, keep_float: tuple[str, ...]) -> Artifact:
        """Write an int8 file with these settings."""
        ...


def scratch_entry(artifact: Artifact) -> ArtifactEntry:
    """A throwaway manifest entry so the runtime engine can load an intermediate file."""
    return artifact.entry(artifact.path.name, artifact.path.parent, target=None, status=Status.OK,
                          metrics={}, notes={})


def _psnr_vs(ref: NDArray[np.float32], out: NDArray[np.float32], border: int) -> float:
    scores = [psnr(r, o, border) if np.isfinite(o).all() else 0.0 for r, o in zip(ref, out)]
    return float(np.mean(scores))


class _Loop:
    """State of one repair run (kept out of the public function to keep it short)."""

    def __init__(self, target: RepairTarget, out: Path, pairs: ImagePairs, reference: NDArray[np.float32],
                 config: ValidationConfig) -> None:
        self.target, self.out, self.pairs, self.reference, self.config = target, out, pairs, reference, config
        self.attempts: list[Attempt] = []
        self.best: tuple[Path, Artifact, ValidationReport, Attempt] | None = None
        self._n = 0

    def scratch_path(self) -> Path:
        """A fresh hidden file next to ``out`` (removed unless it becomes the result)."""
        self._n += 1
        return self.out.with_name(f".{self.out.stem}.try{self._n}{self.out.suffix}")

    def attempt(self, label: str, method: CalibMethod, keep: tuple[str, ...],
                quantize: Callable[[Path], Artifact] | None = None) -> bool:
        path = self.scratch_path()
        artifact = quantize(path) if quantize else self.target.quantize(path, method, keep)
        report = validate(scratch_entry(artifact), path, self.pairs, self.reference, self.config)
        names = tuple(dict.fromkeys(self.target.label(k) for k in keep))  # a layer's tensors share a label
        tried = Attempt(label, method, names, report.metrics.psnr_vs_gt_db, report.drop_db, report.passed)
        self.attempts.append(tried)
        log.info("int8 %s: %s drop %.2f dB", self.out.name, label, report.drop_db)
        if self.best is None or _better(report, self.best[2]):
            if self.best is not None:
                self.best[0].unlink(missing_ok=True)
            self.best = (path, artifact, report, tried)
        else:
            path.unlink(missing_ok=True)
        return report.passed

    @property
    def best_method(self) -> CalibMethod:
        """Calibration method of the best attempt so far."""
        return self.best[3].method if self.best is not None else CalibMethod.MINMAX

    def result(self, sensitivity: tuple[tuple[str, float], ...]) -> RepairResult:
        assert self.best is not None, "quantize_with_gate always makes one attempt first"
        path, artifact, report, chosen = self.best
        os.replace(path, self.out)
        final = replace(artifact, path=self.out, provenance={**artifact.provenance, "repair": chosen.label})
        return RepairResult(final, report, chosen, tuple(self.attempts), sensitivity)


def _better(a: ValidationReport, b: ValidationReport) -> bool:
    if a.passed != b.passed:
        return a.passed
    return bool(np.nan_to_num(a.drop_db, nan=np.inf) < np.nan_to_num(b.drop_db, nan=np.inf))


def sensitivity(target: RepairTarget, method: CalibMethod, calib: NDArray[np.float32],
                float_out: NDArray[np.float32], scratch: Path, border: int, threads: int = 2
                ) -> list[tuple[tuple[str, ...], float]]:
    """Rank layers by how much PSNR vs float improves when only that layer's output stays float.

    Args:
        target: the quantiser.
        method: calibration method of the baseline.
        calib: (K, H, W, 3) calibration images (never validation images).
        float_out: the float model's outputs on ``calib``.
        scratch: a temp file path the trial models are written to (removed after).
        border: PSNR border in pixels.
        threads: engine threads.

    Returns:
        (group, gain in dB) for every candidate group, largest gain first.
    """
    def score(keep: tuple[str, ...]) -> float:
        artifact = target.quantize(scratch, method, keep)
        out, _ = run_artifact(scratch_entry(artifact), scratch, calib, threads)
        return _psnr_vs(float_out, out, border)

    try:
        base = score(())
        gains = [(group, score(group) - base) for group in target.candidates()]
    finally:
        scratch.unlink(missing_ok=True)
    return sorted(gains, key=lambda g: -g[1])


def quantize_with_gate(target: RepairTarget, out: Path, pairs: ImagePairs, reference: NDArray[np.float32],
                       calib: NDArray[np.float32], float_calib_out: NDArray[np.float32],
                       vconfig: ValidationConfig, rconfig: RepairConfig,
                       qat: Callable[[Path, CalibMethod], Artifact] | None = None) -> RepairResult:
    """Quantise ``target`` to int8 at ``out`` so it passes the gate, repairing if needed.

    Args:
        target: the format's quantiser.
        out: where the chosen file goes.
        pairs: validation pairs for the gate.
        reference: fp32 reference outputs on ``pairs.inputs``.
        calib: calibration images (the sensitivity analysis uses a few of them).
        float_calib_out: the same-format float model's outputs on ``calib[:SENSITIVITY_IMAGES]``.
        vconfig: gate settings.
        rconfig: what may be tried.
        qat: makes an int8 file from a quantisation-aware fine-tuned model (PyTorch sources
            with ``qat_steps`` > 0; None to skip that step).

    Returns:
        The chosen artifact (passed, or the best failure), its report and all attempts.
    """
    loop = _Loop(target, out, pairs, reference, vconfig)
    first, *others = rconfig.methods
    if loop.attempt(f"{first.value} calibration", first, ()) or not rconfig.enabled:
        return loop.result(())
    for method in others:
        if loop.attempt(f"{method.value} calibration", method, ()):
            return loop.result(())
    method = loop.best_method
    table: tuple[tuple[str, float], ...] = ()
    islands = target.islands() if rconfig.max_float_fraction > 0 else ()
    if islands and loop.attempt(f"{method.value} calibration, {len(islands)} normalisation/attention op(s) in float",
                                method, islands):
        return loop.result(())
    if rconfig.max_float_fraction > 0:  # 0: full int8 only (Edge TPU), no layer may stay float
        table = _float_islands(loop, method, calib, float_calib_out, vconfig, rconfig)
        if loop.best is not None and loop.best[2].passed:
            return loop.result(table)
    if qat is not None:
        loop.attempt(f"QAT {rconfig.qat_steps} steps + {method.value} calibration", method, (),
                     quantize=lambda p: qat(p, method))
    return loop.result(table)


def _float_islands(loop: _Loop, method: CalibMethod, calib: NDArray[np.float32], float_calib_out: NDArray[np.float32],
                   vconfig: ValidationConfig, rconfig: RepairConfig) -> tuple[tuple[str, float], ...]:
    """Keep the 1, 2, 4, ... most sensitive layers in float until the gate passes; the ranking."""
    target = loop.target
    border = min(vconfig.border_px, min(calib.shape[1:3]) // 4)
    ranked = sensitivity(target, method, calib[:SENSITIVITY_IMAGES], float_calib_out, loop.scratch_path(), border,
                         vconfig.threads)
    table = tuple((target.label(group[0]), gain) for group, gain in ranked)
    limit = max(1, int(len(ranked) * rconfig.max_float_fraction))
    k, tried = 1, ()
    while k <= limit:
        keep = tuple(dict.fromkeys(name for group, gain in ranked[:k] if gain > 0 for name in group))
        if keep and keep != tried and loop.attempt(
                f"{method.value} calibration, {k} most sensitive layer(s) in float", method, keep):
            return table
        tried = keep
        k = k * 2 if k * 2 <= limit or k == limit else limit
    return table
