"""Renders the quality benchmark's outputs: quality.md, speed.json/speed.md and the strip.jpg face crops.

Kept apart from ``benchmarks.quality`` (which measures) so quality.md and speed.md can be
regenerated from the committed JSON without rerunning the benchmark.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from benchmarks.pictures import write_picture
from benchmarks.evalset import DEFOCUS_RADII_PX, NOISE_SIGMA
from benchmarks.quality_settings import (
    AUTO_MIN_CONFIDENCE,
    BORDER_PX,
    GROUPS,
    HL_TRUE,
    INPUT,
    KERNEL_AWARE,
    MAX_SHIFT_PX,
    RL_ITERATIONS,
    RL_TRUE,
    TRUE_KERNEL,
    UNSHARP,
    WIENER_AUTO,
    WIENER_TRUE,
)
from runtime.lab.metrics import psnr

PATH_BRANCHES: tuple[str, ...] = ("defocus", "linear_motion", "shake", "sharp", "unsure")
STRIP_CELL_PX = 128
SHORT_NAMES: dict[str, str] = {INPUT: "blurry", UNSHARP: "unsharp", WIENER_TRUE: "Wiener (true k)",
                               RL_TRUE: "RL (true k)", HL_TRUE: "hyper-Lap. (true k)",
                               WIENER_AUTO: "Wiener (blind)", KERNEL_AWARE: "kernel path (blind)"}


def _label(img: NDArray[np.uint8], text: str, y: int, scale: float = 0.42) -> None:
    for colour, thick in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(img, text, (4, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)


def render_strip(cells: dict[str, dict[str, NDArray[np.float32]]], columns: list[str], path: Path) -> None:
    """Rows of face crops (one per case) x methods, with column titles and crop PSNR."""
    size = STRIP_CELL_PX
    header = np.full((28, size * len(columns), 3), 255, np.uint8)
    for j, name in enumerate(columns):
        title = SHORT_NAMES.get(name, name.removeprefix("model "))
        cv2.putText(header, title[:22], (j * size + 4, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    rows = [header]
    for case_id, outs in cells.items():
        sharp = outs["sharp"]
        tiles = []
        for name in columns:
            tile = (np.clip(cv2.resize(outs[name], (size, size), interpolation=cv2.INTER_CUBIC), 0, 1) * 255
                    + 0.5).astype(np.uint8)
            if name == "sharp":
                for k, part in enumerate(case_id.split("/")):
                    _label(tile, part, size - 26 + 18 * k)
            else:
                _label(tile, f"{psnr(sharp, outs[name], 0):.1f} dB", size - 8)
            tiles.append(tile)
        rows.append(np.hstack(tiles))
    write_picture(path, np.vstack(rows))


def _fmt(cell: dict[str, float] | None, key: str, digits: int = 2) -> str:
    return "–" if cell is None else f"{cell[key]:.{digits}f}"


def write_markdown(path: Path, report: dict[str, object]) -> None:
    """quality.md: families as columns, then the per-radius view and estimator accuracy."""
    summary: dict[str, dict[str, dict[str, float]]] = report["summary"]  # type: ignore[assignment]
    meta: dict[str, object] = report["meta"]  # type: ignore[assignment]
    cfg: dict[str, object] = report["config"]  # type: ignore[assignment]
    lines = [
        "# Deblur quality benchmark",
        "",
        f"{meta['date_utc']}, commit `{str(meta['git_commit'])[:10]}`{' (dirty)' if meta['git_dirty'] else ''}, "
        f"{meta['machine']['cpu_count']} CPUs; images {', '.join(meta['images'])} "  # type: ignore[index]
        f"(long side {meta['long_side_px']} px); sRGB noise sigma {NOISE_SIGMA}; metrics exclude a "
        f"{BORDER_PX} px border; 'all' is the mean over every linear-light blurred case; 'sharp / mild' holds the "
        "4 extra cases per image with no blur, Gaussian sigma 1, a 5 px shake and defocus r1, where "
        "a deblurrer must not lose PSNR; 'sRGB blur' holds 4 cases per image (two shakes, a streak, a disc) "
        "blurred in sRGB instead of linear light. Both stay out of 'all'. The headline numbers on "
        "camera-made blur are in `benchmarks/results/realblur/`.",
        "",
    ]
    titles = (("PSNR (dB)", "psnr_db", 2), ("Shift-aligned PSNR (dB), best integer shift within "
              f"+-{MAX_SHIFT_PX} px", "aligned_psnr_db", 2), ("SSIM", "ssim", 4), ("Gain over the blurry input "
              "(dB PSNR)", "gain_db", 2))
    lines += ["Rows marked **true kernel** are given the kernel that made the blur (upper bounds, "
              "not deployable); every other row is **blind**: it sees only the blurry photo. "
              "'X (auto)' is what `edgedeblur deblur --model X` does by default (`--method auto`): "
              "the kernel-aware path, and model X where that path is unsure.", ""]
    for title, key, digits in titles:
        lines += [f"## {title}", "", "| method | kernel | camera shake | linear motion | defocus r2-r6 | all "
                  "| sharp / mild | sRGB blur |", "|---|---|---|---|---|---|---|---|"]
        for method, cells in summary.items():
            knows = "true kernel" if method in TRUE_KERNEL else "blind"
            lines.append(f"| {method} | {knows} | " + " | ".join(_fmt(cells.get(g), key, digits) for g in GROUPS)
                         + " |")
        lines.append("")
    radii = [f"defocus_r{r:g}" for r in DEFOCUS_RADII_PX]
    lines += ["## Defocus per radius: PSNR (dB)", "", "| method | " + " | ".join(radii) + " |",
              "|---|" + "---|" * len(radii)]
    for method, cells in summary.items():
        lines.append(f"| {method} | " + " | ".join(_fmt(cells.get(g), "psnr_db") for g in radii) + " |")
    lines += ["", "## Blind estimation", "",
              "| estimator | true family | n | right family | mean size error (px) | mean angle error (deg) |",
              "|---|---|---|---|---|---|"]
    for estimator, fams in report["estimation"].items():  # type: ignore[attr-defined]
        for fam, c in fams.items():
            lines.append(f"| {estimator} | {fam} | {c['n']} | {c['family_correct']:.0%} | "
                         f"{c.get('mean_abs_size_err_px', '–')} | {c.get('mean_abs_angle_err_deg', '–')} |")
    paths: dict[str, dict[str, int]] = report["kernel_path"]  # type: ignore[assignment]
    lines += ["", f"## Kernel-aware path: branch taken per family (median {report['kernel_path_ms_median']} ms "
              "per photo)", "", "| true family | " + " | ".join(PATH_BRANCHES) + " |",
              "|---|" + "---|" * len(PATH_BRANCHES)]
    for fam, counts in paths.items():
        lines.append(f"| {fam} | " + " | ".join(str(counts.get(b, 0)) for b in PATH_BRANCHES) + " |")
    us = cfg["unsharp"]  # type: ignore[index]
    lines += ["", "## Settings", "",
              f"- Unsharp mask tuned on {', '.join(us['tuned_on'])} (TRAIN_IMAGES): amount {us['amount']}, "  # type: ignore[index]
              f"radius {us['radius_px']} px (mean gain there {us['tune_gain_db']:.2f} dB).",  # type: ignore[index]
              f"- Wiener: {cfg['wiener']}; Richardson-Lucy: {cfg['richardson_lucy']}; hyper-Laplacian "
              f"(Krishnan & Fergus 2009): {cfg['hyper_laplacian']}.",
              f"- Blind full kernel (L0 coarse-to-fine, Xu et al. 2013): {cfg['blind_kernel']}; the "
              "'always applied' row deconvolves with it (at the path's blind_weight) whatever the photo, to show "
              "the kernels' quality per family; the kernel-aware path uses it only when its checks pass "
              f"({cfg['kernel_aware']}); blind kernels are centroid-centred, so compare shift-aligned PSNR "
              "on the off-centre camera-shake kernels.",
              f"- Blind (classify_blur) applies Wiener only to confident (>= {AUTO_MIN_CONFIDENCE}) defocus/motion "
              "estimates and leaves other photos unchanged, like a classical `--mode auto`.",
              f"- Models: {', '.join(m.get('id', m['name']) + ' (' + m['status'] + ')' for m in report['models']) or 'none shipped yet'}.",  # type: ignore[attr-defined]
              "", "Files: quality.json (all numbers and per-case rows), strip.jpg, speed.md, kernels.npz.", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_speed(out: Path, rows: list[dict[str, object]], meta: dict[str, object]) -> None:
    """speed.json and speed.md."""
    (out / "speed.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n", encoding="utf-8")
    lines = ["# Speed (median ms per image)", "",
             f"{meta['date_utc']}, {meta['machine']['cpu_count']} CPUs (1-min load average "  # type: ignore[index]
             f"{meta['load_average_1min']} at the end: other jobs inflate these times), models with 2 threads "
             "through the tiler (256 px tiles, 32 px overlap; a 256x256 photo plus its reflected margin "
             "takes 4 tiles). Inputs: coffee crops blurred with the shake4 camera-shake kernel. "
             "Baselines: Wiener/RL/hyper-Laplacian with an 11 px motion kernel, "
             f"RL {RL_ITERATIONS} iterations; the kernel-aware path estimates the blur itself (classify, "
             "blind kernel on a central crop of at most 384 px, spectral check) and then deconvolves "
             "the whole photo.", "",
             "| method | 256x256 | 1280x720 | engine only, one 256x256 tile |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r.get('ms_256x256', '–')} | {r.get('ms_1280x720', '–')} | "
                     f"{r.get('engine_ms_256x256', '–')} |")
    (out / "speed.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
