"""Restore chain: which order of deblur, denoise and x2 upscale restores best, against plain upscaling.

Run ``python -m benchmarks.restore_chain [--data ../shared/val_realblur] [--limit N]``.
Held-out photos: the sharp frames of ``val_realblur`` (camera photos, 12 of 21 with
people; never trained on), centre-cropped to 768x512. Each is degraded the way a small,
soft, noisy photo is made (fixed seed, three families): optical blur at full resolution
(defocus disc, linear motion, or soft Gaussian optics), area downscaling x2, then sensor
noise, 8-bit rounding and JPEG q90 at the low resolution. Every pipeline gets the
low-resolution photo and is scored at full resolution (PSNR/SSIM, 16 px border excluded):
the five orders of the three links (D = deblur, the default photo path; N = denoise, auto;
U = x2 upscale) and bicubic / Lanczos upscaling of the degraded photo. A second table runs
the upscaler alone on clean photos made small three common ways; a third times each link
in ms per input megapixel, fp32 and int8, side by side in one run.

Writes ``benchmarks/results/restore/``: ``restore.json``, ``restore.md`` and ``strip.jpg``
(a small, soft, noisy portrait: Lanczos | chain | original, with 100 % crops of the eyes).
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import PIL.Image
from numpy.typing import NDArray

from benchmarks.pictures import write_picture
from benchmarks.run_meta import finish, header, run_meta
from convert.realval import read_pairs
from facemask.detector import FaceDetector
from facemask.options import FaceDetectorOptions
from runtime.catalog import DEFAULT_MODEL
from runtime.engines import EngineConfig, create_engine
from runtime.engines.tiling import run_tiled
from runtime.lab.degradations import convolve, jpeg_roundtrip
from runtime.lab.metrics import psnr, ssim
from runtime.lab.sample_images import load_sample_scaled
from runtime.photo.chain import RestoreConfig, Restorer
from runtime.photo.imageio import read_image
from runtime.photo.kernels import defocus_kernel, gaussian_kernel, linear_motion_kernel, linear_to_srgb, srgb_to_linear

Image = NDArray[np.float32]
OUT = Path(__file__).parent / "results" / "restore"
BORDER_PX = 16
CROP_HW = (512, 768)
FAMILIES = ("defocus", "motion", "soft")
ORDERS = ("DNU", "NDU", "DUN", "UDN", "UND")
"""DNU is the chain's default; UND runs the links in the reverse order."""


@dataclass(frozen=True, slots=True)
class Row:
    """One pipeline on one degraded photo."""

    photo: str
    family: str
    pipeline: str
    psnr: float
    ssim: float
    seconds: float


def _kernel(family: str, rng: np.random.Generator) -> Image:
    if family == "defocus":
        return defocus_kernel(rng.uniform(2.5, 4.5))
    if family == "motion":
        return linear_motion_kernel(rng.uniform(9, 19), rng.uniform(0, 180))
    return gaussian_kernel(rng.uniform(1.5, 2.5))


def degrade_small(sharp: Image, family: str, rng: np.random.Generator) -> Image:
    """Full-resolution sRGB photo -> the small, soft, noisy photo (half the size)."""
    lin = convolve(srgb_to_linear(sharp), _kernel(family, rng))
    small = cv2.resize(lin, (sharp.shape[1] // 2, sharp.shape[0] // 2), interpolation=cv2.INTER_AREA)
    sigma = rng.uniform(0.01, 0.03)
    noisy = linear_to_srgb(np.clip(small, 0, 1)) + rng.normal(scale=sigma, size=small.shape).astype(np.float32)
    return jpeg_roundtrip(np.clip(noisy, 0, 1), 90)


def centre_crop(img: Image, hw: tuple[int, int] = CROP_HW) -> Image:
    h, w = img.shape[:2]
    ch, cw = min(hw[0], h // 2 * 2), min(hw[1], w // 2 * 2)
    y, x = (h - ch) // 2, (w - cw) // 2
    return img[y:y + ch, x:x + cw]


def resize(img: Image, scale: int, interpolation: int) -> Image:
    out = cv2.resize(img, (img.shape[1] * scale, img.shape[0] * scale), interpolation=interpolation)
    return np.clip(out, 0, 1).astype(np.float32)


def pipelines(r: Restorer) -> dict[str, Callable[[Image], Image]]:
    """Every order of the three links (each run by the same loaded Restorer) and the baselines."""
    links: dict[str, Callable[[Image], Image]] = {"D": r.deblur, "N": lambda x: r.denoise(x, "auto"),
                                                  "U": lambda x: r.upscale(x, 2)}

    def chain(order: str) -> Callable[[Image], Image]:
        def run(x: Image) -> Image:
            for link in order:
                x = links[link](x)
            return x
        return run

    return {**{o: chain(o) for o in ORDERS},
            "bicubic": lambda x: resize(x, 2, cv2.INTER_CUBIC), "lanczos": lambda x: resize(x, 2, cv2.INTER_LANCZOS4)}


def run(folder: Path, limit: int, families: tuple[str, ...]) -> list[Row]:
    rows: list[Row] = []
    photos = [p.sharp for p in read_pairs(folder)][:limit or None]
    with Restorer(RestoreConfig()) as r:
        runs = pipelines(r)
        for i, path in enumerate(photos):
            sharp = centre_crop(read_image(path).rgb)
            for j, family in enumerate(families):
                small = degrade_small(sharp, family, np.random.default_rng(1000 * i + j))
                for name, fn in runs.items():
                    t = time.perf_counter()
                    out = fn(small)
                    secs = time.perf_counter() - t
                    rows.append(Row(path.name, family, name, psnr(out, sharp, BORDER_PX), ssim(out, sharp, BORDER_PX),
                                    secs))
                best = max((x for x in rows[-len(runs):]), key=lambda x: x.psnr)
                print(f"{i + 1}/{len(photos)} {family}: DNU {rows[-len(runs)].psnr:.2f} dB, lanczos "
                      f"{rows[-1].psnr:.2f} dB, best {best.pipeline}", flush=True)
    return rows


DOWNSCALERS = {"area (sensor-like)": cv2.INTER_AREA, "bicubic, no antialias (OpenCV)": cv2.INTER_CUBIC,
               "bicubic, antialiased (Pillow)": -1}


def _downscale(img: Image, how: int) -> Image:
    h, w = img.shape[0] // 2, img.shape[1] // 2
    if how >= 0:
        small = cv2.resize(img, (w, h), interpolation=how)
    else:
        u8 = PIL.Image.fromarray((img * 255 + 0.5).astype(np.uint8))
        small = np.asarray(u8.resize((w, h), PIL.Image.BICUBIC), np.float32) / 255
    return (np.round(np.clip(small, 0, 1) * 255) / 255).astype(np.float32)


def upscaler_alone(folder: Path, limit: int) -> dict[str, dict[str, float]]:
    """The x2 link on clean photos made small three common ways: PSNR gain over Lanczos and bicubic."""
    photos = [p.sharp for p in read_pairs(folder)][:limit or None]
    gains: dict[str, list[tuple[float, float]]] = {name: [] for name in DOWNSCALERS}   # (over Lanczos, bicubic)
    with Restorer(RestoreConfig()) as r:
        for path in photos:
            sharp = centre_crop(read_image(path).rgb)
            for name, how in DOWNSCALERS.items():
                small = _downscale(sharp, how)
                up = psnr(r.upscale(small, 2), sharp, BORDER_PX)
                gains[name].append((up - psnr(resize(small, 2, cv2.INTER_LANCZOS4), sharp, BORDER_PX),
                                    up - psnr(resize(small, 2, cv2.INTER_CUBIC), sharp, BORDER_PX)))
    return {name: {"over_lanczos_db": float(np.mean([g[0] for g in pairs])),
                   "over_bicubic_db": float(np.mean([g[1] for g in pairs])),
                   "worst_over_lanczos_db": float(min(g[0] for g in pairs))} for name, pairs in gains.items()}


LINK_MODELS = (("deblur", "small.fp32"), ("deblur", "small.int8"), ("deblur", DEFAULT_MODEL),
               ("denoise", "denoise.fp32"), ("denoise", "denoise.int8"), ("upscale", "x2.fp32"), ("upscale", "x2.int8"))
"""Each link's fp32 and int8 files, and the photo default the deblur link runs."""


def link_speed(side: int = 1024, rounds: int = 3) -> list[dict[str, object]]:
    """Milliseconds per input megapixel of each of ``LINK_MODELS``, measured side by side."""
    img = np.random.default_rng(0).random((side, side, 3), dtype=np.float32)
    out = []
    for link, model in LINK_MODELS:
        with create_engine(model, EngineConfig(threads=2)) as engine:
            run_tiled(engine, img[:256, :256])
            times = []
            for _ in range(rounds):
                t = time.perf_counter()
                run_tiled(engine, img)
                times.append(time.perf_counter() - t)
        out.append({"link": link, "model": model,
                    "ms_per_mp": round(1e3 * float(np.median(times)) / (side * side / 1e6))})
    return out


def summary(rows: list[Row]) -> dict[str, dict[str, dict[str, float]]]:
    """family (and 'all') -> pipeline -> mean PSNR, SSIM, seconds."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for family in (*dict.fromkeys(r.family for r in rows), "all"):
        fam = [r for r in rows if family in ("all", r.family)]
        out[family] = {p: {"psnr": float(np.mean([r.psnr for r in fam if r.pipeline == p])),
                           "ssim": float(np.mean([r.ssim for r in fam if r.pipeline == p])),
                           "seconds": float(np.mean([r.seconds for r in fam if r.pipeline == p]))}
                       for p in dict.fromkeys(r.pipeline for r in fam)}
    return out


EYE_LANDMARKS = (33, 133, 159, 145, 362, 263, 386, 374)
"""Face-mesh indices of the eye corners and lids (both eyes)."""
PORTRAITS = ("grace_hopper", "astronaut")
"""Evaluation photos (never trained or tuned on), shown, not scored here."""


def _eyes_box(rgb: Image) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) around both eyes, from MediaPipe face-mesh landmarks."""
    with FaceDetector.create_from_options(FaceDetectorOptions(max_faces=1)) as det:
        faces = det.process((rgb * 255 + 0.5).astype(np.uint8))
    if len(faces) == 0:
        raise SystemExit("no face found in the strip's portrait")
    pts = faces.landmarks_px[0][list(EYE_LANDMARKS), :2]
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    pad = 0.25 * (x1 - x0)
    return int(y0 - pad), int(y1 + pad), int(x0 - pad / 2), int(x1 + pad / 2)


def strip(out: Path, long_side: int = 512) -> None:
    """Small (half size), soft, noisy portraits: Lanczos | chain | original, and their eyes
    at 200 % (nearest) under each."""
    rows = []
    with Restorer(RestoreConfig(denoise="auto", upscale=2)) as r:
        for k, name in enumerate(PORTRAITS):
            sharp = centre_crop(load_sample_scaled(name, long_side), (long_side, long_side))
            small = degrade_small(sharp, "defocus", np.random.default_rng(7 + k))
            outs = [resize(small, 2, cv2.INTER_LANCZOS4), r.restore_image(small).image, sharp]
            y0, y1, x0, x1 = _eyes_box(sharp)
            eyes = [cv2.resize(o[y0:y1, x0:x1], None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST) for o in outs]
            scale = sharp.shape[1] / eyes[0].shape[1]
            eyes = [cv2.resize(e, (sharp.shape[1], int(e.shape[0] * scale)), interpolation=cv2.INTER_NEAREST)
                    if scale < 1 else e for e in eyes]
            top = np.concatenate(outs, 1)
            bottom = np.concatenate([np.pad(e, ((0, 0), (0, sharp.shape[1] - e.shape[1]), (0, 0)),
                                            constant_values=1.0) for e in eyes], 1)
            rows += [top, bottom]
    width = max(row.shape[1] for row in rows)
    grid = np.concatenate([np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0)), constant_values=1.0)
                           for row in rows], 0)
    write_picture(out / "strip.jpg", grid)


def write(rows: list[Row], alone: dict[str, dict[str, float]], speed: list[dict[str, object]], out: Path,
          meta: dict[str, object]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    summ, meta = summary(rows), finish(meta)
    (out / "restore.json").write_text(json.dumps({"meta": meta, "summary": summ, "upscaler_alone": alone, "link_speed": speed,
                                                  "rows": [asdict(r) for r in rows]}, indent=1) + "\n")
    pipes = list(summ["all"])
    lines = [f"# Restore chain: orders and baselines ({len({r.photo for r in rows})} held-out photos x "
             f"{len({r.family for r in rows})} degradations)", "", f"{header(meta)}.", "",
             "Input: the photo blurred at full size, downscaled x2 (area), noise sigma 0.01-0.03 and JPEG q90 at the "
             "small size; scored at full size (PSNR dB / SSIM). D = deblur (default photo path), N = denoise (auto), "
             "U = x2 upscale; DNU is the chain's default, UND the reversed order.", "",
             "| degradation | " + " | ".join(pipes) + " |", "|---|" + "---:|" * len(pipes)]
    for family, cells in summ.items():
        lines.append(f"| {family} | " + " | ".join(f"{cells[p]['psnr']:.2f} / {cells[p]['ssim']:.3f}" for p in pipes)
                     + " |")
    a = summ["all"]
    lines += ["", f"Default chain over Lanczos: {a['DNU']['psnr'] - a['lanczos']['psnr']:+.2f} dB; over the reversed "
              f"order: {a['DNU']['psnr'] - a['UND']['psnr']:+.2f} dB. Mean seconds per photo (384x256 in): "
              + ", ".join(f"{p} {a[p]['seconds']:.2f}" for p in pipes) + ".", "",
              "## The upscaler alone: clean photos made small (no blur, no noise), gain over Lanczos / bicubic",
              "", "| made small by | over Lanczos dB | over bicubic dB | worst photo over Lanczos dB |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {v['over_lanczos_db']:+.2f} | {v['over_bicubic_db']:+.2f} | {v['worst_over_lanczos_db']:+.2f} |"
              for k, v in alone.items()]
    lines += ["", "## Speed of each link (ms per input megapixel, 1024x1024 input, 2 threads, same run)", "",
              "| link | model | ms / MP |", "|---|---|---:|"]
    lines += [f"| {s['link']} | {s['model']} | {s['ms_per_mp']} |" for s in speed]
    (out / "restore.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "val_realblur")
    ap.add_argument("--limit", type=int, default=0, help="first N photos only (a quick look)")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    if not (a.data / "PAIRS.tsv").is_file():
        raise SystemExit(f"{a.data}/PAIRS.tsv not found; pass --data DIR (a folder with PAIRS.tsv)")
    meta = run_meta()
    rows = run(a.data, a.limit, tuple(a.families.split(",")))
    write(rows, upscaler_alone(a.data, a.limit), link_speed(), a.out, meta)
    strip(a.out)
    print((a.out / "restore.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
