"""The build report: a Markdown page with the metrics table, repairs, op checks and image strips.

Written into the build folder as ``report.md`` with ``strips/<artifact id>.png``: for one
held-out validation image, input (blurry, noisy, or low-res shown at the output's size) |
artifact output | fp32 output | |difference to fp32| x 20 | clean ground truth.
"""
from __future__ import annotations

import platform
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from convert.results import BuildResult, BuiltArtifact
from convert.task_data import TASK_WORDS
from runtime.manifest import Status

DIFF_GAIN = 20.0
STRIP_IMAGE = 0
"""Index of the validation pair shown in the strips (a real photo, not dead leaves)."""


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _label(tile: NDArray[np.uint8], text: str) -> NDArray[np.uint8]:
    out = tile.copy()
    scale = max(0.35, tile.shape[1] / 400)
    cv2.putText(out, text, (4, int(22 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (4, int(22 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                cv2.LINE_AA)
    return out


def _u8(img: NDArray[np.float32]) -> NDArray[np.uint8]:
    return (np.clip(np.nan_to_num(img), 0, 1) * 255 + 0.5).astype(np.uint8)


def strip(inp: NDArray[np.float32], output: NDArray[np.float32], reference: NDArray[np.float32],
          target: NDArray[np.float32], name: str, words: tuple[str, str] = TASK_WORDS["deblur"]
          ) -> NDArray[np.uint8]:
    """Five labelled HxWx3 RGB tiles side by side, as uint8 RGB (H, 5W, 3) at the output's size
    (a smaller input is shown enlarged by nearest neighbour, pixels as the model saw them);
    ``words`` name the input and the target."""
    h, w = reference.shape[:2]
    if inp.shape[:2] != (h, w):
        inp = cv2.resize(inp, (w, h), interpolation=cv2.INTER_NEAREST)
    diff = np.abs(np.nan_to_num(output) - reference) * DIFF_GAIN
    tiles = [(inp, words[0]), (output, name), (reference, "fp32"), (diff, f"|diff| x{DIFF_GAIN:g}"),
             (target, words[1])]
    return np.concatenate([_label(_u8(t), text) for t, text in tiles], axis=1)


def _fmt(v: float, digits: int = 2) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.{digits}f}"


def _io(b: BuiltArtifact) -> str:
    spec = b.artifact.input
    q = f" s={spec.scale:.5f} zp={spec.zero_point}" if spec.scale else ""
    size = f" {spec.size_hw[0]}x{spec.size_hw[1]}" if spec.size_hw else " dynamic"
    return f"{spec.layout.value} {spec.dtype.value}{q}{size}"


def _table(result: BuildResult) -> list[str]:
    rows = ["| artifact | targets | I/O | size KiB | latency ms | PSNR vs fp32 dB | PSNR vs GT dB | "
            "drop dB | SSIM | max abs err | status |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for b in result.artifacts:
        m = b.report.metrics
        lat = _fmt(b.latency.median_ms) if b.latency else "n/a"
        status = ("ok (float fallback)" if b.fallback else "ok") if b.status is Status.OK else "**REJECTED**"
        rows.append(f"| `{b.id}` | {', '.join(b.targets)} | {_io(b)} | {b.artifact.size_bytes / 1024:.0f} | {lat} | "
                    f"{_fmt(m.psnr_vs_float_db)} | {_fmt(m.psnr_vs_gt_db)} | {_fmt(b.report.drop_db)} | "
                    f"{_fmt(m.ssim_vs_gt, 4)} | {_fmt(m.max_abs_error, 4)} | {status} |")
    return rows


def _repairs(result: BuildResult) -> list[str]:
    lines: list[str] = []
    for b in result.artifacts:
        if b.repair is None:
            continue
        r = b.repair
        lines += [f"### `{b.id}`", "", "| attempt | PSNR vs GT dB | drop dB | gate |", "|---|---:|---:|---|"]
        lines += [f"| {a.label} | {_fmt(a.psnr_vs_gt_db)} | {_fmt(a.drop_db)} | {'pass' if a.passed else 'fail'} |"
                  for a in r.attempts]
        kept = ", ".join(f"`{n}`" for n in r.chosen.kept_in_float) or "none (all layers int8)"
        lines += ["", f"Chosen: **{r.chosen.label}**. Layers kept in float: {kept}."]
        if r.sensitivity:
            top = ", ".join(f"`{n}` (+{g:.2f} dB)" for n, g in r.sensitivity[:5])
            lines.append(f"Most sensitive layers (PSNR vs float gained when kept in float): {top}.")
        if b.fallback:
            lines.append(f"**Float fallback**: {b.fallback}.")
        elif not b.report.passed:
            lines.append(f"**Gate failed**: {b.report.reason}.")
        lines.append("")
    return lines


def _opchecks(result: BuildResult) -> list[str]:
    lines: list[str] = []
    for b in result.artifacts:
        for target, check in b.opchecks.items():
            lines.append(f"- `{b.id}` on **{target}** ({check.support.source}): {check.summary()}")
    return lines


def write_report(result: BuildResult) -> Path:
    """Write ``report.md`` and the strips into the build folder; returns the report path."""
    folder = result.folder
    (folder / "strips").mkdir(exist_ok=True)
    pairs, ref = result.pairs, result.reference_outputs
    i = min(STRIP_IMAGE, len(pairs) - 1)
    gate = result.artifacts[0].report
    h, w = result.size_hw
    s = pairs.scale
    how = {"deblur": "synthetic camera blur",
           "denoise": "noise and JPEG as in training",
           "upscale": f"downscaled x{s} as in training; targets {h * s}x{w * s}"}
    lines = [f"# edgedeblur convert: `{result.model}`", "",
             f"- Task: {result.task}" + (f" (x{s})" if s != 1 else ""),
             f"- Input size: {h}x{w}; validation: {len(pairs)} held-out pairs ({pairs.source}; "
             f"{how[result.task]}), never used for calibration",
             f"- Calibration: {result.calibration}",
             f"- Gate: ground-truth PSNR at most {result.gate_db:g} dB below the fp32 reference's "
             f"({_fmt(gate.reference_psnr_db)} dB)",
             f"- Latency: median of interleaved batch-1 calls on this machine ({_cpu()}), 2 threads", "",
             "## Artifacts", "", *_table(result), ""]
    repairs = _repairs(result)
    if repairs:
        lines += ["## int8 quality gate and repairs", "", *repairs]
    checks = _opchecks(result)
    if checks:
        lines += ["## Operator checks", "", *checks, ""]
    lines += ["## Before / after", ""]
    for b in result.artifacts:
        png = folder / "strips" / f"{b.id}.png"
        rgb = strip(pairs.inputs[i], b.report.outputs[i], ref[i], pairs.targets[i], b.id, TASK_WORDS[result.task])
        ok, buf = cv2.imencode(".png", rgb[..., ::-1])
        if ok:
            png.write_bytes(buf.tobytes())
            lines += [f"![{b.id}](strips/{png.name})", ""]
    path = result.report_path
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
