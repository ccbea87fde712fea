"""Large faces in video (a phone held close): does the face gate still pick 0 for sharp faces
and the model for blurry ones, and what does its choice gain against the model at full strength?

Run ``python -m benchmarks.large_faces [--areas 0.07 0.2 0.35] [--frames 30] [--photos DIR ...]``. For each
photo folder (each gives one face: ``benchmarks.real_clip`` picks it) and each face
area (the landmark box as a fraction of a 1280x720 frame: 0.07 is the runtime benchmark's
webcam face, ~250 px; 0.35 a selfie, ~570 px) it builds the real-face clips of
``benchmarks.real_clip`` (sharp, shaken, defocused, soft), runs ``edgedeblur run``'s file
default on them with ``--faces-strength auto`` and with strength 1, and reports the mean
strength the gate chose and the face PSNR gain of each. The training faces hold no face larger
than ~360 px, so the larger clips upscale one (the clip's source says by how much): their
"sharp" clip is a little soft at pixel level.

Writes ``benchmarks/results/face_blur/large_faces.md`` and ``.json``.
"""
from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from benchmarks.real_clip import BLURS, DEFAULT_PHOTOS, FACE_AREA_FRAC, make_real_clip
from benchmarks.run_meta import ROOT, finish, header, run_meta
from benchmarks.runtime import GroundTruth, _faces, _ground_truth
from runtime.catalog import FILE_VIDEO_MODEL
from runtime.video.face_strength import StrengthConfig
from runtime.video.pipeline import FacePriorityPipeline, FrameResult, PipelineConfig
from runtime.video.sources import open_source
from runtime.video.stream import run_stream

OUT_DIR = ROOT / "benchmarks" / "results" / "face_blur"


@dataclass(frozen=True, slots=True)
class Row:
    """One clip: its face size, the gate's mean strength, and the gains with it and at strength 1."""

    area: float
    face_px: float
    blur: str
    source: str
    strength: float
    gain_auto_db: float
    gain_full_db: float


def _run(path: Path, strength: float | str, frames: int) -> tuple[list[np.ndarray], list[float], list[float]]:
    """Output frames, the first face's strength and its landmark-box side, per frame."""
    config = PipelineConfig(model=FILE_VIDEO_MODEL, faces_strength=strength, reuse_crops=False,
                            strength=StrengthConfig(coded_video=True))
    outs: list[np.ndarray] = []
    strengths: list[float] = []
    sides: list[float] = []

    def on_frame(result: FrameResult, _stats: object) -> None:
        outs.append(result.image_rgb.copy())
        if len(result.strengths.strength):
            strengths.append(float(result.strengths.strength[0]))
        if len(result.faces):
            lm = result.faces.landmarks_px[0][:, :2]
            sides.append(float(np.max(lm.max(axis=0) - lm.min(axis=0))))

    with open_source(str(path)) as source, FacePriorityPipeline(config) as pipe:
        run_stream(source, pipe, [], on_frame=on_frame, max_frames=frames)
    return outs, strengths, sides


def _gain(outs: list[np.ndarray], gt: GroundTruth) -> float:
    """Mean face PSNR gain over the input, in the ovals of ``benchmarks.runtime``."""
    gains = []
    for i, image in enumerate(outs):
        for out, src, sharp, oval in _faces(image, gt, i):
            err_out, err_in = np.mean((out - sharp)[oval] ** 2), np.mean((src - sharp)[oval] ** 2)
            gains.append(10 * np.log10(err_in / max(err_out, 1e-12)))
    return float(np.mean(gains))


def measure(areas: list[float], frames: int, folders: list[Path]) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for (k, photos), area, blur in itertools.product(enumerate(folders), areas, (None, *BLURS)):
            clip = make_real_clip(Path(tmp) / f"{k}-{area}-{blur}.mp4", photos=photos, blur=blur,
                                  n_frames=frames, face_area=area)
            gt = _ground_truth(clip, frames)
            auto, strengths, sides = _run(clip.path, "auto", frames)
            full, _, _ = _run(clip.path, 1.0, frames)
            rows.append(Row(area, float(np.mean(sides)), blur or "sharp", clip.source,
                            float(np.mean(strengths)) if strengths else 0.0, _gain(auto, gt), _gain(full, gt)))
            print(rows[-1], flush=True)
    return rows


def _markdown(rows: list[Row], meta: dict[str, object]) -> str:
    lines = ["# Large faces: the face gate against full strength", "", header(meta) + ". File default "
             f"(`{FILE_VIDEO_MODEL}`, every crop), real-face clips of `benchmarks.real_clip` at 1280x720, "
             "H.264 crf 18. Gain: face PSNR (oval) over the input. A sharp face should get strength 0 (the "
             "model would only smooth it: see its full-strength column); a blurred one 1.", "",
             "| face area | face px | clip | strength (auto) | gain auto dB | gain at strength 1 dB | source |",
             "|---:|---:|---|---:|---:|---:|---|"]
    lines += [f"| {r.area:.3f} | {r.face_px:.0f} | {r.blur} | {r.strength:.2f} | {r.gain_auto_db:+.2f} | "
              f"{r.gain_full_db:+.2f} | {r.source} |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.large_faces", description=__doc__.splitlines()[0])
    p.add_argument("--areas", type=float, nargs="+", default=[FACE_AREA_FRAC, 0.2, 0.35])
    p.add_argument("--frames", type=int, default=30)
    p.add_argument("--photos", type=Path, nargs="+", default=[DEFAULT_PHOTOS],
                   help="folders of face photos, one clip face each (default: the training faces)")
    p.add_argument("--out", type=Path, default=OUT_DIR)
    args = p.parse_args(argv)
    meta = run_meta()
    rows = measure(args.areas, args.frames, args.photos)
    meta = finish(meta)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "large_faces.json").write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]},
                                                          indent=2) + "\n")
    (args.out / "large_faces.md").write_text(_markdown(rows, meta))
    print(_markdown(rows, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
