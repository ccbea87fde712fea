"""Evidence for the auto policy (``runtime.photo.policy``), measured on TRAINING photos only.

Run ``python -m benchmarks.policy [--data ../shared/train_photos] [--photos 24]``.
Sharp training photos (never the eval photos, never val_realblur) are blurred with known
kernels of each family, once in linear light and once on the sRGB values, plus sRGB noise
of sigma 0.003, 0.01 or 0.02. For every case the kernel path's verdict (no blind search),
the space it chose to deconvolve in (``BlurEstimate.space``), the re-blur ratio of its
deconvolution, and the PSNR of (a) the model alone and (b) the deconvolution cleaned up by
the model are recorded, (b) both in the chosen space and always in linear light (what the
path did before it chose). The tables say, per true family and space, how often each
verdict comes, which path wins, how often the space is right, and where the re-blur ratio
(residual over noise) of right and wrong kernels lies: the numbers ``AutoPolicy`` is set from.
Writes ``benchmarks/results/policy/policy.json`` and ``policy.md``.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.run_meta import finish, header, run_meta
from convert.photos import list_photos, shrink_to_long_side
from runtime import DeblurConfig, Deblurer
from runtime.lab.degradations import blur, convolve
from runtime.lab.metrics import psnr
from runtime.photo.imageio import read_image
from runtime.photo.classical import hyper_laplacian
from runtime.photo.kernel_aware import BlurTarget, KernelAwareConfig, kernel_aware_deblur
from runtime.photo.kernels import BlurSpace, camera_shake_kernel, defocus_kernel, linear_motion_kernel
from runtime.photo.policy import AutoPolicy, noise_sigma, reblur_ratio

OUT = Path(__file__).parent / "results" / "policy"
NOISE_SIGMAS = (0.003, 0.01, 0.02)


def cases(rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    return [("defocus", defocus_kernel(2.0)), ("defocus", defocus_kernel(3.5)), ("defocus", defocus_kernel(5.0)),
            ("motion", linear_motion_kernel(5, rng.uniform(0, 180))),
            ("motion", linear_motion_kernel(9, rng.uniform(0, 180))),
            ("motion", linear_motion_kernel(17, rng.uniform(0, 180))),
            *(("shake", camera_shake_kernel(rng, extent)) for extent in (11, 15, 19, 23, 27))]


def _case(model: Deblurer, sharp: np.ndarray, blurry: np.ndarray, space: BlurSpace) -> dict:
    """One blurred photo through the kernel path (both ways) and the model alone."""
    ka = kernel_aware_deblur(blurry, KernelAwareConfig(target=BlurTarget.ANY, blind=None))
    row = {"space": space.value, "noise_est": noise_sigma(blurry), "verdict": ka.method.value,
           "confidence": ka.estimate.confidence if ka.estimate is not None else None,
           "size_px": ka.estimate.size_px if ka.estimate is not None else None,
           "input": psnr(blurry, sharp), "model": psnr(model.deblur_image(blurry).image, sharp)}
    if ka.kernel is None:
        return row | {"accepted": False}

    def cleaned(deconvolved: np.ndarray) -> float:
        clean = model.deblur_image(deconvolved).image
        return psnr(deconvolved + AutoPolicy().cleanup_strength * (clean - deconvolved), sharp)

    chosen = cleaned(ka.image)
    in_linear = chosen if ka.space is BlurSpace.LINEAR else cleaned(hyper_laplacian(blurry, ka.kernel))
    return row | {"chosen_space": ka.space.value, "kernel_cleanup": chosen, "kernel_cleanup_linear": in_linear,
                  "reblur_ratio": reblur_ratio(ka.image, ka.kernel, blurry, ka.space),
                  "accepted": AutoPolicy().accepts(ka, blurry)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "train_photos")
    ap.add_argument("--photos", type=int, default=24)
    ap.add_argument("--model", default="small")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    meta = run_meta()
    rng = np.random.default_rng(0)
    files = list_photos([a.data])
    picks = [files[i] for i in rng.choice(len(files), size=min(a.photos, len(files)), replace=False)]
    rows = []
    with Deblurer(DeblurConfig(method="model", model=a.model)) as model:
        for i, path in enumerate(picks):
            img = read_image(path).rgb
            sharp = shrink_to_long_side(img, 512)
            for j, (family, k) in enumerate(cases(rng)):
                sigma = NOISE_SIGMAS[(i + j) % len(NOISE_SIGMAS)]
                noise = rng.normal(0, sigma, sharp.shape).astype(np.float32)
                for space in BlurSpace:
                    blurred = blur(sharp, k) if space is BlurSpace.LINEAR else convolve(sharp, k)
                    rows.append(_case(model, sharp, np.clip(blurred + noise, 0, 1), space) | {
                        "photo": path.name, "family": family, "noise": sigma})
            print(f"{i + 1}/{len(picks)} {path.name}", flush=True)
    a.out.mkdir(parents=True, exist_ok=True)
    meta = finish(meta)
    (a.out / "policy.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["family"], r["space"], r["verdict"])].append(r)
    lines = ["# Auto-policy evidence (training photos, known kernels, sRGB noise 0.003-0.02)", "",
             f"{header(meta)}. {len(picks)} photos from `{a.data.name}`, long side 512; model `{a.model}`; each blur made in "
             "linear light and on the sRGB values. Gains in dB over the blurry input. 'kernel + cleanup, "
             "linear': the deconvolution always in linear light (the path before it chose a space). 'policy': "
             "kernel + cleanup where `AutoPolicy().accepts` it (family, noise, streak confidence, re-blur check), "
             "else the model alone (the gate left out); 'used' counts the accepted cases.", "",
             "| true blur | blurred in | verdict | cases | input dB | model alone | kernel + cleanup, linear | "
             "kernel + cleanup, chosen space | space right | re-blur ratio min / median / max | "
             "confidence min / median / max | policy | used |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (fam, space, verdict), rs in sorted(groups.items()):
        k = [r for r in rs if "kernel_cleanup" in r]
        rb = [r["reblur_ratio"] for r in k]

        def gain(key: str) -> str:
            return f"{np.mean([r[key] - r['input'] for r in k]):+.2f}" if k else "-"
        right = f"{sum(r['chosen_space'] == space for r in k)}/{len(k)}" if k else "-"
        conf = [r["confidence"] for r in rs if r["confidence"] is not None]
        policy = np.mean([(r["kernel_cleanup"] if r["accepted"] else r["model"]) - r["input"] for r in rs])
        lines.append(f"| {fam} | {space} | {verdict} | {len(rs)} | {np.mean([r['input'] for r in rs]):.2f} | "
                     f"{np.mean([r['model'] - r['input'] for r in rs]):+.2f} | {gain('kernel_cleanup_linear')} | "
                     f"{gain('kernel_cleanup')} | {right} | "
                     f"{f'{min(rb):.2f} / {np.median(rb):.2f} / {max(rb):.2f}' if rb else '-'} | "
                     f"{f'{min(conf):.2f} / {np.median(conf):.2f} / {max(conf):.2f}' if conf else '-'} | "
                     f"{policy:+.2f} | {sum(r['accepted'] for r in rs)}/{len(rs)} |")
    (a.out / "policy.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
