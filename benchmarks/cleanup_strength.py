"""How strongly the model cleans up a kernel deconvolution (``AutoPolicy.cleanup_strength``),
measured on TRAINING photos only.

Run ``python -m benchmarks.cleanup_strength [--data ../shared/train_photos] [--photos 16] [--draws 2]``.
Each draw picks training photos (faces, and half as many general ones), blurs each with a
defocus disc (r 2-5.5) and a straight streak (7-21 px) made alternately in linear light and
on the sRGB values, adds sRGB noise of sigma 0.01 and 8-bit rounding, and runs the auto
policy's kernel path. Where the policy accepts the kernel, the deconvolution ``d`` and the
model's output on it ``m`` give ``d + s (m - d)`` for each strength ``s``; the table gives
the mean gain over the blurry input per family and photo set. Writes
``benchmarks/results/policy/cleanup.json`` and ``cleanup.md``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.run_meta import finish, header, run_meta
from convert.photos import list_photos, shrink_to_long_side
from runtime import DeblurConfig, Deblurer
from runtime.lab.degradations import blur, convolve
from runtime.lab.metrics import psnr
from runtime.photo.imageio import read_image
from runtime.photo.kernel_aware import BlurTarget, kernel_aware_deblur
from runtime.photo.kernels import defocus_kernel, linear_motion_kernel
from runtime.photo.policy import AutoPolicy

OUT = Path(__file__).parent / "results" / "policy"
STRENGTHS = (0.25, 0.5, 0.75, 1.0)
NOISE_SIGMA = 0.01


def _draw(model: Deblurer, data: Path, photos: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    faces, general = list_photos([data / "faces"]), list_photos([data / "general"])
    picks = ([faces[i] for i in rng.choice(len(faces), photos, replace=False)]
             + [general[i] for i in rng.choice(len(general), photos // 2, replace=False)])
    policy, rows = AutoPolicy(), []
    for i, path in enumerate(picks):
        sharp = shrink_to_long_side(read_image(path).rgb, 512)
        for family, k in (("disc", defocus_kernel(rng.uniform(2, 5.5))),
                          ("streak", linear_motion_kernel(rng.uniform(7, 21), rng.uniform(0, 180)))):
            srgb = (i + len(rows)) % 2 == 0
            b = convolve(sharp, k) if srgb else blur(sharp, k)
            b = np.clip(b + rng.normal(0, NOISE_SIGMA, b.shape).astype(np.float32), 0, 1)
            b = (np.round(b * 255) / 255).astype(np.float32)
            ka = kernel_aware_deblur(b, policy.kernel_config(BlurTarget.ANY))
            if ka.kernel is None or not policy.accepts(ka, b):
                continue
            m = model.deblur_image(ka.image).image
            rows.append({"photo": path.name, "family": family, "face": path.parent.name == "faces",
                         "space": "srgb" if srgb else "linear", "input": psnr(sharp, b),
                         **{str(s): psnr(sharp, ka.image + np.float32(s) * (m - ka.image)) for s in STRENGTHS}})
        print(f"draw {seed}: {i + 1}/{len(picks)} {path.name}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "train_photos")
    ap.add_argument("--photos", type=int, default=16, help="face photos per draw (plus half as many general ones)")
    ap.add_argument("--draws", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    meta = run_meta()
    with Deblurer(DeblurConfig(method="model", model="small")) as model:
        rows = [r | {"draw": d} for d in range(a.draws) for r in _draw(model, a.data, a.photos, 100 + d)]
    meta = finish(meta)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "cleanup.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = ["# Clean-up strength after a kernel deconvolution (training photos)", "",
             f"{header(meta)}. {a.draws} draws of {a.photos} face and {a.photos // 2} general training photos, "
             f"long side 512, sRGB noise {NOISE_SIGMA}; only the cases the auto policy accepts. Mean gain in dB "
             "over the blurry input of `d + s (model(d) - d)`; shipped: "
             f"`AutoPolicy().cleanup_strength` = {AutoPolicy().cleanup_strength}.", "",
             "| blur | photos | draw | cases | " + " | ".join(f"s = {s}" for s in STRENGTHS) + " |",
             "|---|---|---|---|" + "---|" * len(STRENGTHS)]
    for family in ("disc", "streak"):
        for kind, face in (("faces", True), ("general", False)):
            for d in range(a.draws):
                rs = [r for r in rows if r["family"] == family and r["face"] == face and r["draw"] == d]
                if rs:
                    gains = [np.mean([r[str(s)] - r["input"] for r in rs]) for s in STRENGTHS]
                    lines.append(f"| {family} | {kind} | {d} | {len(rs)} | " + " | ".join(f"{g:+.2f}" for g in gains) + " |")
    (a.out / "cleanup.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
