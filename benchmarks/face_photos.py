"""Deblur on blurred face photos: the shape of the held-out face bar, on faces we have.

Run ``python -m benchmarks.face_photos [--data FOLDER] [--count 27] [--configs ...]
[--models-dir CAND]``. Each face photo (long side 512) is blurred the way the held-out face
set is described in issue 12: camera shake of Levin-like extents (13, 19 and 27 px, from
``runtime.photo.kernels.camera_shake_kernel``: our generator, not Levin's captured kernels)
and defocus discs of radius 3 and 5, all applied to the sRGB values, then Gaussian noise of
sigma 0.01 and 8-bit rounding. Each configuration (``METHOD:MODEL[:opts]`` as in
``benchmarks.realblur``) deblurs every case through the API the CLI uses.

Writes ``benchmarks/results/face_photos/``: ``face_photos.json`` (per case and summary),
``face_photos.md`` (gain per blur, per family, the mean of the two families and the mean
over all cases) and ``strip.jpg`` (face crops: input | each config | sharp, for one shake
and one defocus case of the first photos).

The default photos are the training faces (``../shared/train_photos/faces``): the shipped
weights learned from them, so the figures are optimistic next to the held-out set. Use it
to compare weights and settings with each other (candidates before they ship), not as the
held-out figure itself.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from benchmarks.pictures import write_comparison_strip
from benchmarks.realblur import DEFAULT_CONFIGS, parse_config
from benchmarks.run_meta import ROOT, finish, header, run_meta
from convert.photos import pick_photos, shrink_to_long_side
from runtime import Deblurer
from runtime.errors import ConfigError
from runtime.lab.degradations import convolve
from runtime.lab.metrics import psnr
from runtime.photo.imageio import read_image
from runtime.photo.kernels import camera_shake_kernel, defocus_kernel

OUT = Path(__file__).parent / "results" / "face_photos"
DEFAULT_DATA = ROOT.parent / "shared" / "train_photos" / "faces"
SHAKE_PX = (13, 19, 27)
DISC_RADII_PX = (3.0, 5.0)
NOISE_SIGMA = 0.01
LONG_SIDE_PX = 512
BORDER_PX = 20
STRIP_CASES = ("shake 19 px", "disc r5")
"""The blurs shown in the strip (one per family)."""
STRIP_PHOTOS = 3
CROP_PX = 192


@dataclass(frozen=True, slots=True)
class Case:
    """One blurred face photo."""

    photo: str
    blur: str
    family: str
    blurry: NDArray[np.float32]
    sharp: NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Row:
    """One configuration on one case."""

    config: str
    photo: str
    blur: str
    family: str
    psnr_in: float
    psnr_out: float
    label: str

    @property
    def gain(self) -> float:
        return self.psnr_out - self.psnr_in


def make_cases(photos: list[Path], seed: int) -> list[Case]:
    """Every photo with every blur; the shake paths are drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    cases = []
    for path in photos:
        sharp = shrink_to_long_side(read_image(path).rgb, LONG_SIDE_PX)
        blurs = [(f"shake {n} px", "shake", camera_shake_kernel(rng, n)) for n in SHAKE_PX]
        blurs += [(f"disc r{r:g}", "defocus", defocus_kernel(r)) for r in DISC_RADII_PX]
        for name, family, kernel in blurs:
            noisy = convolve(sharp, kernel) + rng.normal(0, NOISE_SIGMA, sharp.shape).astype(np.float32)
            blurry = (np.round(np.clip(noisy, 0, 1) * 255) / 255).astype(np.float32)
            cases.append(Case(path.name, name, family, blurry, sharp))
    return cases


def _crop(img: NDArray[np.float32]) -> NDArray[np.float32]:
    """The central square of ``CROP_PX`` (faces in these photos are centred); a smaller
    photo's central square is scaled up to it, so every strip cell has one size."""
    h, w = img.shape[:2]
    side = min(h, w, CROP_PX)
    y, x = (h - side) // 2, (w - side) // 2
    square = img[y:y + side, x:x + side]
    return square if side == CROP_PX else cv2.resize(square, (CROP_PX, CROP_PX), interpolation=cv2.INTER_CUBIC)


def run(cases: list[Case], specs: list[str], models_dir: Path | None = None
        ) -> tuple[list[Row], dict[str, list[NDArray[np.float32]]]]:
    """Deblur every case with every configuration; rows and the strip's crops."""
    rows: list[Row] = []
    shown = [c for c in cases if c.blur in STRIP_CASES][:STRIP_PHOTOS * len(STRIP_CASES)]
    crops: dict[str, list[NDArray[np.float32]]] = {"input": [_crop(c.blurry) for c in shown],
                                                    "sharp": [_crop(c.sharp) for c in shown]}
    for spec in specs:
        name, cfg = parse_config(spec, models_dir)
        crops[name] = []
        with Deblurer(cfg) as d:
            for i, c in enumerate(cases):
                res = d.deblur_image(c.blurry)
                rows.append(Row(name, c.photo, c.blur, c.family, psnr(c.blurry, c.sharp, BORDER_PX),
                                psnr(res.image, c.sharp, BORDER_PX), res.label))
                if any(c is s for s in shown):
                    crops[name].append(_crop(res.image))
                print(f"[{name}] {i + 1}/{len(cases)} {c.photo} {c.blur}: {rows[-1].gain:+.2f} dB ({res.label})",
                      flush=True)
    return rows, crops


def summary(rows: list[Row]) -> dict[str, dict[str, object]]:
    """Per configuration: mean gain per blur, per family, of the two families and of all cases."""
    out: dict[str, dict[str, object]] = {}
    for name in dict.fromkeys(r.config for r in rows):
        rs = [r for r in rows if r.config == name]
        by_blur = {b: float(np.mean([r.gain for r in rs if r.blur == b])) for b in dict.fromkeys(r.blur for r in rs)}
        by_family = {f: float(np.mean([r.gain for r in rs if r.family == f]))
                     for f in dict.fromkeys(r.family for r in rs)}
        out[name] = {"gain_by_blur_db": by_blur, "gain_by_family_db": by_family,
                     "families_mean_db": float(np.mean(list(by_family.values()))),
                     "cases_mean_db": float(np.mean([r.gain for r in rs])),
                     "worst_db": float(min(r.gain for r in rs)),
                     "cases_worse": sum(r.gain < -0.05 for r in rs)}
    return out


def write(rows: list[Row], crops: dict[str, list[NDArray[np.float32]]], data: Path, out: Path,
          meta: dict[str, object]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    summ, meta = summary(rows), finish(meta)
    photos = len({r.photo for r in rows})
    (out / "face_photos.json").write_text(json.dumps(
        {"meta": meta, "data": str(data), "photos": photos, "noise_sigma": NOISE_SIGMA, "summary": summ,
         "rows": [asdict(r) | {"gain": r.gain} for r in rows]}, indent=1))
    blurs = list(next(iter(summ.values()))["gain_by_blur_db"])  # type: ignore[arg-type]
    lines = [f"# Deblur on blurred face photos ({photos} photos from `{data.name}`)", "",
             f"{header(meta)}. Long side {LONG_SIDE_PX} px; blur applied to the sRGB values (shake from "
             f"our generator, defocus discs), noise sigma {NOISE_SIGMA}, 8-bit. PSNR gain over the blurry "
             f"input in dB, {BORDER_PX} px border excluded. The held-out face bar is +3.0 dB; these photos "
             "trained the shipped weights, so read the figures as optimistic.", "",
             "| config | " + " | ".join(blurs) + " | shake | defocus | mean of the families | mean of all cases"
             " | worst case | cases worse |",
             "|---|" + "---|" * (len(blurs) + 6)]
    for name, s in summ.items():
        by_blur, fam = s["gain_by_blur_db"], s["gain_by_family_db"]
        lines.append(f"| {name} | " + " | ".join(f"{by_blur[b]:+.2f}" for b in blurs)  # type: ignore[index]
                     + f" | {fam['shake']:+.2f} | {fam['defocus']:+.2f} | "  # type: ignore[index]
                     f"{s['families_mean_db']:+.2f} | {s['cases_mean_db']:+.2f} | {s['worst_db']:+.2f} | "
                     f"{s['cases_worse']} |")
    (out / "face_photos.md").write_text("\n".join(lines) + "\n")
    write_comparison_strip(out, crops, ", ".join(STRIP_CASES) + " for each of the first photos")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of face photos")
    ap.add_argument("--count", type=int, default=27, help="photos drawn from --data")
    ap.add_argument("--seed", type=int, default=77, help="draws the photos and the shake paths")
    ap.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                    help="comma-separated METHOD:MODEL[:opts], as in benchmarks.realblur")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--models-dir", type=Path, default=None, help="folder of exported models + manifest.json")
    a = ap.parse_args(argv)
    try:
        photos = pick_photos(a.data, a.count, np.random.default_rng(a.seed))
    except ConfigError as e:
        raise SystemExit(str(e)) from None
    meta = run_meta()
    rows, crops = run(make_cases(photos, a.seed), a.configs.split(","), a.models_dir)
    write(rows, crops, a.data, a.out, meta)
    for name, s in summary(rows).items():
        fam = s["gain_by_family_db"]
        print(f"{name}: shake {fam['shake']:+.2f}, defocus {fam['defocus']:+.2f}, "  # type: ignore[index]
              f"families {s['families_mean_db']:+.2f}, all cases {s['cases_mean_db']:+.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
