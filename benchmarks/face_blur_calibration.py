"""Calibrate the face blur estimate (``runtime.video.face_blur``) on the training face photos.

    .venv/bin/python -m benchmarks.face_blur_calibration [--photos /work/shared/train_photos/faces]

Each training face is resampled to several face sizes (what a webcam, a phone photo and a
thumbnail give), either left sharp or blurred (defocus, Gaussian, linear motion) in linear
light, then given sensor noise and JPEG or H.264 compression, as photos, video files and
cameras deliver faces (each reading's conditions: ``READINGS``). The re-blur sharpness of every variant is
recorded; the anchors of both of ``runtime.video.face_blur``'s readings are read off these tables: the
sharp anchor is a low percentile of the sharp faces (so nearly all sharp faces map to blur
0), the blurry anchor the median under a defocus that the model clearly helps. Evaluation photos
(astronaut, grace_hopper, coffee, chelsea) are never used here. Writes JSON and Markdown
into ``benchmarks/results/face_blur/``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from facemask.detector import FaceDetector
from facemask.image import read_image_rgb
from facemask.options import FaceDetectorOptions
from runtime.video.face_blur import (ANCHOR_FACE_PX, BLURRY_ANCHORS, COARSE_BLURRY_ANCHORS, COARSE_SHARP_ANCHORS,
                                     SHARP_ANCHORS, VIDEO_BLURRY_ANCHORS, VIDEO_SHARP_ANCHORS, coarse_sharpness_of,
                                     inner_face, sharpness_of)
from runtime.lab.degradations import blur, h264_roundtrip, jpeg_roundtrip
from runtime.photo.kernels import defocus_kernel, gaussian_kernel, linear_motion_kernel

OUT_DIR = Path(__file__).resolve().parent / "results" / "face_blur"
FACE_SIZES = (48, 80, 128, 200, 320, 480)
"""Landmark-box sides in pixels (a 720p webcam face is ~90-130)."""
BLURS = {"sharp": None, "defocus 1": defocus_kernel(1.0), "defocus 1.5": defocus_kernel(1.5),
         "defocus 2.5": defocus_kernel(2.5), "defocus 4": defocus_kernel(4.0),
         "gauss 1": gaussian_kernel(1.0), "motion 5": linear_motion_kernel(5, 30), "motion 9": linear_motion_kernel(9, 100)}
CONDITIONS = (("jpeg", 85, 0.0), ("jpeg", 85, 0.02), ("h264", 23, 0.01), ("raw", 0, 0.01))
"""(codec, quality or CRF, sRGB noise sigma): a clean photo, a noisy one, a video frame, a raw camera frame."""


def _condition(image: np.ndarray, condition: tuple[str, int, float], rng: np.random.Generator) -> np.ndarray:
    codec, quality, sigma = condition
    out = np.clip(image + rng.normal(0, sigma, image.shape).astype(np.float32), 0, 1) if sigma else image
    if codec == "jpeg":
        return jpeg_roundtrip(out, quality)
    return h264_roundtrip(out, quality) if codec == "h264" else out


Table = dict[str, dict[int, list[float]]]


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading of the estimate, the conditions its anchors are read over, and the anchors."""

    title: str
    measure: Callable[[np.ndarray], float]
    conditions: tuple[tuple[str, int, float], ...]
    sharp: tuple[float, ...]
    blurry: tuple[float, ...]
    blurry_rule: str


READINGS = {
    "fine": Reading("Fine reading (the face against its sigma-1 re-blur), photos and cameras", sharpness_of,
                    CONDITIONS[:1], SHARP_ANCHORS, BLURRY_ANCHORS, "the defocus-1 p50"),
    "fine, video": Reading("Fine reading on decoded video", sharpness_of, (("h264", 18, 0.0), ("h264", 23, 0.01)),
                           VIDEO_SHARP_ANCHORS, VIDEO_BLURRY_ANCHORS,
                           "the defocus-1 p50, or the defocus-1.5 p50 where that one is not below the sharp anchor"),
    "coarse": Reading("Coarse reading (the sigma-1 re-blur against the sigma-2 one)", coarse_sharpness_of,
                      CONDITIONS, COARSE_SHARP_ANCHORS, COARSE_BLURRY_ANCHORS,
                      "the defocus-2.5 p50: milder blur overlaps the softer sharp faces at this scale"),
}
"""The fine reading is judged on clean JPEG faces (noise fools it; the coarse reading covers
that) or, for decoded video, on H.264 frames; the coarse one on every condition."""
ALL_CONDITIONS = tuple(dict.fromkeys(c for r in READINGS.values() for c in r.conditions))


def measure(photos: list[Path], limit: int) -> dict[str, Table]:
    tables: dict[str, Table] = {r: {b: {s: [] for s in FACE_SIZES} for b in BLURS} for r in READINGS}
    used = 0
    with FaceDetector.create_from_options(FaceDetectorOptions(max_faces=1)) as det:
        for path in photos:
            if used >= limit:
                break
            img = read_image_rgb(path)
            faces = det.process(img)
            if not len(faces):
                continue
            lm = faces.landmarks_px[0][:, :2]
            side = float(np.max(lm.max(0) - lm.min(0)))
            if side < 240:          # too small to downsample from without being soft already
                continue
            used += 1
            for size in FACE_SIZES:
                scale = size / side
                if scale > 1.0:
                    continue
                small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                f = small.astype(np.float32) / 255
                for name, k in BLURS.items():
                    blurred = f if k is None else np.clip(blur(f, k), 0, 1)
                    for condition in ALL_CONDITIONS:
                        out = _condition(blurred, condition, np.random.default_rng(used))
                        gray = inner_face((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8), lm * scale)
                        for key, reading in READINGS.items():
                            if gray is not None and condition in reading.conditions:
                                tables[key][name][size].append(reading.measure(gray))
    print(f"{used} faces", file=sys.stderr)
    return tables


def _rows(table: Table) -> dict[str, dict[str, dict[str, float]]]:
    return {b: {str(s): {"p10": float(np.percentile(v, 10)), "p25": float(np.percentile(v, 25)),
                         "p50": float(np.median(v)), "p75": float(np.percentile(v, 75)), "n": len(v)}
                for s, v in by.items() if v} for b, by in table.items()}


def _markdown(rows: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    lines = ["| blur | " + " | ".join(f"{s} px" for s in FACE_SIZES) + " |", "|---|" + "---:|" * len(FACE_SIZES)]
    for b, by in rows.items():
        lines.append(f"| {b} | " + " | ".join(
            f"{by[str(s)]['p10']:.3f} / {by[str(s)]['p50']:.3f} / {by[str(s)]['p75']:.3f}" if str(s) in by else "-"
            for s in FACE_SIZES) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.face_blur_calibration", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", type=Path, default=Path("/work/shared/train_photos/faces"))
    p.add_argument("--limit", type=int, default=80, help="most faces used (default 80)")
    p.add_argument("--out", type=Path, default=OUT_DIR)
    args = p.parse_args(argv)
    photos = sorted(q for q in args.photos.iterdir() if q.suffix.lower() in (".jpg", ".jpeg", ".png"))
    rows = {reading: _rows(table) for reading, table in measure(photos, args.limit).items()}
    args.out.mkdir(parents=True, exist_ok=True)
    anchors = {"face_px": ANCHOR_FACE_PX, **{k: {"sharp": r.sharp, "blurry": r.blurry} for k, r in READINGS.items()}}
    doc = {"date": time.strftime("%Y-%m-%d %H:%M"), "photos": str(args.photos),
           "conditions": {k: r.conditions for k, r in READINGS.items()}, "rows": rows, "anchors": anchors}
    (args.out / "results.json").write_text(json.dumps(doc, indent=2) + "\n")
    lines = ["# Face blur estimate: calibration on training faces", "",
             f"`python -m benchmarks.face_blur_calibration` on {doc['date']}, photos from `{args.photos}` "
             "(training set; evaluation photos never used). Re-blur sharpness p10 / p50 / p75 per face size "
             f"(landmark box side, px); anchors at face sizes {ANCHOR_FACE_PX}. A face's blur is the larger of "
             "its fine reading's (photo or video anchors) and its coarse reading's."]
    for key, reading in READINGS.items():
        lines += ["", f"## {reading.title}", "", "Conditions (codec, quality or CRF, sRGB noise sigma): "
                  + ", ".join(map(str, reading.conditions)) + ".", ""]
        lines += _markdown(rows[key])
        lines += ["", f"Anchors: sharp {reading.sharp} (the sharp p10: blur 0 at and above), blurry "
                  f"{reading.blurry} ({reading.blurry_rule}: blur 1 at and below)."]
    (args.out / "README.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
