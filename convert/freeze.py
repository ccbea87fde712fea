"""Training checkpoint -> weights file: the EMA weights with their config, step and validation.

A training checkpoint (``RUN/NAME/last.pt`` or ``best.pt``) also holds the raw model, the
optimiser and the RNG states, about four times the weights. Shipping, evaluating and
bringing weights back from a lent GPU machine need only the EMA weights, and this step
needs nothing but PyTorch, so it runs where ONNX is not installed:

    python -m convert.freeze small nano --run-dir train_runs --checkpoint best --out DIR
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from convert.errors import report_errors
from convert.zoo import load_torch_file, save_torch_file
from runtime.errors import ModelLoadError

WEIGHTS_DIR = Path(__file__).parent / "weights"
"""Where shipped weights live (committed; ``edgedeblur convert NAME`` starts from them)."""


def _validation(run: Path, step: int) -> dict[str, float]:
    """The curve row of ``step`` (the checkpoint's own validation), else the last row."""
    curve = run / "curve.jsonl"
    if not curve.is_file():
        return {}
    rows = [json.loads(s) for s in curve.read_text().splitlines() if s.strip()]
    mine = [r for r in rows if r.get("step") == step]
    return mine[-1] if mine else (rows[-1] if rows else {})


def freeze_weights(name: str, run_dir: Path, checkpoint: str = "last", out_dir: Path = WEIGHTS_DIR) -> Path:
    """Write the EMA weights of ``run_dir/name/CHECKPOINT.pt`` (``last``, or ``best``: the one
    that gained most on camera-made blur) to ``out_dir/name.pt`` (atomic); returns that path.

    Raises:
        ModelLoadError: no such checkpoint, or the file is not a training checkpoint.
    """
    src = run_dir / name / f"{checkpoint}.pt"
    if not src.is_file():
        raise ModelLoadError(f"no checkpoint at {src}; train first: python -m convert.train {name}")
    ck = load_torch_file(src)
    if not isinstance(ck, dict) or not {"ema", "config", "step"} <= set(ck):
        raise ModelLoadError(f"{src} is not a training checkpoint (needs ema, config and step); "
                             f"train with: python -m convert.train {name}")
    frozen = {"model": ck["ema"], "ema": None, "config": ck["config"], "step": ck["step"],
              "validation": _validation(run_dir / name, int(ck["step"]))}
    dst = out_dir / f"{name}.pt"
    save_torch_file(frozen, dst)
    return dst


def add_checkpoint_arguments(ap: argparse.ArgumentParser) -> None:
    """MODELS, ``--run-dir`` and ``--checkpoint``: which training checkpoints to take (``convert.ship`` too)."""
    ap.add_argument("models", nargs="+")
    ap.add_argument("--run-dir", type=Path, default=Path("train_runs"))
    ap.add_argument("--checkpoint", choices=("last", "best"), default="last",
                    help="best: the EMA weights that gained most on --val-real during training")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m convert.freeze", description=__doc__.splitlines()[0])
    add_checkpoint_arguments(ap)
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR, help=f"folder for NAME.pt (default {WEIGHTS_DIR})")
    args = ap.parse_args(argv)

    def freeze_all() -> None:
        for name in args.models:
            print(f"{name}: {freeze_weights(name, args.run_dir, args.checkpoint, args.out)}")

    return report_errors("convert.freeze", freeze_all)


if __name__ == "__main__":
    raise SystemExit(main())
