"""The project's deblur quality benchmark: classical baselines, blind estimation, the kernel-aware path and models.

Run ``python -m benchmarks.quality [--quick | --full] [--models nano,small] [--out DIR]``.
It blurs the EVAL_IMAGES photos with fixed camera-shake, linear-motion and defocus
kernels plus sRGB noise (``benchmarks.evalset``), restores them with every method and
writes into ``benchmarks/results/quality/``:

- ``quality.json``: per method x family means (PSNR, SSIM, shift-aligned PSNR, gain over
  the blurry input), blind-estimation accuracy, per-case rows, run metadata;
- ``quality.md``: the same as tables; ``strip.jpg``: face crops before/after;
- ``speed.json`` / ``speed.md``: milliseconds per 256x256 and per 1280x720 image;
- ``kernels.npz``: the exact kernels used.

Metrics exclude a 20 px border. Unsharp-mask parameters are tuned on TRAIN_IMAGES only,
and so were every setting and threshold of the kernel-aware path. Rows marked "true
kernel" are given the kernel that made the blur (upper bounds); every other row is blind.
Shipped models come from ``runtime/models/manifest.json`` (the fp32 artifact of every deblur
model, ONNX preferred); each runs plain (``--method model``) and as ``--method auto``
(what ``edgedeblur deblur --model X`` does by default: the kernel-aware path, the model
when that path is unsure). With no models there yet, the baselines still run.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from benchmarks.evalset import (
    DEFOCUS_RADII_PX,
    FACE_BOXES,
    MILD_GROUP,
    SRGB_GROUP,
    NOISE_SIGMA,
    TUNE_IMAGES,
    UNSHARP_AMOUNTS,
    UNSHARP_RADII_PX,
    Case,
    UnsharpParams,
    benchmark_kernels,
    eval_cases,
    face_crop,
    tune_unsharp,
    tuning_cases,
)
from benchmarks.quality_report import render_strip, write_markdown, write_speed
from benchmarks.quality_speed import SPEED_SIZES_HW, measure_speed
from benchmarks.quality_settings import (
    AUTO_MIN_CONFIDENCE,
    BASELINES,
    BLIND_HL,
    BORDER_PX,
    GROUPS,
    HL_TRUE,
    INPUT,
    KERNEL_AWARE,
    MAX_SHIFT_PX,
    RL_ITERATIONS,
    RL_TRUE,
    UNSHARP,
    WIENER_AUTO,
    WIENER_FAMILY,
    WIENER_TRUE,
)
from runtime.errors import EdgeDeblurError
from runtime.lab.metrics import aligned_psnr, psnr, ssim
from runtime.lab.sample_images import EVAL_IMAGES, FACE_IMAGES
from runtime.photo.blind_kernel import BlindKernelConfig, estimate_kernel
from runtime.photo.classical import hyper_laplacian, richardson_lucy, unsharp_mask, wiener
from runtime.photo.estimate import BlurEstimate, classify_blur, estimate_defocus, estimate_motion
from runtime.photo.kernel_aware import KernelAwareConfig, KernelAwareResult, kernel_aware_deblur
from runtime.photo.kernels import BlurFamily

if TYPE_CHECKING:
    from runtime.photo.deblur import DeblurResult
    from runtime.engines.base import Engine

log = logging.getLogger("benchmarks.quality")

FloatImage = NDArray[np.float32]
Restore = Callable[[Case], FloatImage]

STRIP_CASES: tuple[str, ...] = ("shake4", "defocus_r4")
QUICK_KERNELS: tuple[str, ...] = ("shake1", "shake4", "motion11", "motion21", "defocus_r2", "defocus_r4", "defocus_r6",
                                  "mild_none", "mild_gauss1", "mild_shake5", "mild_defocus1", "srgb_shake13",
                                  "srgb_defocus4")
RESULTS_DIR = Path(__file__).resolve().parent / "results" / "quality"
QUICK_DIR = RESULTS_DIR.with_name("quality_quick")


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """What one run covers."""

    images: tuple[str, ...]
    kernel_ids: tuple[str, ...] | None
    long_side_px: int
    tune_per_family: int
    speed_repeats: int
    speed_sizes: tuple[str, ...]
    models: tuple[str, ...] | None
    out: Path

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BenchConfig:
        models = tuple(m.strip() for m in args.models.split(",") if m.strip()) if args.models else None
        if args.quick:
            return cls(FACE_IMAGES, QUICK_KERNELS, 320, 1, 1, ("256x256",), models, Path(args.out))
        return cls(EVAL_IMAGES, None, 512 if args.full else 384, 2, 3, tuple(SPEED_SIZES_HW), models,
                   Path(args.out))


@dataclass(frozen=True, slots=True)
class Row:
    """One (case, method) measurement; ``gain_db`` is PSNR minus the blurry input's."""

    case_id: str
    image: str
    group: str
    kernel_id: str
    method: str
    psnr_db: float
    ssim: float
    aligned_psnr_db: float
    shift_yx: tuple[int, int]
    gain_db: float


@dataclass(frozen=True, slots=True)
class EstimateRow:
    """What a blind estimator said about one case."""

    case_id: str
    estimator: str
    group: str
    true_family: str
    true_size_px: float
    true_angle_deg: float | None
    family: str
    sharp: bool
    size_px: float
    angle_deg: float | None
    confidence: float


@dataclass(frozen=True, slots=True)
class PathRow:
    """What the kernel-aware path did with one case, and how long it took."""

    case_id: str
    group: str
    path: str
    total_ms: float


@dataclass(slots=True)
class LoadedModels:
    """Restorers for shipped models (plain and ``--method auto``), their engines (for timing), what was skipped."""

    restore: dict[str, Restore] = field(default_factory=dict)
    auto: dict[str, Callable[[Case], DeblurResult]] = field(default_factory=dict)
    engines: dict[str, Engine] = field(default_factory=dict)
    info: list[dict[str, str]] = field(default_factory=list)

    def close(self) -> None:
        """Release every engine."""
        for engine in self.engines.values():
            engine.close()


def load_models(names: tuple[str, ...] | None) -> LoadedModels:
    """Engines for the requested (or all shipped fp32 deblur) models; failures are recorded, not fatal."""
    loaded = LoadedModels()
    try:
        from runtime.catalog import DEFAULT_MODEL, load_shipped_manifest
        from runtime.photo.deblur import DeblurConfig, Method, deblur_image
        from runtime.engines import create_engine
        from runtime.engines.base import EngineConfig
        from runtime.manifest import Precision, Status
    except ImportError as e:
        loaded.info.append({"name": "*", "status": "skipped", "reason": f"runtime model API missing: {e}"})
        return loaded
    if names is None:
        manifest = load_shipped_manifest()
        nets = sorted({a.model for a in manifest.artifacts  # deblur nets: not the denoiser or upscaler
                       if a.status is Status.OK and a.precision is Precision.FP32 and a.task == "deblur"})
        names = (DEFAULT_MODEL, *(n for n in nets if n != DEFAULT_MODEL))   # the photo default first
    for name in names:
        try:
            engine = create_engine(name, EngineConfig(threads=2))
        except EdgeDeblurError as e:
            loaded.info.append({"name": name, "status": "skipped", "reason": str(e)})
            log.warning("model %s skipped: %s", name, e)
            continue
        label = f"model {engine.info.id}"
        plain = DeblurConfig(model=name, method=Method.MODEL)
        auto = DeblurConfig(model=name, method=Method.AUTO)

        def run(case: Case, engine: Engine = engine, config: DeblurConfig = plain) -> FloatImage:
            return deblur_image(case.blurry, config, engine=engine).image

        def run_auto(case: Case, engine: Engine = engine, config: DeblurConfig = auto) -> DeblurResult:
            return deblur_image(case.blurry, config, engine=engine)

        loaded.restore[label] = run
        loaded.auto[f"{name} (auto)"] = run_auto
        loaded.engines[label] = engine
        loaded.info.append({"name": name, "id": engine.info.id, "path": str(engine.info.path), "status": "ok"})
    return loaded


def _auto_wiener(case: Case, est: BlurEstimate) -> FloatImage:
    """What a classical --mode auto does: Wiener on a confident estimate, else leave the photo."""
    if est.is_sharp or est.confidence < AUTO_MIN_CONFIDENCE or est.family is BlurFamily.CAMERA_SHAKE:
        return case.blurry
    return wiener(case.blurry, est.kernel)


def _estimate_row(case: Case, estimator: str, est: BlurEstimate) -> EstimateRow:
    bk = case.blur
    return EstimateRow(case.case_id, estimator, bk.group, bk.family.value, bk.size_px, bk.angle_deg,
                       est.family.value, est.is_sharp, round(est.size_px, 3),
                       None if est.angle_deg is None else round(est.angle_deg, 2), round(est.confidence, 3))


def run_cases(cases: list[Case], unsharp: UnsharpParams, models: LoadedModels
              ) -> Iterator[tuple[Case, dict[str, FloatImage], list[EstimateRow], PathRow]]:
    """Restore every case with every method; yields the outputs, the estimates and the kernel path's choice."""
    for i, case in enumerate(cases):
        t0 = time.perf_counter()
        k = case.blur.kernel
        outs: dict[str, FloatImage] = {
            INPUT: case.blurry,
            UNSHARP: unsharp_mask(case.blurry, unsharp.amount, unsharp.radius_px),
            WIENER_TRUE: wiener(case.blurry, k),
            RL_TRUE: richardson_lucy(case.blurry, k, RL_ITERATIONS),
            HL_TRUE: hyper_laplacian(case.blurry, k),
        }
        auto = classify_blur(case.blurry)
        estimates = [_estimate_row(case, "classify_blur", auto)]
        family_estimator = {BlurFamily.DEFOCUS: estimate_defocus, BlurFamily.LINEAR_MOTION: estimate_motion}
        if case.blur.family in family_estimator:
            estimator = family_estimator[case.blur.family]
            est = estimator(case.blurry)
            estimates.append(_estimate_row(case, estimator.__name__, est))
            outs[WIENER_FAMILY] = case.blurry if est.is_sharp else wiener(case.blurry, est.kernel)
        outs[WIENER_AUTO] = _auto_wiener(case, auto)
        outs[BLIND_HL] = hyper_laplacian(case.blurry, estimate_kernel(case.blurry, BlindKernelConfig()).kernel,
                                         KernelAwareConfig().blind_weight)
        path: KernelAwareResult | None = None
        for label, restore in models.restore.items():
            outs[label] = restore(case)
        for label, run_auto in models.auto.items():
            result = run_auto(case)
            outs[label] = result.image
            path = path or result.kernel_aware   # the same for every model: it runs before any model
        if path is None:
            path = kernel_aware_deblur(case.blurry, KernelAwareConfig())
        outs[KERNEL_AWARE] = path.image
        log.info("[%d/%d] %s  %s  %.1f s", i + 1, len(cases), case.case_id, path.method.value,
                 time.perf_counter() - t0)
        yield case, outs, estimates, PathRow(case.case_id, case.blur.group, path.method.value,
                                             round(path.timings_ms["total"], 1))


def path_counts(rows: list[PathRow]) -> dict[str, dict[str, int]]:
    """How often the kernel-aware path took each branch, per benchmark family."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        family = "defocus" if r.group.startswith("defocus") else r.group
        out.setdefault(family, {})
        out[family][r.path] = out[family].get(r.path, 0) + 1
    return out


def summarise(rows: list[Row]) -> dict[str, dict[str, dict[str, float]]]:
    """Mean scores per method x group; groups are families, each defocus radius and 'all'."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    seen = set(r.method for r in rows)
    for method in [m for m in BASELINES if m in seen] + sorted(seen - set(BASELINES)):
        mine = [r for r in rows if r.method == method]
        groups = {g: [r for r in mine if (g == "all" and r.group not in (MILD_GROUP, SRGB_GROUP)) or r.group == g
                      or r.group.startswith(g + "_")]
                  for g in GROUPS + tuple(f"defocus_r{r:g}" for r in DEFOCUS_RADII_PX)}
        out[method] = {g: {"psnr_db": round(float(np.mean([r.psnr_db for r in rs])), 3),
                           "ssim": round(float(np.mean([r.ssim for r in rs])), 4),
                           "aligned_psnr_db": round(float(np.mean([r.aligned_psnr_db for r in rs])), 3),
                           "gain_db": round(float(np.mean([r.gain_db for r in rs])), 3),
                           "n": len(rs)}
                       for g, rs in groups.items() if rs}
    return out


def estimation_accuracy(rows: list[EstimateRow]) -> dict[str, dict[str, dict[str, float]]]:
    """Per estimator x family: share with the right family and mean size/angle errors."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for estimator in dict.fromkeys(r.estimator for r in rows):
        out[estimator] = {}
        for fam in (f.value for f in (BlurFamily.CAMERA_SHAKE, BlurFamily.LINEAR_MOTION, BlurFamily.DEFOCUS)):
            rs = [r for r in rows if r.estimator == estimator and r.true_family == fam]
            if not rs:
                continue
            right = [r for r in rs if r.family == fam and not r.sharp]
            cell: dict[str, float] = {"n": len(rs), "family_correct": round(len(right) / len(rs), 3)}
            if right and fam != BlurFamily.CAMERA_SHAKE.value:
                cell["mean_abs_size_err_px"] = round(float(np.mean([abs(r.size_px - r.true_size_px) for r in right])), 3)
            angled = [r for r in right if r.angle_deg is not None and r.true_angle_deg is not None]
            if angled:
                cell["mean_abs_angle_err_deg"] = round(float(np.mean(
                    [abs((r.angle_deg - r.true_angle_deg + 90) % 180 - 90) for r in angled])), 2)  # type: ignore[operator]
            out[estimator][fam] = cell
    return out


def _meta(cfg: BenchConfig, seconds: float) -> dict[str, object]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, check=True,
                                  cwd=Path(__file__).parent).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown"

    import onnxruntime
    import scipy

    return {
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--", "runtime", "benchmarks/quality.py",
                              "benchmarks/quality_settings.py", "benchmarks/quality_report.py",
                              "benchmarks/evalset.py")),
        "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "processor": platform.machine(),
                    "cpu_count": os.cpu_count(), "python": platform.python_version()},
        "versions": {"numpy": np.__version__, "opencv": cv2.__version__, "scipy": scipy.__version__,
                     "onnxruntime": onnxruntime.__version__},
        "images": list(cfg.images),
        "long_side_px": cfg.long_side_px,
        "seconds": round(seconds, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def run(cfg: BenchConfig) -> dict[str, object]:
    """The whole benchmark; writes every output file and returns the quality report."""
    start = time.perf_counter()
    cfg.out.mkdir(parents=True, exist_ok=True)
    unsharp = tune_unsharp(tuning_cases(cfg.long_side_px, cfg.tune_per_family), BORDER_PX)
    log.info("unsharp tuned on TRAIN_IMAGES: amount %s, radius %s px", unsharp.amount, unsharp.radius_px)
    models = load_models(cfg.models)
    try:
        return _run(cfg, unsharp, models, start)
    finally:
        models.close()


def _run(cfg: BenchConfig, unsharp: UnsharpParams, models: LoadedModels, start: float) -> dict[str, object]:
    rows: list[Row] = []
    est_rows: list[EstimateRow] = []
    path_rows: list[PathRow] = []
    strip: dict[str, dict[str, FloatImage]] = {}
    cases = eval_cases(cfg.images, cfg.long_side_px, cfg.kernel_ids)
    for case, outs, estimates, path in run_cases(cases, unsharp, models):
        path_rows.append(path)
        base = psnr(case.sharp, case.blurry, BORDER_PX)
        for method, img in outs.items():
            p, al = psnr(case.sharp, img, BORDER_PX), aligned_psnr(case.sharp, img, BORDER_PX, MAX_SHIFT_PX)
            rows.append(Row(case.case_id, case.image_name, case.blur.group, case.blur.kernel_id, method,
                            round(p, 3), round(ssim(case.sharp, img, BORDER_PX), 4), round(al.psnr_db, 3),
                            al.shift_yx, round(p - base, 3)))
        if case.blur.group not in (MILD_GROUP, SRGB_GROUP):  # estimator accuracy: linear-light blur
            est_rows += estimates
        if case.image_name in FACE_BOXES and case.blur.kernel_id in STRIP_CASES:
            crop = face_crop(case.image_name, case.sharp.shape)
            strip[case.case_id] = {"sharp": case.sharp[crop], **{m: o[crop] for m, o in outs.items()}}
    columns = ["sharp", INPUT, UNSHARP, RL_TRUE, HL_TRUE, KERNEL_AWARE, *models.restore, *models.auto]
    if strip:
        render_strip(strip, columns, cfg.out / "strip.jpg")
    kernels = benchmark_kernels()
    np.savez_compressed(cfg.out / "kernels.npz", **{k.kernel_id: k.kernel for k in kernels})
    report: dict[str, object] = {
        "benchmark": "quality",
        "config": {
            "noise_sigma_srgb": NOISE_SIGMA, "border_px": BORDER_PX, "max_shift_px": MAX_SHIFT_PX,
            "kernels": [{"id": k.kernel_id, "family": k.family.value, "group": k.group, "size_px": k.size_px,
                         "angle_deg": k.angle_deg, "centred": k.centred, "shape": list(k.kernel.shape)}
                        for k in kernels],
            "unsharp": {**asdict(unsharp), "tuned_on": list(TUNE_IMAGES),
                        "grid": {"amount": UNSHARP_AMOUNTS, "radius_px": UNSHARP_RADII_PX}},
            "wiener": "balance 0.01, gradient regulariser (library defaults, chosen on TRAIN_IMAGES)",
            "richardson_lucy": f"{RL_ITERATIONS} iterations",
            "hyper_laplacian": "weight 2000, alpha 0.8 (library defaults, chosen on TRAIN_IMAGES)",
            "blind_kernel": {"kernel_size_px": BlindKernelConfig().kernel_size_px,
                             "max_side_px": BlindKernelConfig().max_side_px},
            "kernel_aware": {name: getattr(KernelAwareConfig(), name)
                             for name in ("min_confidence", "recheck_confidence", "max_fit_ratio",
                                          "switch_fit_ratio", "weight", "blind_weight", "alpha")},
        },
        "models": models.info,
        "summary": summarise(rows),
        "estimation": estimation_accuracy(est_rows),
        "kernel_path": path_counts(path_rows),
        "kernel_path_ms_median": round(float(np.median([p.total_ms for p in path_rows])), 1) if path_rows else None,
        "rows": [asdict(r) for r in rows],
        "estimates": [asdict(r) for r in est_rows],
        "paths": [asdict(p) for p in path_rows],
    }
    speed = measure_speed(unsharp, models.engines, cfg.speed_repeats, cfg.speed_sizes)
    report = {"meta": _meta(cfg, time.perf_counter() - start), **report}
    (cfg.out / "quality.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    write_markdown(cfg.out / "quality.md", report)
    write_speed(cfg.out, speed, report["meta"])  # type: ignore[arg-type]
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="2 face images x 13 kernels at 320 px, speed at 256x256 only (a few minutes on 2 busy cores)")
    size.add_argument("--full", action="store_true", help="long side 512 px instead of 384")
    parser.add_argument("--models", help="comma-separated model names (default: every shipped fp32 deblur model)")
    parser.add_argument("--out", default=None,
                        help=f"output folder (default: {RESULTS_DIR}, or {QUICK_DIR} with --quick, so a quick look "
                             "never replaces the full tables)")
    args = parser.parse_args(argv)
    args.out = args.out or str(QUICK_DIR if args.quick else RESULTS_DIR)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        report = run(BenchConfig.from_args(args))
    except EdgeDeblurError as e:
        log.error("quality benchmark failed: %s", e)
        return 1
    log.info("wrote %s (%s s)", args.out, report["meta"]["seconds"])  # type: ignore[index]
    return 0


if __name__ == "__main__":
    sys.exit(main())
