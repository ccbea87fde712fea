"""Learning curves of the shipped models: validation PSNR (EMA weights) vs step.

Reads ``train_runs/<model>/curve.jsonl`` written by ``convert.train`` (or the copies kept in
``benchmarks/results/training/``), copies them next to a plot and a Markdown summary so the
curve that produced the shipped weights is versioned with them.

    .venv/bin/python -m benchmarks.training [--run-dir train_runs]
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


def _rows(path: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", type=Path, default=Path("train_runs"))
    ap.add_argument("--models", default="nano,small")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    lines = ["# Training curves", "", "Validation: 32 held-out 128x128 pairs (procedural + training photos, "
             "all blur families, extents up to 25 px). PSNR of the EMA weights vs the blurry input.", "",
             "| model | steps | input dB | model dB | gain dB | steps/s (last) |", "|---|---|---|---|---|---|"]
    for name in args.models.split(","):
        src = args.run_dir / name / "curve.jsonl"
        dst = OUT / f"curve_{name}.jsonl"
        if src.is_file():
            shutil.copyfile(src, dst)
        if not dst.is_file():
            continue
        rows = _rows(dst)
        ax.plot([r["step"] for r in rows], [r["psnr_ema"] - r["psnr_input"] for r in rows], label=name)
        last = rows[-1]
        lines.append(f"| {name} | {last['step']} | {last['psnr_input']:.2f} | {last['psnr_ema']:.2f} | "
                     f"{last['psnr_ema'] - last['psnr_input']:+.2f} | {last['steps_per_s']:.2f} |")
    ax.set_xlabel("step")
    ax.set_ylabel("validation PSNR gain over input (dB)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "curve.png", dpi=110)
    (OUT / "training.md").write_text("\n".join(lines) + "\n\n![curve](curve.png)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
