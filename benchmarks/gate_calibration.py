"""Calibrate the sharpness gate (``runtime.photo.gate``) on TRAINING photos.

Run ``python -m benchmarks.gate_calibration [--data ../shared/train_photos] [--photos 40]``.
Each training photo (sharp, long side 512 and its native size) is measured as it is and
after mild blurs (Gaussian sigma 1, defocus r 1.5, a 5 px streak), each with sRGB noise
0 / 0.005 / 0.01 and JPEG q85. Writes the percentiles of the local sharpness per condition
to ``benchmarks/results/gate/calibration.json`` and ``.md``; the gate's anchors are read
from there: ``sharp_at`` ~ the 25th percentile of sharp photos (most sharp pixels keep
their value), ``blurry_at`` ~ the median under the mildest blur (full strength from there).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from convert.photos import pick_photos
from runtime.lab.degradations import blur, jpeg_roundtrip
from runtime.photo.gate import GateConfig, sharpness_map
from runtime.photo.imageio import read_image
from runtime.photo.kernels import defocus_kernel, gaussian_kernel, linear_motion_kernel

OUT = Path(__file__).parent / "results" / "gate"
BLURS = {"sharp": None, "gauss1": gaussian_kernel(1.0), "defocus1.5": defocus_kernel(1.5),
         "streak5": linear_motion_kernel(5, 30)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "train_photos")
    ap.add_argument("--photos", type=int, default=40)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    picks = pick_photos(a.data, a.photos, rng)
    values: dict[str, list[np.ndarray]] = {}
    for i, path in enumerate(picks):
        img = read_image(path).rgb
        for name, k in BLURS.items():
            for sigma in (0.0, 0.005, 0.01):
                x = img if k is None else blur(img, k)
                x = np.clip(x + rng.normal(0, sigma, x.shape).astype(np.float32), 0, 1) if sigma else x
                s = sharpness_map(jpeg_roundtrip(x, 85), GateConfig())
                values.setdefault(f"{name} / noise {sigma}", []).append(s[~np.isnan(s)][::97])
        print(f"{i + 1}/{len(picks)} {path.name}", flush=True)
    table = {cond: {f"p{q}": float(np.percentile(np.concatenate(v), q)) for q in (10, 25, 50, 75, 90)}
             for cond, v in values.items()}
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "calibration.json").write_text(json.dumps(table, indent=1))
    lines = [f"# Sharpness-gate calibration ({len(picks)} training photos, JPEG q85)", "",
             "| condition | p10 | p25 | p50 | p75 | p90 |", "|---|---|---|---|---|---|"]
    lines += [f"| {c} | " + " | ".join(f"{t[f'p{q}']:.3f}" for q in (10, 25, 50, 75, 90)) + " |"
              for c, t in table.items()]
    (a.out / "calibration.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
