"""Conversion benchmark: size, CPU latency and quality of every format x precision of the shipped models.

For each model, the conversion pipeline builds ONNX and LiteRT files at fp32, fp16 and
int8 (the same settings as ``edgedeblur convert NAME --ship``: synthetic calibration, its gate,
held-out validation pairs, x86 u8 activations for ONNX, full-integer int8 I/O for LiteRT).
Latency is measured at 256x256, batch 1, with 1 thread (wall clock and CPU time) and with
2 threads, all files of a model called in turn (round-robin) so that the int8/fp32 ratios
are measured side by side under the same background load. Writes ``benchmarks/results/convert/{convert.json, convert.md, latency.png}``.

    .venv/bin/python -m benchmarks.convert [--models nano,small] [--rounds 40]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from convert.build import BuildConfig, build  # noqa: E402
from convert.bundle import SHIP_GATE_DB  # noqa: E402
from convert.repair import scratch_entry  # noqa: E402
from convert.results import BuildResult  # noqa: E402
from convert.source import load_source  # noqa: E402
from convert.validate import ValidationConfig  # noqa: E402
from convert.validate import measure_latencies  # noqa: E402
from runtime.manifest import ArtifactFormat, Precision  # noqa: E402

OUT = Path(__file__).parent / "results" / "convert"
SIZE = (256, 256)
FORMATS = (ArtifactFormat.ONNX, ArtifactFormat.TFLITE)
PRECISIONS = (Precision.FP32, Precision.FP16, Precision.INT8)


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def _rows(result: BuildResult, rounds: int) -> list[dict[str, object]]:
    files = {b.id: (scratch_entry(b.artifact), b.artifact.path) for b in result.artifacts}
    one = measure_latencies(files, SIZE, rounds=rounds, threads=1)
    two = measure_latencies(files, SIZE, rounds=max(1, rounds // 4), threads=2, block=5)
    rows = []
    for b in result.artifacts:
        m = b.report.metrics
        rows.append({"model": result.model, "id": b.id, "format": b.artifact.format.value,
                     "precision": b.artifact.precision.value, "size_kib": round(b.artifact.size_bytes / 1024, 1),
                     "ms_1t": round(one[b.id].median_ms, 2), "cpu_ms_1t": round(one[b.id].cpu_ms or 0.0, 2),
                     "ms_2t": round(two[b.id].median_ms, 2), "p90_ms_2t": round(two[b.id].p90_ms, 2),
                     "psnr_vs_fp32_db": round(m.psnr_vs_float_db, 2), "psnr_vs_gt_db": round(m.psnr_vs_gt_db, 3),
                     "drop_db": round(b.report.drop_db, 3), "ssim_vs_gt": round(m.ssim_vs_gt, 4),
                     "max_abs_error": round(m.max_abs_error, 4), "status": b.status.value,
                     "repair": b.repair.chosen.label if b.repair else ""})
    return rows


TIMINGS = {"ms_1t": "wall, 1 thread", "cpu_ms_1t": "CPU time, 1 thread", "ms_2t": "wall, 2 threads"}


def _speedups(rows: list[dict[str, object]]) -> dict[str, float]:
    """fp32 time / int8 (or fp16) time per model, runtime and timing kind."""
    out = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        for key in TIMINGS:
            ms = {(r["format"], r["precision"]): float(r[key]) for r in rows if r["model"] == model}
            for fmt, label in (("onnx", "ort"), ("tflite", "litert")):
                for prec in ("int8", "fp16"):
                    out[f"{model}.{label}.{prec}.{key}"] = round(ms[(fmt, "fp32")] / ms[(fmt, prec)], 2)
    return out


def _markdown(rows: list[dict[str, object]], speedups: dict[str, float], meta: dict[str, object]) -> str:
    lines = ["# Conversion benchmark", "",
             f"CPU: {meta['cpu']} ({meta['cores']} cores, shared with other jobs: load average "
             f"{meta['load_average']} during the run); batch 1, {SIZE[0]}x{SIZE[1]}, through the runtime's engines. "
             f"1 thread: median of {meta['rounds']} round-robin calls per file, wall clock and the calling "
             "thread's CPU time (all the work runs there, so it is immune to other jobs). 2 threads: median "
             f"over {meta['rounds'] // 4} round-robin turns of 5 calls per file, the first of each turn untimed "
             f"(so the previous model's spinning thread pool has gone idle). Quality: {meta['val_pairs']} held-out validation "
             "pairs (package evaluation photos + dead-leaves images, synthetic blur), PSNR vs the fp32 model's "
             "output and vs the sharp image; 'drop' = fp32 ground-truth PSNR minus this file's.", "",
             "| model | file | size KiB | ms 1 thread | CPU ms 1 thread | ms 2 threads | PSNR vs fp32 dB | "
             "PSNR vs GT dB | drop dB | SSIM | status |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | `{r['id']}` | {r['size_kib']} | {r['ms_1t']} | {r['cpu_ms_1t']} | {r['ms_2t']} | "
                     f"{r['psnr_vs_fp32_db']} | {r['psnr_vs_gt_db']} | {r['drop_db']:+.3f} | {r['ssim_vs_gt']} | "
                     f"{r['status']} |")
    lines += ["", "## Speed-ups measured side by side (fp32 time / int8 or fp16 time)", "",
              "| model | timing | ORT int8 | ORT fp16 | LiteRT int8 | LiteRT fp16 |", "|---|---|---:|---:|---:|---:|"]
    for model in dict.fromkeys(r["model"] for r in rows):
        for key, label in TIMINGS.items():
            sp = [speedups[f"{model}.{rt}.{p}.{key}"] for rt in ("ort", "litert") for p in ("int8", "fp16")]
            lines.append(f"| {model} | {label} | " + " | ".join(f"{v}x" for v in sp) + " |")
    lines += ["", "![latency](latency.png)", ""]
    return "\n".join(lines)


def _plot(rows: list[dict[str, object]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 4))
    labels = [f"{r['model']}\n{r['format']} {r['precision']}" for r in rows]
    colours = ["tab:blue" if r["format"] == "onnx" else "tab:orange" for r in rows]
    ax.bar(range(len(rows)), [float(r["cpu_ms_1t"]) for r in rows], color=colours)
    ax.set_xticks(range(len(rows)), labels, fontsize=7)
    ax.set_ylabel("CPU ms per 256x256 (1 thread, median)")
    ax.set_title("ONNX Runtime (blue) and LiteRT (orange) on this CPU")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="nano,small")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--val-count", type=int, default=16)
    args = ap.parse_args(argv)
    config = BuildConfig(targets=("x86-cpu",), formats=FORMATS, precisions=PRECISIONS, input_size=SIZE,
                         val_count=args.val_count, latency_rounds=0,
                         validation=ValidationConfig(gate_db=SHIP_GATE_DB))
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-convert-") as tmp:
        for name in args.models.split(","):
            result = build(load_source(name), Path(tmp), config)
            rows += _rows(result, args.rounds)
    speedups = _speedups(rows)
    meta = {"cpu": _cpu(), "cores": len([1 for line in Path("/proc/cpuinfo").read_text().splitlines()
                                         if line.startswith("processor")]),
            "rounds": args.rounds, "val_pairs": args.val_count, "size_hw": list(SIZE),
            "load_average": " ".join(f"{v:.1f}" for v in os.getloadavg())}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "convert.json").write_text(json.dumps({"meta": meta, "rows": rows, "speedups": speedups}, indent=2) + "\n")
    (OUT / "convert.md").write_text(_markdown(rows, speedups, meta))
    _plot(rows, OUT / "latency.png")
    print((OUT / "convert.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
