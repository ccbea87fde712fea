"""Set the thresholds of ``denoise='auto'`` (``runtime.photo.chain.AutoDenoise``) on TRAINING photos.

Run ``python -m benchmarks.denoise_auto_calibration [--data ../shared/train_photos] [--photos 30]``.
Each training photo (long side 768) is degraded as a camera or a scan would: sharp or a
mild blur (Gaussian sigma 1.5, defocus r 2.5), sRGB Gaussian noise of sigma 0 / 2 / 4 / 8 /
16 in 255ths, then JPEG q90. It is deblurred as the chain does (``method='auto'`` with the
shipped model), and the chain's noise estimate (``runtime.photo.gate.noise_sigma``) is read
before and after. Writes percentiles per condition to ``benchmarks/results/denoise_auto/``.

The auto link skips a photo whose post-deblur estimate is at most ``skip_at`` (above what
clean photos read) and reaches full strength at ``full_at`` (what photos with clearly visible
noise read after deblurring); see ``AutoDenoise``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from convert.photos import list_photos
from runtime.lab.degradations import blur, jpeg_roundtrip
from runtime.photo.deblur import DeblurConfig, Deblurer
from runtime.photo.gate import noise_sigma
from runtime.photo.imageio import read_image
from runtime.photo.kernels import defocus_kernel, gaussian_kernel

OUT = Path(__file__).parent / "results" / "denoise_auto"
BLURS = {"sharp": None, "gauss1.5": gaussian_kernel(1.5), "defocus2.5": defocus_kernel(2.5)}
NOISE_255 = (0, 2, 4, 8, 16)


def _fit(img: np.ndarray, long_side: int = 768) -> np.ndarray:
    s = long_side / max(img.shape[:2])
    if s >= 1:
        return img
    return cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_AREA)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "train_photos")
    ap.add_argument("--photos", type=int, default=30)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    files = list_photos([a.data])
    picks = [files[i] for i in rng.choice(len(files), size=min(a.photos, len(files)), replace=False)]
    values: dict[str, list[tuple[float, float]]] = {}
    with Deblurer(DeblurConfig()) as deblurer:
        for i, path in enumerate(picks):
            img = _fit(read_image(path).rgb)
            for name, k in BLURS.items():
                for n in NOISE_255:
                    x = img if k is None else blur(img, k)
                    x = np.clip(x + rng.normal(0, n / 255, x.shape).astype(np.float32), 0, 1) if n else x
                    x = jpeg_roundtrip(x, 90)
                    after = deblurer.deblur_image(x).image
                    values.setdefault(f"{name} / noise {n}/255", []).append((noise_sigma(x), noise_sigma(after)))
            print(f"{i + 1}/{len(picks)} {path.name}", flush=True)
    table = {cond: {f"{when}_p{q}": float(np.percentile([v[j] for v in vs], q)) * 255
                    for j, when in enumerate(("before", "after")) for q in (10, 50, 90)}
             for cond, vs in values.items()}
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "calibration.json").write_text(json.dumps(table, indent=1))
    lines = [f"# Auto-denoise calibration ({len(picks)} training photos, long side 768, JPEG q90)", "",
             "noise_sigma in 255ths, before and after the deblur link (method auto, shipped model)", "",
             "| condition | before p10 | p50 | p90 | after p10 | p50 | p90 |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {c} | " + " | ".join(f"{t[f'{w}_p{q}']:.2f}" for w in ("before", "after") for q in (10, 50, 90))
              + " |" for c, t in table.items()]
    (a.out / "calibration.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
