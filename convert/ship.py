"""Ship a trained zoo model: frozen weights + fp32 ONNX + its manifest entry.

    .venv/bin/python -m convert.ship nano small [--run-dir train_runs]
    .venv/bin/python -m convert.ship denoise x2 --run-dir train_runs_restore --checkpoint best

For each model this takes the EMA weights from ``RUN/NAME/last.pt``, writes them (state
dict + training config + last validation row) to ``convert/weights/NAME.pt`` (committed;
``edgedeblur convert NAME`` starts from it), exports ``runtime/models/NAME.fp32.onnx`` with
dynamic H/W (multiples of the net's stride: 8, or 1 for x2) through ``convert.export``,
and upserts its entry (with the net's task and scale) in ``runtime/models/manifest.json``. The int8/fp16 artifacts are then rebuilt from it by
``edgedeblur convert NAME --ship``.

A candidate is judged before it ships: ``--models-dir DIR`` puts the weights, the ONNX file
and a manifest in DIR instead (``python -m benchmarks.realblur --models-dir DIR``), and
``--weights DIR`` takes weights already frozen (``tools/device_train.sh`` brings them back):

    .venv/bin/python -m convert.ship small nano --weights gpu_out --models-dir /tmp/candidate
"""
from __future__ import annotations

import argparse
from pathlib import Path

from convert.errors import report_errors
from convert.export import ExportConfig, export_onnx
from convert.freeze import WEIGHTS_DIR, add_checkpoint_arguments, freeze_weights
from convert.source import SourceKind, zoo_source
from convert.zoo import get_spec, load_torch_file
from runtime.catalog import SHIPPED_DIR
from runtime.errors import ModelLoadError
from runtime.manifest import Manifest, Status

_FT = ("--sharp-fraction {sharp} --dead-leaves-fraction 0.2 --jpeg-probability 0.5 --max-scale 1.5 "
       "--soft-fraction 0.3 --max-extent-px {extent} --init convert/weights/{name}.pt")
_REAL = ("; stage 5 (real photos, this trainer): python -m convert.train {name} --batch {batch} --init "
         "convert/weights/{name}.pt --data ../shared/train_photos/general --face-data ../shared/train_photos/faces "
         "--face-fraction 0.3 --val-real ../shared/val_realblur --minutes 70 --lr 5e-4 --crop 192 --sharp-fraction 0.18 "
         "--threads 1 --run-dir train_runs_real, shipped with --checkpoint best")
_RESTART = ("; stage {stage} (real photos, a fresh cosine schedule from the stage-{prev} weights): python -m convert.train {name} "
           "--batch {batch} --init convert/weights/{name}.pt --data ../shared/train_photos/general --face-data "
           "../shared/train_photos/faces --face-fraction 0.3 --val-real ../shared/val_realblur --minutes {minutes} --lr 3e-4 "
           "--crop 192 --sharp-fraction 0.18 --threads 1 --val-every {every} --run-dir {run}{note}, shipped with --checkpoint best")
_PHOTOS = ("--data ../shared/train_photos/general --face-data ../shared/train_photos/faces --face-fraction 0.3 "
           "--val-real ../shared/val_realblur")
_INT8 = ("; int8 and fp16 files built with edgedeblur convert {name} --ship --calib ../shared/train_photos/general "
         "--calib-count 48 --gate-db 0.05 (calibrated on 48 training photos, a fifth of them left sharp, and gated on "
         "training photos held out from calibration: calibrated and gated on blurry synthetic inputs only, the int8 "
         "files lost 0.4-0.6 dB on val_realblur crops)")
_INT8_RESTORE = ("; int8 and fp16 files built with edgedeblur convert {name} --ship --calib ../shared/train_photos/general "
                 "--calib-count 48 (calibrated on 48 training photos and gated on others held out from calibration: "
                 "calibrated on package photos, the denoiser's int8 missed the 0.08 dB gate)")
HELD_OUT_FACES = ("../shared/train_photos/faces less 27 held out to judge stage 9: every fifth of its 131 "
                  "non-LFW photos sorted by name, and celebahq_ref_female_015248")
"""The face photos stage 9 left out (``benchmarks/results/face_photos/held_out``)."""
_FACES = ("; stage 9 (faces first, from the stage-6 weights): python -m convert.train small --batch 4 --init "
          "convert/weights/small.pt --data ../shared/train_photos/general --face-data FACES177 --face-fraction 0.85 "
          "--val-real ../shared/val_realblur --minutes 80 --lr 2e-4 --crop 192 --sharp-fraction 0.18 --threads 1 "
          "--val-every 400 --seed 18 --run-dir train_runs_faces, shipped from last.pt (FACES177: " + HELD_OUT_FACES + ")")
TRAINING: dict[str, str] = {
    "nano": "stages 1-4 with the trainer of commit fcb74da: python -m convert.train nano --steps 17000 --threads 1; fine-tune 1: python -m convert.train "
            "nano --steps 3000 --lr 5e-4 --sharp-fraction 0.15 --init convert/weights/nano.pt --run-dir train_runs_ft; "
            "fine-tune 2: python -m convert.train nano --steps 4000 --lr 5e-4 --run-dir train_runs_ft2 "
            + _FT.format(sharp=0.25, extent=12, name="nano")
            + "; fine-tune 3: python -m convert.train nano --steps 3000 --lr 3e-4 --crop 192 --batch 4 "
            "--run-dir train_runs_ft3 " + _FT.format(sharp=0.25, extent=12, name="nano")
            + _REAL.format(name="nano", batch=8)
            + _RESTART.format(stage=6, prev=5, name="nano", batch=8, minutes=90, every=200, run="train_runs_real7 --seed 7",
                              note="")
            + _RESTART.format(stage=7, prev=6, name="nano", batch=8, minutes=100, every=200, run="train_runs_real9 --seed 9",
                              note="")
            + _INT8.format(name="nano"),
    "small": "stages 1-4 with the trainer of commit fcb74da: python -m convert.train small --steps 6500 --threads 1; fine-tune 1: python -m convert.train "
             "small --steps 1500 --lr 3e-4 --sharp-fraction 0.15 --init convert/weights/small.pt --run-dir train_runs_ft; "
             "fine-tune 2: python -m convert.train small --steps 3000 --lr 3e-4 --run-dir train_runs_ft2 "
             + _FT.format(sharp=0.2, extent=20, name="small")
             + "; fine-tune 3: python -m convert.train small --steps 2500 --lr 2e-4 --crop 192 --batch 4 "
             "--run-dir train_runs_ft3 " + _FT.format(sharp=0.2, extent=20, name="small")
             + "; fine-tune 4: python -m convert.train small --steps 2000 --lr 1e-4 --crop 256 --batch 2 "
             "--run-dir train_runs_ft4 " + _FT.format(sharp=0.2, extent=20, name="small")
             + _REAL.format(name="small", batch=4)
             + _RESTART.format(stage=6, prev=5, name="small", batch=4, minutes=115, every=100, run="train_runs_real6 --seed 6",
                              note=" (its first 5.4 minutes ran in an earlier session with a 65-minute "
                                   "budget; the rerun resumed them; stopped after 101 of the 115 minutes to leave "
                                   "the cores to the benchmarks)")
             + _FACES + _INT8.format(name="small"),
    "denoise": "from scratch on real photos with synthesised noise (convert.degrade_restore): python -m convert.train "
               "denoise --crop 96 --batch 16 --minutes 25 --threads 1 --run-dir train_runs_restore " + _PHOTOS
               + " --val-every 400; fine-tune: python -m convert.train denoise --init train_runs_restore/denoise/best.pt "
               "--lr 7e-4 --crop 96 --batch 16 --minutes 20 --threads 1 --run-dir train_runs_restore2 " + _PHOTOS
               + " --val-every 400 --seed 1, shipped with --checkpoint best" + _INT8_RESTORE.format(name="denoise"),
    "x2": "from scratch on real photos downscaled x2 (convert.degrade_restore): python -m convert.train x2 --crop 64 "
          "--batch 16 --minutes 35 --threads 1 --run-dir train_runs_restore " + _PHOTOS
          + " --val-every 200; stage 2 with rare light noise and aliased bicubic downscales (stage 1 had noise on "
          "every sample and flattened clean texture: -0.9 dB vs Lanczos on clean area-downscaled frames): python -m "
          "convert.train x2 --init convert/weights/x2.pt --lr 7e-4 --crop 64 --batch 16 --minutes 25 --threads 1 "
          "--run-dir train_runs_restore3 " + _PHOTOS + " --val-every 200 --seed 2, shipped with --checkpoint best"
          + _INT8_RESTORE.format(name="x2"),
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
    "denoise": {
        "good_at": "noise of sigma ~0.03 to 0.16 (8-40/255): +4 to +8 dB on the package evaluation photos "
                   "(Gaussian noise test)",
        "fails_on": "very light noise (sigma < ~0.015) and clean input are smoothed a little (a clean photo comes back "
                    "at ~39 dB); JPEG blocking is barely reduced (+0.3 dB); fine regular texture under noise is flattened",
    },
    "x2": {
        "good_at": "photos made small by cameras and resizers (area averaging, antialiased bicubic, mild optical blur) "
                   "before or after deblur and denoise: on 21 held-out clean frames +0.16 dB over Lanczos (+0.57 over "
                   "bicubic) when made small by area averaging, +0.65 (+1.22) by antialiased bicubic; run twice for x4",
        "fails_on": "photos made small without antialiasing (OpenCV INTER_CUBIC/LINEAR: -1.3 dB vs Lanczos; they are "
                    "already sharp and it over-sharpens them), very smooth or soft frames (worst frame -1.5 dB), noisy "
                    "or blurred input (denoise and deblur first), detail finer than the small pixels (small text)",
    },
}


PHOTOS_NOTE = ("../shared/train_photos: 837 of its 910 real photos (706 general: BSDS500, Urban100, Sun-Hays 80, "
               "Kodak24, McMaster; 131 faces: CelebA-HQ, FFHQ, deepface/CompreFace/human/GPEN samples; its 73 LFW "
               "faces, 250 px, were below the trainer's 256-px patches until convert.photos.MIN_PAD_FRACTION)")
DATA_NOTES: dict[str, str] = {
    "deblur": PHOTOS_NOTE + ", on top of stages 1-4 on procedural dead-leaves images and package photos",
    "denoise": PHOTOS_NOTE + ", noised on the fly; checkpoint chosen on the sharp frames of ../shared/val_realblur",
    "upscale": PHOTOS_NOTE + ", downscaled on the fly; checkpoint chosen on the sharp frames of "
               "../shared/val_realblur",
}
"""Per task: deblur nets went through the earlier procedural stages, the others did not."""
STAGE_DATA_NOTES: dict[str, str] = {
    "small": "; then stage 9 on 883 of the 910 (85 % of its patches from faces, the LFW faces among them; 27 faces "
             "held out to judge it)",
}
"""What a net's later stages added to its task's data note."""
LICENCE_NOTE = ("mostly non-commercial research licences (BSDS500 Corel-derived, CelebA-HQ CC BY-NC, FFHQ "
                "CC BY-NC-SA, sample photos of unknown copyright): research and evaluation use only")
"""What the shipped weights learned from, recorded in the manifest and shown by `edgedeblur models`."""


def ship_fp32(name: str, weights: Path, models_dir: Path = SHIPPED_DIR) -> str:
    """Export ``weights`` to ``models_dir/name.fp32.onnx`` and register it; returns the artifact id."""
    spec = get_spec(name)
    frozen = load_torch_file(weights)
    src = zoo_source(name, SourceKind.CHECKPOINT, name, weights)
    artifact = export_onnx(src, models_dir / f"{name}.fp32.onnx", ExportConfig(size_hw=None))
    val = frozen.get("validation", {})
    notes = {"description": spec.description, **({"specialty": "general"} if spec.task == "deblur" else {}),
             "trained_steps": str(frozen.get("step", "")),
             "training": TRAINING.get(name, f"python -m convert.train {name}"),
             "data": DATA_NOTES[spec.task] + STAGE_DATA_NOTES.get(name, ""),
             "licence": LICENCE_NOTE, **NOTES.get(name, {})}
    metrics = {k: round(float(val[k]), 3) for k in ("psnr_input", "psnr_ema", "gain_real") if k in val}
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
    add_checkpoint_arguments(ap)
    ap.add_argument("--weights", type=Path, metavar="DIR", help="take frozen DIR/NAME.pt (what tools/device_train.sh "
                    "brings back) instead of a training checkpoint")
    ap.add_argument("--models-dir", type=Path, default=SHIPPED_DIR, help="where the fp32 ONNX and its manifest go "
                    "(default: the shipped models; another folder holds a candidate, and its weights, to judge first)")
    args = ap.parse_args(argv)
    weights_dir = WEIGHTS_DIR if args.models_dir.resolve() == SHIPPED_DIR.resolve() else args.models_dir

    def ship_all() -> None:
        for name in args.models:
            if args.weights is None:
                weights = freeze_weights(name, args.run_dir, args.checkpoint, weights_dir)
            elif not (weights := args.weights / f"{name}.pt").is_file():
                raise ModelLoadError(f"--weights {args.weights} has no {name}.pt; freeze one with python -m convert.freeze")
            print(f"{name}: weights {weights}; shipped {ship_fp32(name, weights, args.models_dir)} into {args.models_dir}")

    return report_errors("convert.ship", ship_all)


if __name__ == "__main__":
    raise SystemExit(main())
