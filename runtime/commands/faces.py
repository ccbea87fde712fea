"""``edgedeblur faces``: show which faces (and which pixels) face-priority deblurring will use."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facemask.errors import FaceMaskError

if TYPE_CHECKING:
    from facemask.regions import FaceRegions
    from facemask.result import FaceResult
    from runtime.video.face_blur import BlurEstimate

DRAW_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def _in_range(lo: float, hi: float, kind: type = float) -> Any:
    """An argparse type: a number of ``kind`` in [lo, hi]."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"{text!r} is not a{'n integer' if kind is int else ' number'}") from e
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text} must be in [{lo}, {hi}]")
        return value
    return parse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``faces`` subcommand."""
    p = subparsers.add_parser(
        "faces", help="find faces in photos and show the regions that get deblurred",
        description="Detect faces (MediaPipe face models) and print, per photo, each face's box, "
                    "score and landmark count with the square, tile-sized region the deblur model "
                    "will see, and each face's blur estimate (0 = as sharp as sharp faces are, 1 = blurry enough "
                    "for the full model; `run --faces-strength auto` deblurs by it). Photos smaller than "
                    "--tile get regions of the largest tile that fits. --draw writes an overlay: green = blend mask, yellow = regions, "
                    "blue = face boxes, red = landmarks.")
    p.add_argument("photos", nargs="+", type=Path, metavar="PHOTO",
                   help="image files (JPEG, PNG, ...) or folders of them")
    p.add_argument("--json", action="store_true", help="print JSON: a list with one object per photo, faces under 'faces'")
    p.add_argument("--draw", type=Path, metavar="OUT",
                   help="write the overlay to OUT (an image file; a folder when several photos are given)")
    p.add_argument("--tile", type=_in_range(8, 8192, int), default=256, help="model tile size in pixels; regions are multiples (default 256)")
    p.add_argument("--margin", type=_in_range(0.0, 4.0), default=0.25, help="margin around each face, fraction of face size (default 0.25)")
    p.add_argument("--min-face", type=_in_range(0.0, 8192.0), default=24.0, metavar="PX",
                   help="faces smaller than this many pixels get no region (default 24)")
    p.add_argument("--max-faces", type=_in_range(1, 64, int), default=8, help="most faces per photo (default 8)")
    p.add_argument("--threshold", type=_in_range(0.0, 1.0), default=0.6, help="detector confidence in [0, 1] (default 0.6)")
    p.add_argument("--range", choices=("full", "short"), dest="detector_range",
                   help="face detector: full (default with litert: smaller, farther faces) or short "
                        "(close faces; the only one with mediapipe)")
    p.add_argument("--backend", choices=("litert", "mediapipe"), default="litert",
                   help="run the bundled face models in LiteRT (default) or in MediaPipe's graph")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def _expand(inputs: list[Path]) -> list[Path]:
    """The photos to read: files as given, folders as the photos directly in them.

    Raises:
        FaceMaskError: an input does not exist, or a folder holds no photos.
    """
    from runtime.photo.imageio import photos_in

    photos: list[Path] = []
    for p in inputs:
        if p.is_dir():
            found = photos_in(p)
            if not found:
                raise FaceMaskError(f"{p} is a folder with no photos in it; give photos or a folder of them")
            photos += found
        elif p.is_file():
            photos.append(p)
        else:
            raise FaceMaskError(f"cannot open {p}: not found; check the path")
    return photos


def _draw_targets(photos: list[Path], draw: Path | None) -> list[Path | None]:
    """Where each photo's overlay goes, checked before any work.

    Raises:
        FaceMaskError: Several photos but OUT is not a folder, a bad suffix, or an overlay
            that would overwrite an input photo.
    """
    if draw is None:
        return [None] * len(photos)
    if len(photos) > 1 or draw.is_dir():
        if not draw.is_dir():
            raise FaceMaskError(f"--draw {draw}: with {len(photos)} photos OUT must be an existing folder; "
                                "create it or pass one photo")
        targets = [draw / f"{p.stem}.faces.png" for p in photos]
    else:
        if draw.suffix.lower() not in DRAW_SUFFIXES:
            raise FaceMaskError(f"--draw {draw}: unknown image type {draw.suffix!r}; use a .png or .jpg name")
        if not draw.parent.is_dir():
            raise FaceMaskError(f"--draw {draw}: folder {draw.parent} does not exist; create it first")
        targets = [draw]
    inputs = {p.resolve() for p in photos}
    for t in targets:
        if t.resolve() in inputs:
            raise FaceMaskError(f"--draw {t} would overwrite an input photo; choose another name")
    if len(set(targets)) != len(targets):
        raise FaceMaskError(f"--draw {draw}: two photos share a file name stem; draw them one at a time")
    return list(targets)


def _photo_json(path: Path, faces: FaceResult, regions: FaceRegions, blur: list[BlurEstimate],
                min_face_px: float) -> dict[str, Any]:
    """One photo's entry of the JSON output (and the source of the text output)."""
    region_of = {int(f): r for r, members in enumerate(regions.members) for f in members.nonzero()[0]}
    r1 = lambda values: [round(float(v), 1) for v in values]  # noqa: E731
    return {
        "photo": str(path),
        "size_wh": list(faces.image_size_wh),
        "faces": [
            {"box_xyxy": r1(faces.boxes_xyxy[i]), "score": round(float(faces.scores[i]), 3),
             "landmarks": faces.num_landmarks,
             "blur": round(blur[i].blur, 3), "sharpness": round(blur[i].sharpness, 3),
             "region": region_of.get(i)}
            for i in range(len(faces))
        ],
        "regions": [
            {"box_xyxy": [int(v) for v in regions.boxes_xyxy[r]], "side_px": int(regions.sides_px[r]),
             "clipped": bool(regions.clipped[r])}
            for r in range(len(regions))
        ],
        "region_coverage": round(regions.coverage(), 4),
        "tile": regions.tile,
        "min_face_px": min_face_px,
    }


def _text(doc: dict[str, Any]) -> str:
    w, h = doc["size_wh"]
    n = len(doc["faces"])
    lines = [f"{doc['photo']}: {n} face{'' if n == 1 else 's'} ({w}x{h}), regions cover "
             f"{100 * doc['region_coverage']:.1f}% of the photo"]
    for i, face in enumerate(doc["faces"]):
        x0, y0, x1, y1 = face["box_xyxy"]
        where = (f"no region: {max(x1 - x0, y1 - y0):.0f} px is under --min-face {doc['min_face_px']:g} px, "
                 "too small to help" if face["region"] is None else f"region {face['region']}")
        lines.append(f"  face {i}: box ({x0:.0f},{y0:.0f})-({x1:.0f},{y1:.0f}) score {face['score']:.2f} "
                     f"landmarks {face['landmarks']} blur {face['blur']:.2f} -> {where}")
    for r, region in enumerate(doc["regions"]):
        x0, y0, x1, y1 = region["box_xyxy"]
        note = " (clipped: face larger than the photo allows)" if region["clipped"] else ""
        lines.append(f"  region {r}: ({x0},{y0})-({x1},{y1}) {region['side_px']}px{note}")
    return "\n".join(lines)


def _fitting_tile(tile: int, size_wh: tuple[int, int]) -> int:
    """The tile for a photo: ``tile``, or the largest multiple of 8 that fits a smaller photo
    (the pipeline pads such frames up to the model tile; here regions must lie in the photo)."""
    side = min(size_wh)
    return tile if side >= tile else max(8, side // 8 * 8)


def run(args: argparse.Namespace) -> int:
    """Handler: detect, build regions and masks, print (and draw) them per photo."""
    import numpy as np
    from tqdm import tqdm

    from facemask.detector import FaceDetector
    from facemask.draw import draw_faces
    from facemask.image import write_image_rgb
    from runtime.errors import ImageError
    from runtime.photo.imageio import read_image
    from facemask.masks import region_masks
    from facemask.options import DetectorModel, FaceDetectorOptions
    from facemask.regions import RegionConfig, build_regions
    from runtime.video.face_blur import estimate_blur

    if args.detector_range == "full" and args.backend != "litert":
        raise FaceMaskError("--range full needs --backend litert: MediaPipe's face-mesh graph has only "
                            "the short-range detector")
    photos = _expand(args.photos)
    targets = _draw_targets(photos, args.draw)
    region_config = RegionConfig(tile=args.tile, margin=args.margin, min_face_px=args.min_face)
    options = FaceDetectorOptions(
        backend=args.backend, max_faces=args.max_faces, min_detection_confidence=args.threshold,
        detector_model=None if args.detector_range is None else DetectorModel(f"{args.detector_range}_range"))
    docs = []
    failed = 0
    show_bar = not args.quiet and sys.stderr.isatty()
    with FaceDetector.create_from_options(options) as detector:
        for path, target in tqdm(list(zip(photos, targets)), desc="faces", unit="photo",
                                 disable=not show_bar, file=sys.stderr):
            try:
                image = (read_image(path).rgb * 255 + 0.5).astype(np.uint8)     # HEIC and 16-bit too
                if min(image.shape[:2]) < 8:
                    raise FaceMaskError(f"{path} is {image.shape[1]}x{image.shape[0]} px: too small to hold a face")
            except (FaceMaskError, ImageError) as e:    # one bad photo is reported; the others go on
                print(f"edgedeblur faces: error: {e}", file=sys.stderr, flush=True)
                failed += 1
                continue
            faces = detector.process(image)
            h, w = image.shape[:2]
            config = replace(region_config, tile=_fitting_tile(region_config.tile, (w, h)))
            regions = build_regions(faces, config)
            docs.append(_photo_json(path, faces, regions, [estimate_blur(image, lm) for lm in faces.landmarks_px],
                                    args.min_face))
            if target is not None:
                write_image_rgb(target, draw_faces(image, faces, regions, region_masks(regions, faces)))
            if not args.json:
                print(_text(docs[-1]), flush=True)
    if args.json:
        print(json.dumps(docs, indent=2))
    return 1 if failed else 0
