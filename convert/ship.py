"""Ship a trained zoo model: frozen weights + fp32 ONNX + its manifest entry.

    .venv/bin/python -m convert.ship nano small [--run-dir train_runs]

For each model this takes the EMA weights from ``RUN/NAME/last.pt``, writes them (state
dict + training config + last validation row) to ``convert/weights/NAME.pt`` (committed;
``edgedeblur convert NAME`` starts from it), exports ``runtime/models/NAME.fp32.onnx`` with
dynamic H/W (multiples of 8) through ``convert.export``, and upserts its entry in
``runtime/models/manifest.json``. The int8/fp16 artifacts are then rebuilt from it by
``edgedeblur convert NAME --ship``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from convert.export import ExportConfig, export_onnx
from convert.source import SourceKind, SourceModel
from convert.zoo import MULTIPLE_OF, get_spec, load_checkpoint
from facemask.files import atomic_path
from runtime.catalog import SHIPPED_DIR
from runtime.errors import ModelLoadError
from runtime.manifest import Manifest, Status

WEIGHTS_DIR = Path(__file__).parent / "weights"

_FT = ("--sharp-fraction {sharp} --dead-leaves-fraction 0.2 --jpeg-probability 0.5 --max-scale 1.5 "
       "--soft-fraction 0.3 --max-extent-px {extent} --init convert/weights/{name}.pt")
TRAINING: dict[str, str] = {
    "nano": "python -m convert.train nano --steps 17000 --threads 1; fine-tune 1: python -m convert.train "
            "nano --steps 3000 --lr 5e-4 --sharp-fraction 0.15 --init convert/weights/nano.pt --run-dir train_runs_ft; "
            "fine-tune 2: python -m convert.train nano --steps 4000 --lr 5e-4 --run-dir train_runs_ft2 "
            + _FT.format(sharp=0.25, extent=12, name="nano")
            + "; fine-tune 3: python -m convert.train nano --steps 3000 --lr 3e-4 --crop 192 --batch 4 "
            "--run-dir train_runs_ft3 " + _FT.format(sharp=0.25, extent=12, name="nano"),
    "small": "python -m convert.train small --steps 6500 --threads 1; fine-tune 1: python -m convert.train "
             "small --steps 1500 --lr 3e-4 --sharp-fraction 0.15 --init convert/weights/small.pt --run-dir train_runs_ft; "
             "fine-tune 2: python -m convert.train small --steps 3000 --lr 3e-4 --run-dir train_runs_ft2 "
             + _FT.format(sharp=0.2, extent=20, name="small")
             + "; fine-tune 3: python -m convert.train small --steps 2500 --lr 2e-4 --crop 192 --batch 4 "
             "--run-dir train_runs_ft3 " + _FT.format(sharp=0.2, extent=20, name="small")
             + "; fine-tune 4: python -m convert.train small --steps 2000 --lr 1e-4 --crop 256 --batch 2 "
             "--run-dir train_runs_ft4 " + _FT.format(sharp=0.2, extent=20, name="small"),
}
"""How the shipped weights were made (README: Training)."""

NOTES: dict[str, dict[str, str]] = {
    "nano": {
        "good_at": "mild to moderate blur on face crops (defocus up to r~4, short motion/shake up to ~11 px) at camera rate",
        "fails_on": "severe blur (kernels > ~15 px): output stays soft; large camera-shake kernels are mostly not undone",
    },
    "small": {
        "good_at": "photos with moderate defocus and short motion blur; cleaner edges than nano",
        "fails_on": "severe camera shake and long (> ~20 px) motion: only partly restored; heavy noise is kept",
    },
}


def _last_validation(run: Path) -> dict[str, float]:
    curve = run / "curve.jsonl"
    if not curve.is_file():
        return {}
    rows = [json.loads(s) for s in curve.read_text().splitlines() if s.strip()]
    return rows[-1] if rows else {}


def freeze_weights(name: str, run_dir: Path) -> Path:
    """Copy the EMA weights of ``run_dir/name/last.pt`` to ``convert/weights/name.pt`` (atomic)."""
    src = run_dir / name / "last.pt"
    if not src.is_file():
        raise ModelLoadError(f"no checkpoint at {src}; train first: python -m convert.train {name}")
    ck = torch.load(src, map_location="cpu", weights_only=False)
    frozen = {"model": ck["ema"], "ema": None, "config": ck["config"], "step": ck["step"],
              "validation": _last_validation(run_dir / name)}
    dst = WEIGHTS_DIR / f"{name}.pt"
    with atomic_path(dst, parents=True) as tmp:
        torch.save(frozen, tmp)
    return dst


def ship_fp32(name: str, weights: Path, models_dir: Path = SHIPPED_DIR) -> str:
    """Export ``weights`` to ``models_dir/name.fp32.onnx`` and register it; returns the artifact id."""
    spec = get_spec(name)
    frozen = torch.load(weights, map_location="cpu", weights_only=False)
    src = SourceModel(name=name, kind=SourceKind.CHECKPOINT, path=weights, arch=name,
                      module=load_checkpoint(name, weights), multiple_of=MULTIPLE_OF)
    artifact = export_onnx(src, models_dir / f"{name}.fp32.onnx", ExportConfig(size_hw=None))
    val = frozen.get("validation", {})
    notes = {"description": spec.description, "specialty": "general",
             "trained_steps": str(frozen.get("step", "")),
             "training": TRAINING.get(name, f"python -m convert.train {name}"), **NOTES.get(name, {})}
    metrics = {k: round(float(val[k]), 3) for k in ("psnr_input", "psnr_ema") if k in val}
    artifact_id = f"{name}.fp32.onnx"
    entry = artifact.entry(artifact_id, models_dir, target=None, status=Status.OK, metrics=metrics,
                           notes=notes, params=spec.params, macs_256=spec.macs_256)
    manifest_path = models_dir / "manifest.json"
    manifest = Manifest.load(manifest_path) if manifest_path.is_file() else Manifest([])
    manifest.upsert(entry)
    manifest.save(manifest_path)
    return artifact_id


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--run-dir", type=Path, default=Path("train_runs"))
    args = ap.parse_args(argv)
    for name in args.models:
        weights = freeze_weights(name, args.run_dir)
        print(f"{name}: weights -> {weights}; shipped {ship_fp32(name, weights)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
