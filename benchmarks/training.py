"""Learning curves of the shipped models: validation PSNR (EMA weights) vs step, per stage.

The shipped weights come from staged runs (README: Training): a base run, then
fine-tunes that start from the previous stage's frozen weights. ``convert.train`` writes
``RUN_DIR/<model>/curve.jsonl`` for each; this script copies a stage's curves into
``benchmarks/results/training/curve_<model>[_<stage>].jsonl`` so the curves that produced
the shipped weights are versioned with them, then plots every stored stage end to end.

    .venv/bin/python -m benchmarks.training --stage finetune2 --run-dir train_runs_ft2

Stages ``real`` to ``faces`` (real photos, camera-blur validation: README stages 5-9)
also record ``gain_real``: the PSNR gain on crops of ``val_realblur``; it is plotted in a
second panel, those stages end to end. A variant (``VARIANT_OF``) is a second run from the
same weights with one setting changed, plotted from where its sibling starts.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OUT = Path(__file__).parent / "results" / "training"
STAGES: tuple[str, ...] = ("base", "finetune", "finetune2", "finetune3", "finetune4", "real", "real2",
                          "real3", "real3-isp", "real4", "real4-ext25", "faces")
"""In training order; 'base' curves are stored without a suffix. ``real3-isp``: small's stage
7 again with camera-ISP sharpening of input and target (lost on camera blur; stopped, code removed).
``faces``: stage 9, 85 % of the patches from 177 face photos (small ships it; nano's lost on camera blur)."""
VARIANT_OF: dict[str, str] = {"real3-isp": "real3", "real4-ext25": "real4", "faces": "real4"}


def read_curve(path: Path) -> list[dict[str, float]]:
    """The rows of a trainer's ``curve.jsonl``."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _curve_path(model: str, stage: str) -> Path:
    return OUT / (f"curve_{model}.jsonl" if stage == "base" else f"curve_{model}_{stage}.jsonl")


def _mild(row: dict[str, float]) -> str:
    if "psnr_ema_mild" not in row:
        return "–"
    return f"{row['psnr_ema_mild']:.2f} ({row['psnr_ema_mild'] - row['psnr_input_mild']:+.2f})"


def _table_row(name: str, stage: str, rows: list[dict[str, float]]) -> str:
    last = rows[-1]
    real = [r["gain_real"] for r in rows if "gain_real" in r]
    real_cell = f"{real[-1]:+.2f} ({max(real):+.2f})" if real else "–"
    return (f"| {name} | {stage} | {last['step']} | {last['psnr_input']:.2f} | "
            f"{last['psnr_ema']:.2f} ({last['psnr_ema'] - last['psnr_input']:+.2f}) | "
            f"{_mild(last)} | {real_cell} | {last['steps_per_s']:.2f} |")


def _plot_stage(ax: plt.Axes, ax_real: plt.Axes, rows: list[dict[str, float]], start: tuple[int, int],
                label: str, style: str) -> None:
    """One run's synthetic and camera-blur curves, from ``start`` (step offsets of the two panels)."""
    offset, real_offset = start
    ax.plot([offset + r["step"] for r in rows], [r["psnr_ema"] - r["psnr_input"] for r in rows], style, label=label)
    real = [r for r in rows if "gain_real" in r]
    if real:
        ax_real.plot([real_offset + r["step"] for r in real], [r["gain_real"] for r in real], style, label=label)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", type=Path, default=Path("train_runs"))
    ap.add_argument("--stage", choices=STAGES, default="base", help="which stage --run-dir holds")
    ap.add_argument("--models", default="nano,small", help="whose curves to copy from --run-dir (all are plotted)")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    for name in args.models.split(","):
        src = args.run_dir / name / "curve.jsonl"
        if src.is_file():
            shutil.copyfile(src, _curve_path(name, args.stage))
    fig, (ax, ax_real) = plt.subplots(1, 2, figsize=(12, 4))
    lines = ["# Training curves", "",
             "Validation: 32 held-out 128x128 pairs (procedural + training photos, all blur families, "
             "extents up to the stage's max extent). 'mild': 32 more pairs that are sharp, softened or "
             "blurred <= 9 px, compressed (recorded from fine-tune 2 on). PSNR of the EMA weights, "
             "gain over the blurry input in brackets. Steps count from the start of each stage. The synthetic "
             "sets are drawn from each run's --seed, so compare those columns within a stage; 'camera blur' "
             "(fixed val_realblur crops) is the same for every stage.", "",
             "| model | stage | steps | input dB | model dB (gain) | mild: model dB (gain) | camera blur: gain (best) "
             "| steps/s (last) |", "|---|---|---|---|---|---|---|---|"]
    for name in ("nano", "small"):
        offset = real_offset = 0
        starts: dict[str, tuple[int, int]] = {}
        for stage in STAGES:
            path = _curve_path(name, stage)
            if not path.is_file():
                continue
            rows = read_curve(path)
            sibling = VARIANT_OF.get(stage)
            variant = sibling is not None and sibling in starts
            start = starts[sibling] if variant else (offset, real_offset)
            _plot_stage(ax, ax_real, rows, start, f"{name} {stage}", "--" if variant else "-")
            if not variant:           # a variant runs beside its sibling: the next stage starts after the sibling
                starts[stage] = start
                steps = int(rows[-1]["step"])
                offset += steps
                real_offset += steps if any("gain_real" in r for r in rows) else 0
            lines.append(_table_row(name, stage, rows))
    ax.set_xlabel("step (stages end to end)")
    ax.set_ylabel("validation PSNR gain over input (dB)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax_real.set_xlabel("step of the real-photo stages (end to end)")
    ax_real.set_ylabel("val_realblur crops: gain over input (dB)")
    ax_real.grid(alpha=0.3)
    ax_real.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "curve.png", dpi=110)
    plt.close(fig)
    (OUT / "training.md").write_text("\n".join(lines) + "\n\n![curve](curve.png)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
