"""Deblur quality on camera-made blur: the headline row of the quality benchmark.

Run ``python -m benchmarks.realblur [--data ../shared/val_realblur] [--configs ...]``.
Every pair in ``DATA/PAIRS.tsv`` (pixel-aligned blurry/sharp photos whose blur came from a
real camera, not from our generator) is deblurred whole, through the same API the CLI
uses, with each configuration ``METHOD:MODEL[:no-keep-sharp]`` (e.g. ``auto:small``,
``model:nano``; MODEL may be a file; ``keep-sharp`` makes auto return photos the estimate
calls sharp unchanged; ``no-gate`` applies the model's correction everywhere). ``--models-dir`` points at another folder of exported models
(candidate weights before they ship). Writes ``benchmarks/results/realblur/``: ``realblur.json`` (per
pair and mean PSNR/SSIM gain over the input, seconds per megapixel, run metadata),
``realblur.md`` and ``strip.jpg`` (crops of pairs with people: input | each config | sharp).
Gains are also given per source (the file-name prefix: ``MTRBlurM``, ``GoProAvg``): the
sources differ in kind of blur, and a mean over all pairs hides which one a change moved.

These pairs choose checkpoints and nothing else: no setting is tuned on them per image.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks.pictures import write_comparison_strip
from benchmarks.run_meta import finish, header, run_meta
from convert.realval import read_pairs
from runtime import DeblurConfig, Deblurer
from runtime.catalog import DEFAULT_MODEL
from runtime.photo.imageio import read_image
from runtime.lab.metrics import psnr, ssim
from runtime.photo.gate import GateConfig
from runtime.photo.policy import AutoPolicy

OUT = Path(__file__).parent / "results" / "realblur"
DEFAULT_CONFIGS = (f"auto:{DEFAULT_MODEL}", "auto:small", f"model:{DEFAULT_MODEL}", "model:small", "model:nano")
"""The photo default and fp32 small, each through the auto path and alone, and nano alone."""
BORDER_PX = 20


@dataclass(frozen=True, slots=True)
class Row:
    """One configuration on one pair."""

    config: str
    pair: str
    people: bool
    psnr_in: float
    psnr_out: float
    ssim_in: float
    ssim_out: float
    s_per_mp: float
    label: str

    @property
    def gain(self) -> float:
        return self.psnr_out - self.psnr_in

    @property
    def source(self) -> str:
        """The data set the pair came from: its file-name prefix."""
        return self.pair.split("_", 1)[0]


def parse_config(spec: str, models_dir: Path | None) -> tuple[str, DeblurConfig]:
    method, model, *opts = spec.split(":")
    unknown = set(opts) - {"keep-sharp", "no-gate"}
    if unknown:
        raise SystemExit(f"--configs {spec}: unknown option(s) {', '.join(sorted(unknown))}; use keep-sharp, no-gate")
    policy = replace(AutoPolicy(), keep_sharp="keep-sharp" in opts, gate=None if "no-gate" in opts else GateConfig())
    extra = {"models_dir": models_dir} if models_dir else {}
    return spec, DeblurConfig(method=method, model=model or "small", policy=policy, **extra)


def run(folder: Path, specs: list[str], limit: int = 0, models_dir: Path | None = None) -> tuple[list[Row], dict[str, list[np.ndarray]]]:
    pairs = read_pairs(folder)[:limit or None]
    rows: list[Row] = []
    crops: dict[str, list[np.ndarray]] = {"input": [], "sharp": []}
    for spec in specs:
        name, cfg = parse_config(spec, models_dir)
        crops[name] = []
        with Deblurer(cfg) as d:
            for i, p in enumerate(pairs):
                blurry, sharp = read_image(p.blur).rgb, read_image(p.sharp).rgb
                t = time.perf_counter()
                res = d.deblur_image(blurry)
                secs = time.perf_counter() - t
                mp = blurry.shape[0] * blurry.shape[1] / 1e6
                rows.append(Row(name, p.blur.name, p.people,
                                psnr(blurry, sharp, BORDER_PX), psnr(res.image, sharp, BORDER_PX),
                                ssim(blurry, sharp, BORDER_PX), ssim(res.image, sharp, BORDER_PX),
                                secs / mp, res.label))
                print(f"[{name}] {i + 1}/{len(pairs)} {rows[-1].pair}: {rows[-1].gain:+.2f} dB "
                      f"({res.label}, {secs:.1f} s)", flush=True)
                if p.people and len(crops[name]) < 4:
                    crops[name].append(_crop(res.image))
                    if spec == specs[0]:
                        crops["input"].append(_crop(blurry))
                        crops["sharp"].append(_crop(sharp))
    return rows, crops


def _crop(img: np.ndarray, size: int = 256) -> np.ndarray:
    h, w = img.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return img[y:y + size, x:x + size]


def summary(rows: list[Row]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(r.config for r in rows):
        rs = [r for r in rows if r.config == name]
        people = [r for r in rs if r.people]
        out[name] = {"gain_db": float(np.mean([r.gain for r in rs])),
                     "gain_people_db": float(np.mean([r.gain for r in people])) if people else float("nan"),
                     "worst_db": float(min(r.gain for r in rs)),
                     "pairs_worse": sum(r.gain < -0.05 for r in rs),
                     "ssim_gain": float(np.mean([r.ssim_out - r.ssim_in for r in rs])),
                     "s_per_mp": float(np.median([r.s_per_mp for r in rs])),
                     "gain_by_source_db": {src: float(np.mean([r.gain for r in rs if r.source == src]))
                                           for src in dict.fromkeys(r.source for r in rs)}}
    return out


def write(rows: list[Row], crops: dict[str, list[np.ndarray]], folder: Path, out: Path,
          meta: dict[str, object]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    summ, meta = summary(rows), finish(meta)
    first = [r for r in rows if r.config == rows[0].config]
    sources = {src: sum(r.source == src for r in first) for src in dict.fromkeys(r.source for r in first)}
    (out / "realblur.json").write_text(json.dumps(
        {"meta": meta, "data": str(folder.name), "summary": summ,
         "rows": [asdict(r) | {"gain": r.gain} for r in rows]}, indent=1))
    lines = [f"# Deblur on camera-made blur ({folder.name}, {len({r.pair for r in rows})} pairs)", "",
             f"{header(meta)}. "
             f"PSNR/SSIM over the blurry input, whole 1280x720 frames, {BORDER_PX} px border excluded. "
             "Validation data: chooses checkpoints, never trained or tuned on per image.", "",
             "| config | gain dB | people dB | " + " | ".join(f"{src} ({n}) dB" for src, n in sources.items())
             + " | worst pair dB | pairs worse | SSIM gain | s / MP |",
             "|---|---|---|" + "---|" * len(sources) + "---|---|---|---|"]
    for name, s in summ.items():
        by_source = " | ".join(f"{s['gain_by_source_db'][src]:+.2f}" for src in sources)
        lines.append(f"| {name} | {s['gain_db']:+.2f} | {s['gain_people_db']:+.2f} | {by_source} | "
                     f"{s['worst_db']:+.2f} | {s['pairs_worse']} | {s['ssim_gain']:+.4f} | {s['s_per_mp']:.2f} |")
    (out / "realblur.md").write_text("\n".join(lines) + "\n")
    write_comparison_strip(out, crops)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "val_realblur")
    ap.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                    help="comma-separated METHOD:MODEL, e.g. auto:small,model:nano.int8")
    ap.add_argument("--limit", type=int, default=0, help="first N pairs only (a quick look)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--models-dir", type=Path, default=None, help="folder of exported models + manifest.json")
    a = ap.parse_args(argv)
    if not (a.data / "PAIRS.tsv").is_file():
        raise SystemExit(f"{a.data}/PAIRS.tsv not found; pass --data DIR (a folder of camera-blur pairs)")
    meta = run_meta()
    rows, crops = run(a.data, a.configs.split(","), a.limit, a.models_dir)
    write(rows, crops, a.data, a.out, meta)
    for name, s in summary(rows).items():
        print(f"{name}: {s['gain_db']:+.2f} dB (people {s['gain_people_db']:+.2f}, worst {s['worst_db']:+.2f}), "
              f"{s['s_per_mp']:.2f} s/MP")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
