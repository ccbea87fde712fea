"""Set the thresholds of ``denoise='auto'`` (``runtime.photo.links.AutoDenoise``) on TRAINING photos.

Run ``python -m benchmarks.denoise_auto_calibration [--data ../shared/train_photos] [--photos 24]``.
Each training photo (long side 768) is degraded as a camera or a scan would: sharp or a
mild blur (Gaussian sigma 1.5, defocus r 2.5), sRGB Gaussian noise of sigma 0 / 2 / 4 / 8 /
16 in 255ths, then JPEG q90. It is deblurred as the chain does (``method='auto'`` with the
shipped model), the chain's noise estimate (``runtime.photo.gate.noise_sigma``) is read
before and after, and the shipped denoiser is applied at strength 0, 0.5 and 1: PSNR
against the clean photo says which strength pays at which reading. Writes the readings per
condition and the PSNR by post-deblur reading to ``benchmarks/results/denoise_auto/``.

The auto link skips a photo whose post-deblur reading is at most ``skip_at`` (below it,
denoising does not pay) and reaches full strength at ``full_at``; see ``AutoDenoise``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from convert.photos import pick_photos, shrink_to_long_side
from runtime.lab.degradations import blur, jpeg_roundtrip
from runtime.photo.deblur import DeblurConfig, Deblurer
from runtime.photo.gate import noise_sigma
from runtime.engines import create_engine
from runtime.lab.metrics import psnr
from runtime.photo.imageio import read_image
from runtime.photo.links import denoise_link
from runtime.photo.kernels import defocus_kernel, gaussian_kernel

OUT = Path(__file__).parent / "results" / "denoise_auto"
BLURS = {"sharp": None, "gauss1.5": gaussian_kernel(1.5), "defocus2.5": defocus_kernel(2.5)}
NOISE_255 = (0, 2, 4, 8, 16)
STRENGTHS = (0.0, 0.5, 1.0)
BINS_255 = (0.0, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 99.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "train_photos")
    ap.add_argument("--photos", type=int, default=30)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    picks = pick_photos(a.data, a.photos, rng)
    values: dict[str, list[tuple[float, float]]] = {}
    gains: list[tuple[float, ...]] = []          # (post-deblur reading, PSNR at each strength)
    with Deblurer(DeblurConfig()) as deblurer, create_engine("denoise") as denoiser:
        for i, path in enumerate(picks):
            img = shrink_to_long_side(read_image(path).rgb, 768)
            for name, k in BLURS.items():
                for n in NOISE_255:
                    x = img if k is None else blur(img, k)
                    x = np.clip(x + rng.normal(0, n / 255, x.shape).astype(np.float32), 0, 1) if n else x
                    x = jpeg_roundtrip(x, 90)
                    after = deblurer.deblur_image(x).image
                    reading = noise_sigma(after)
                    values.setdefault(f"{name} / noise {n}/255", []).append((noise_sigma(x), reading))
                    gains.append((reading * 255, *(psnr(denoise_link(after, s, denoiser), img) for s in STRENGTHS)))
            print(f"{i + 1}/{len(picks)} {path.name}", flush=True)
    table = {cond: {f"{when}_p{q}": float(np.percentile([v[j] for v in vs], q)) * 255
                    for j, when in enumerate(("before", "after")) for q in (10, 50, 90)}
             for cond, vs in values.items()}
    rows = np.array(gains)
    by_reading = []
    for lo, hi in zip(BINS_255, BINS_255[1:]):
        sel = rows[(rows[:, 0] >= lo) & (rows[:, 0] < hi)]
        if len(sel):
            by_reading.append({"reading": f"{lo}-{hi}", "n": len(sel),
                               **{f"gain_{s}_db": float((sel[:, 1 + j] - sel[:, 1]).mean())
                                  for j, s in enumerate(STRENGTHS) if s > 0}})
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "calibration.json").write_text(json.dumps({"readings": table, "gain_by_reading": by_reading}, indent=1))
    lines = [f"# Auto-denoise calibration ({len(picks)} training photos, long side 768, JPEG q90)", "",
             "noise_sigma in 255ths, before and after the deblur link (method auto, shipped model)", "",
             "| condition | before p10 | p50 | p90 | after p10 | p50 | p90 |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {c} | " + " | ".join(f"{t[f'{w}_p{q}']:.2f}" for w in ("before", "after") for q in (10, 50, 90))
              + " |" for c, t in table.items()]
    lines += ["", "PSNR gain (dB, vs the clean photo) of the shipped denoiser after deblurring, by the post-deblur "
              "reading (all conditions pooled)", "", "| reading /255 | photos | strength 0.5 | strength 1 |",
              "|---|---|---|---|"]
    lines += [f"| {r['reading']} | {r['n']} | {r['gain_0.5_db']:+.2f} | {r['gain_1.0_db']:+.2f} |" for r in by_reading]
    (a.out / "calibration.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
