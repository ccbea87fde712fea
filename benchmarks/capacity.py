"""Capacity at equal training: small against its wider and deeper variants (issue item 4).

    .venv/bin/python -m benchmarks.capacity [--steps 2000] [--run-dir capacity_runs]

Each variant starts from small's shipped weights, grown so that it computes exactly what
small does (``convert.grow``), and every net, small included, is then fine-tuned with the
same recipe, seed and number of steps (README stage 7: real training photos, lr 3e-4,
192 px crops, batch 4, one thread). What differs at the end is what the extra capacity
learned from the same training. The runs go one after the other (one thread each, about an hour
on this CPU for the three); rerunning resumes them, and finished runs are only read.
The table also times each net on a 256x256 crop with PyTorch, the nets in turn in one loop.
Writes ``benchmarks/results/capacity/``: ``capacity.md``, ``capacity.json``, ``curve.png``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.run_meta import ROOT, finish, header, run_meta  # noqa: E402
from benchmarks.training import read_curve  # noqa: E402
from convert.zoo import create_model, get_spec  # noqa: E402

OUT = Path(__file__).parent / "results" / "capacity"
NETS = ("small", "small-wide", "small-deep")
SHARED = ROOT.parent / "shared"
RECIPE = ("--lr", "3e-4", "--crop", "192", "--sharp-fraction", "0.18", "--batch", "4", "--threads", "1",
          "--seed", "8", "--face-fraction", "0.3")


def train(name: str, steps: int, run_dir: Path, data: Path, val_real: Path) -> list[dict[str, float]]:
    """Run (or resume, or just read) one net's fine-tune; its validation curve."""
    curve = run_dir / name / "curve.jsonl"
    if not curve.is_file() or read_curve(curve)[-1]["step"] < steps:
        cmd = [sys.executable, "-m", "convert.train", name, "--init", str(ROOT / "convert" / "weights" / "small.pt"),
               "--data", str(data / "general"), "--face-data", str(data / "faces"), "--val-real", str(val_real),
               "--steps", str(steps), "--ckpt-every", "250", "--val-every", "250", "--run-dir", str(run_dir), *RECIPE]
        print(f"{name}: training {steps} steps ...", file=sys.stderr, flush=True)
        subprocess.run(cmd, cwd=ROOT, check=True)
    return read_curve(curve)


def crop_ms(rounds: int = 5) -> dict[str, float]:
    """Median PyTorch CPU time (1 thread) per 256x256 crop, the nets in turn each round."""
    torch.set_num_threads(1)
    nets = {n: create_model(n).eval() for n in NETS}
    x = torch.rand(1, 3, 256, 256)
    times: dict[str, list[float]] = {n: [] for n in NETS}
    with torch.no_grad():
        for _ in range(rounds):
            for n, net in nets.items():
                t = time.perf_counter()
                net(x)
                times[n].append(1000 * (time.perf_counter() - t))
    return {n: float(np.median(t)) for n, t in times.items()}


def summary(curves: dict[str, list[dict[str, float]]], ms: dict[str, float]) -> list[dict[str, float | str]]:
    rows: list[dict[str, float | str]] = []
    for name, curve in curves.items():
        last, best = curve[-1], max(curve, key=lambda r: r["gain_real"])
        spec = get_spec(name)
        rows.append({"net": name, "gmac_256": spec.macs_256 / 1e9, "params_m": spec.params / 1e6,
                     "crop_ms": ms[name], "steps": last["step"], "real_last": last["gain_real"],
                     "real_best": best["gain_real"], "real_best_step": best["step"],
                     "real_mean_2nd_half": float(np.mean([r["gain_real"] for r in curve[len(curve) // 2:]])),
                     "synthetic": last["psnr_ema"] - last["psnr_input"],
                     "mild": last["psnr_ema_mild"] - last["psnr_input_mild"]})
    return rows


def plot(curves: dict[str, list[dict[str, float]]], path: Path) -> None:
    fig, (ax, ax_real) = plt.subplots(1, 2, figsize=(11, 4))
    for name, curve in curves.items():
        steps = [r["step"] for r in curve]
        ax.plot(steps, [r["psnr_ema"] - r["psnr_input"] for r in curve], label=name)
        ax_real.plot(steps, [r["gain_real"] for r in curve], label=name)
    ax.set_ylabel("synthetic validation: gain over input (dB)")
    ax_real.set_ylabel("val_realblur crops: gain over input (dB)")
    for a in (ax, ax_real):
        a.set_xlabel("fine-tune step")
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(rows: list[dict[str, float | str]], meta: dict[str, object], steps: int) -> str:
    base = next(r for r in rows if r["net"] == "small")
    lines = ["# Capacity at equal training: small, wider, deeper", "",
             f"{header(meta)}. Every net starts from small's shipped weights (the variants grown so that "
             f"they compute what small does) and is fine-tuned {steps} steps with one recipe and seed "
             f"(`{' '.join(RECIPE)}`, real training photos); the gains are the EMA weights' over the input. "
             "'camera blur': `val_realblur` crops (validation only); 'late mean': the mean over the second "
             "half of the validations, steadier than one point. PyTorch CPU time per 256x256 crop, "
             "1 thread, the nets timed in turn.", "",
             "| net | GMAC / 256² | params | ms / crop (x small) | camera blur: last | best (step) | late mean "
             "| synthetic | sharp / mild |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['net']} | {r['gmac_256']:.2f} | {r['params_m']:.2f} M | {r['crop_ms']:.0f} "
                     f"({r['crop_ms'] / base['crop_ms']:.2f}x) | {r['real_last']:+.3f} | {r['real_best']:+.3f} "
                     f"({r['real_best_step']}) | {r['real_mean_2nd_half']:+.3f} | {r['synthetic']:+.2f} | "
                     f"{r['mild']:+.2f} |")
    return "\n".join(lines) + "\n\n![curves](curve.png)\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--run-dir", type=Path, default=ROOT / "capacity_runs")
    ap.add_argument("--data", type=Path, default=SHARED / "train_photos", help="holds general/ and faces/")
    ap.add_argument("--val-real", type=Path, default=SHARED / "val_realblur")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    meta = run_meta()
    curves = {n: train(n, a.steps, a.run_dir, a.data, a.val_real) for n in NETS}
    rows = summary(curves, crop_ms())
    meta = finish(meta)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "capacity.json").write_text(json.dumps({"meta": meta, "steps": a.steps, "rows": rows,
                                                     "curves": curves}, indent=1) + "\n")
    plot(curves, a.out / "curve.png")
    (a.out / "capacity.md").write_text(markdown(rows, meta, a.steps))
    print((a.out / "capacity.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
