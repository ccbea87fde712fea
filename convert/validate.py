"""The quality gate: run an artifact in its real runtime and compare it to the float model.

Every artifact runs through ``runtime.engines`` (ONNX Runtime or LiteRT, exactly what
users get, int8 I/O scaling included) on held-out validation pairs. It is compared with
the fp32 reference's output (PSNR, max abs error) and with the clean ground truth (PSNR,
SSIM; twice the input's size for an x2 upscaler); NaN/Inf outputs fail outright. The
gate: ground-truth PSNR may drop at most ``gate_db`` below the fp32 reference's.
Per-image ground-truth PSNR is capped at ``GT_PSNR_CAP_DB``: a clean input that the
denoiser keeps clean scores ~50 dB or more, where int8's own rounding (~59 dB) would
dominate the mean with a difference nobody can see.

Example:
    >>> ref = reference_outputs(fp32_entry, fp32_path, pairs)
    >>> report = validate(entry, path, pairs, ref, ValidationConfig(gate_db=0.3))
    >>> report.passed, report.drop_db
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from convert.calib import ImagePairs
from runtime.catalog import ResolvedModel
from runtime.engines import EngineConfig, open_engine
from runtime.errors import ConfigError, EngineError, ModelLoadError
from runtime.lab.metrics import max_abs_error, psnr, ssim
from runtime.manifest import ArtifactEntry

GT_PSNR_CAP_DB = 50.0
"""Ground-truth PSNR per image is capped here (as in training's validation)."""


@dataclass(frozen=True, slots=True)
class ValidationConfig:
    """Quality gate settings.

    Args:
        gate_db: largest allowed drop of ground-truth PSNR below the fp32 reference, in dB.
        border_px: pixels excluded on every side for PSNR/SSIM (capped at a quarter of
            the image side for tiny inputs).
        threads: CPU threads for the engines.
    """

    gate_db: float = 0.3
    border_px: int = 20
    threads: int = 2

    def __post_init__(self) -> None:
        if not self.gate_db >= 0:
            raise ConfigError(f"--gate-db {self.gate_db} must be >= 0")
        if self.border_px < 0 or self.threads < 1:
            raise ConfigError("border_px must be >= 0 and threads >= 1")


@dataclass(frozen=True, slots=True)
class QualityMetrics:
    """Quality of one artifact's outputs on the validation set (means over images).

    Attributes:
        psnr_vs_float_db: PSNR against the fp32 reference's output, dB.
        psnr_vs_gt_db: PSNR against the clean ground truth, dB (each image capped at ``GT_PSNR_CAP_DB``).
        ssim_vs_gt: SSIM against the ground truth.
        max_abs_error: largest |output - fp32 output| over all pixels, in [0, 1] units.
        nonfinite_images: images whose output held NaN/Inf (the engine refused them).
    """

    psnr_vs_float_db: float
    psnr_vs_gt_db: float
    ssim_vs_gt: float
    max_abs_error: float
    nonfinite_images: int

    def as_dict(self) -> dict[str, float]:
        """For the manifest's ``metrics``."""
        return {"psnr_vs_float_db": round(self.psnr_vs_float_db, 3), "psnr_vs_gt_db": round(self.psnr_vs_gt_db, 3),
                "ssim_vs_gt": round(self.ssim_vs_gt, 4), "max_abs_error": round(self.max_abs_error, 5),
                "nonfinite_images": float(self.nonfinite_images)}


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Gate verdict for one artifact.

    Attributes:
        metrics: measured quality.
        reference_psnr_db: the fp32 reference's ground-truth PSNR, dB.
        drop_db: ``reference_psnr_db - metrics.psnr_vs_gt_db`` (positive = worse).
        passed: within the gate and no NaN/Inf.
        reason: one line on why it failed ('' when passed).
        outputs: (N, H * s, W * s, 3) float32 outputs in [0, 1] (s: the model's scale; NaN where
            the engine refused an image).
    """

    metrics: QualityMetrics
    reference_psnr_db: float
    drop_db: float
    passed: bool
    reason: str
    outputs: NDArray[np.float32]


def _border(config: ValidationConfig, size_hw: tuple[int, ...]) -> int:
    return min(config.border_px, min(size_hw) // 4)


def run_artifact(entry: ArtifactEntry, path: Path, images: NDArray[np.float32], threads: int = 2
                 ) -> tuple[NDArray[np.float32], list[str]]:
    """Outputs of an artifact in its real engine, one image at a time.

    Returns:
        (N, H * s, W * s, 3) float32 outputs (s = ``entry.scale``; NaN for refused images) and the engine's error
        message for each refused image; a file the engine refuses to load (its test run
        fails, e.g. an int8 DIV by a zero-quantised divisor) refuses every image.
    """
    errors: list[str] = []
    n, h, w, c = images.shape
    out = np.full((n, h * entry.scale, w * entry.scale, c), np.nan, np.float32)
    try:
        engine = open_engine(ResolvedModel(path, entry), EngineConfig(threads=threads))
    except ModelLoadError as e:
        return out, [str(e)] * len(images)
    with engine:
        for i, img in enumerate(images):
            try:
                out[i] = engine.run(img[None])[0]
            except EngineError as e:
                errors.append(str(e))
    return out, errors


def _gt_psnr(target: NDArray[np.float32], output: NDArray[np.float32], border: int) -> float:
    return min(psnr(target, output, border), GT_PSNR_CAP_DB)


def ground_truth_psnr(outputs: NDArray[np.float32], pairs: ImagePairs, config: ValidationConfig) -> float:
    """Mean PSNR of finite outputs against the clean targets, dB (NaN if none is finite)."""
    border = _border(config, outputs.shape[1:3])
    scores = [_gt_psnr(t, o, border) for o, t in zip(outputs, pairs.targets) if np.isfinite(o).all()]
    return float(np.mean(scores)) if scores else float("nan")


def validate(entry: ArtifactEntry, path: Path, pairs: ImagePairs, reference: NDArray[np.float32],
             config: ValidationConfig) -> ValidationReport:
    """Run one artifact on the validation pairs and apply the gate.

    Args:
        entry: the artifact's manifest entry (tells the engine how to feed it).
        path: its file.
        pairs: held-out validation pairs.
        reference: outputs of the fp32 reference on ``pairs.inputs`` (the targets' shape).
        config: gate and metric settings.
    """
    outputs, errors = run_artifact(entry, path, pairs.inputs, config.threads)
    ok = [i for i in range(len(pairs)) if np.isfinite(outputs[i]).all()]
    border = _border(config, outputs.shape[1:3])
    ref_psnr = ground_truth_psnr(reference, pairs, config)
    if ok:
        metrics = QualityMetrics(
            psnr_vs_float_db=float(np.mean([psnr(reference[i], outputs[i], border) for i in ok])),
            psnr_vs_gt_db=float(np.mean([_gt_psnr(pairs.targets[i], outputs[i], border) for i in ok])),
            ssim_vs_gt=float(np.mean([ssim(pairs.targets[i], outputs[i], border) for i in ok])),
            max_abs_error=max(max_abs_error(reference[i], outputs[i]) for i in ok),
            nonfinite_images=len(errors))
    else:
        metrics = QualityMetrics(float("nan"), float("nan"), float("nan"), float("inf"), len(errors))
    drop = ref_psnr - metrics.psnr_vs_gt_db
    if errors:
        reason = f"{len(errors)}/{len(pairs)} outputs refused by the engine: {errors[0]}"
    elif not drop <= config.gate_db:
        reason = (f"ground-truth PSNR {metrics.psnr_vs_gt_db:.2f} dB is {drop:.2f} dB below fp32 "
                  f"({ref_psnr:.2f} dB); the gate allows {config.gate_db:g} dB")
    else:
        reason = ""
    return ValidationReport(metrics, ref_psnr, drop, not reason, reason, outputs)


@dataclass(frozen=True, slots=True)
class Latency:
    """Per-call latency of one artifact at one input size.

    Attributes:
        median_ms: median wall-clock time per call, ms.
        p90_ms: 90th percentile wall-clock time, ms.
        cpu_ms: median CPU time of the calling thread per call, ms; with one thread all
            the work runs there, so this is insensitive to other jobs on the machine
            (None with more threads, where the work runs in a pool).
        runs: timed calls.
    """

    median_ms: float
    p90_ms: float
    cpu_ms: float | None
    runs: int


def measure_latencies(models: dict[str, tuple[ArtifactEntry, Path]], size_hw: tuple[int, int],
                      rounds: int = 10, threads: int = 2, block: int = 1) -> dict[str, Latency]:
    """Latency of several artifacts measured side by side (round-robin, batch 1).

    Interleaving keeps the ratios fair on a shared, noisy machine: every model sees the
    same background load. Each turn makes ``block`` calls to one model and does not time
    the first (with ``block`` > 1: it lets the previous model's spinning thread pool go
    idle); one warm-up call per model is not counted either.

    Raises:
        ModelLoadError: a file does not load.
    """
    x = np.random.default_rng(0).random((1, *size_hw, 3), dtype=np.float32)
    engines = {k: open_engine(ResolvedModel(p, e), EngineConfig(threads=threads)) for k, (e, p) in models.items()}
    wall: dict[str, list[float]] = {k: [] for k in models}
    cpu: dict[str, list[float]] = {k: [] for k in models}
    try:
        for eng in engines.values():
            eng.run(x)
        for _ in range(rounds):
            for k, eng in engines.items():
                for i in range(block):
                    t0, c0 = time.perf_counter(), time.thread_time()
                    eng.run(x)
                    if i or block == 1:
                        wall[k].append((time.perf_counter() - t0) * 1000)
                        cpu[k].append((time.thread_time() - c0) * 1000)
    finally:
        for eng in engines.values():
            eng.close()
    return {k: Latency(float(np.median(v)), float(np.percentile(v, 90)),
                       float(np.median(cpu[k])) if threads == 1 else None, len(v)) for k, v in wall.items()}
