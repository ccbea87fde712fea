"""Calibrate the face blur estimate (``runtime.video.face_blur``) on the training face photos.

    .venv/bin/python -m benchmarks.face_blur_calibration [--photos /work/shared/train_photos/faces]

Each training face is resampled to several face sizes (what a webcam, a phone photo and a
thumbnail give), JPEG-compressed like video, and either left sharp or blurred (defocus,
Gaussian, linear motion) in linear light. The re-blur sharpness of every variant is
recorded; the anchors of ``runtime.video.face_blur`` are read off this table: the sharp anchor is
a low percentile of the sharp faces (so nearly all sharp faces map to blur 0), the blurry
anchor the median under a defocus that the model clearly helps. Evaluation photos
(astronaut, grace_hopper, coffee, chelsea) are never used here. Writes JSON and Markdown
into ``benchmarks/results/face_blur/``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from facemask.detector import FaceDetector
from facemask.image import read_image_rgb
from facemask.options import FaceDetectorOptions
from runtime.video.face_blur import ANCHOR_FACE_PX, BLURRY_ANCHORS, SHARP_ANCHORS, inner_face, sharpness_of
from runtime.lab.degradations import blur, jpeg_roundtrip
from runtime.photo.kernels import defocus_kernel, gaussian_kernel, linear_motion_kernel

OUT_DIR = Path(__file__).resolve().parent / "results" / "face_blur"
FACE_SIZES = (48, 80, 128, 200, 320, 480)
"""Landmark-box sides in pixels (a 720p webcam face is ~90-130)."""
BLURS = {"sharp": None, "defocus 1": defocus_kernel(1.0), "defocus 1.5": defocus_kernel(1.5),
         "defocus 2.5": defocus_kernel(2.5), "defocus 4": defocus_kernel(4.0),
         "gauss 1": gaussian_kernel(1.0), "motion 5": linear_motion_kernel(5, 30), "motion 9": linear_motion_kernel(9, 100)}


def measure(photos: list[Path], limit: int) -> dict[str, dict[int, list[float]]]:
    table: dict[str, dict[int, list[float]]] = {b: {s: [] for s in FACE_SIZES} for b in BLURS}
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
                lm_s = lm * scale
                f = small.astype(np.float32) / 255
                for name, k in BLURS.items():
                    out = f if k is None else blur(f, k)
                    out = jpeg_roundtrip(np.clip(out, 0, 1), 85)
                    u8 = (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
                    gray = inner_face(u8, lm_s)
                    if gray is not None:
                        table[name][size].append(sharpness_of(gray))
    print(f"{used} faces", file=sys.stderr)
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.face_blur_calibration", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", type=Path, default=Path("/work/shared/train_photos/faces"))
    p.add_argument("--limit", type=int, default=80, help="most faces used (default 80)")
    p.add_argument("--out", type=Path, default=OUT_DIR)
    args = p.parse_args(argv)
    photos = sorted(q for q in args.photos.iterdir() if q.suffix.lower() in (".jpg", ".jpeg", ".png"))
    table = measure(photos, args.limit)
    rows = {b: {str(s): {"p10": float(np.percentile(v, 10)), "p25": float(np.percentile(v, 25)), "p50": float(np.median(v)), "p75": float(np.percentile(v, 75)), "n": len(v)}
                for s, v in by.items() if v} for b, by in table.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    doc = {"date": time.strftime("%Y-%m-%d %H:%M"), "photos": str(args.photos), "rows": rows,
           "anchors": {"face_px": ANCHOR_FACE_PX, "sharp": SHARP_ANCHORS, "blurry": BLURRY_ANCHORS}}
    (args.out / "results.json").write_text(json.dumps(doc, indent=2) + "\n")
    lines = ["# Face blur estimate: calibration on training faces", "",
             f"`python -m benchmarks.face_blur_calibration` on {doc['date']}, photos from `{args.photos}` "
             "(training set; evaluation photos never used). Re-blur sharpness p10 / p50 / p75 per face size "
             "(landmark box side, px) after JPEG q85.", "",
             "| blur | " + " | ".join(f"{s} px" for s in FACE_SIZES) + " |", "|---|" + "---:|" * len(FACE_SIZES)]
    for b, by in rows.items():
        lines.append(f"| {b} | " + " | ".join(
            f"{by[str(s)]['p10']:.3f} / {by[str(s)]['p50']:.3f} / {by[str(s)]['p75']:.3f}" if str(s) in by else "-"
            for s in FACE_SIZES) + " |")
    lines += ["", f"Anchors in `runtime/video/face_blur.py` at face sizes {ANCHOR_FACE_PX}: sharp {SHARP_ANCHORS} "
              "(the sharp p10: blur 0 at and above), blurry "
              f"{BLURRY_ANCHORS} (the defocus-1 p50: blur 1 at and below)."]
    (args.out / "README.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
