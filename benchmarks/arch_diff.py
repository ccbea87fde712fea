"""Inputs for, and the numerics verdict of, tools/arm64-check.sh (``python -m benchmarks.arch_diff``).

``inputs DIR`` writes what both machines run on: ``sharp.png`` (scikit-image's astronaut's
head, 256x256, 16-bit), ``blurred.png`` (a 9 px motion blur of it in linear light, 16-bit so the
outputs keep 16 bits too), ``clip.mp4`` and ``clip.h264`` (a blurred 24-frame 320x240 face clip,
the second a raw H.264 stream as ``rpicam-vid -o -`` writes it).

``compare ARM X86 ARTIFACT...`` reads each artifact's output from both folders and prints
PSNR against the sharp photo on each machine, the difference, and the largest pixel
difference. An artifact passes when its ground-truth PSNR on arm64 is within the conversion
gate (0.3 dB, ``convert.validate.ValidationConfig.gate_db``) of x86's; exit 1 otherwise.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from benchmarks.videos import make_face_video, write_raw_h264
from facemask.files import atomic_write
from runtime.lab.degradations import blur
from runtime.lab.metrics import max_abs_error, psnr
from runtime.photo.imageio import read_image
from runtime.photo.kernels import linear_motion_kernel

GATE_DB = 0.3          # the conversion gate's default (convert/validate.py)
SHIP_GATE_DB = 0.08    # the stricter gate shipped artifacts pass (convert ship --ship)


def _write16(path: Path, rgb: np.ndarray) -> None:
    pixels = (np.clip(rgb, 0, 1) * 65535 + 0.5).astype(np.uint16)
    ok, png = cv2.imencode(".png", pixels[..., ::-1])
    if not ok:
        raise SystemExit(f"cannot encode {path}")
    atomic_write(path, png.tobytes())


def make_inputs(folder: Path) -> None:
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    sharp = data.astronaut()[:256, 96:352].astype(np.float32) / 255.0
    _write16(folder / "sharp.png", sharp)
    _write16(folder / "blurred.png", blur(sharp, linear_motion_kernel(9.0, 30.0)))
    clip = make_face_video(folder / "clip.mp4", size_wh=(320, 240), n_frames=24, fps=24.0)
    write_raw_h264(folder / "clip.h264", [clip.blurred_frame(i) for i in range(24)], 24)


def compare(arm: Path, x86: Path, artifacts: list[str]) -> int:
    sharp = read_image(arm / "sharp.png").rgb
    blurred = psnr(sharp, read_image(arm / "blurred.png").rgb)
    print(f"every artifact's output, arm64 (emulated) vs x86, on the same photo "
          f"(blurred.png: {blurred:.3f} dB vs sharp):")
    print("| artifact | PSNR vs sharp, x86 | arm64 | arm64 - x86 | max abs diff (8-bit levels) | PSNR arm64 vs x86 | verdict |")
    print("|---|---|---|---|---|---|---|")
    failed = 0
    for name in artifacts:
        a_path, x_path = arm / f"{name}.png", x86 / f"{name}.png"
        if not (a_path.is_file() and x_path.is_file()):
            print(f"| {name} | missing output: {a_path if not a_path.is_file() else x_path} | | | | | FAIL |")
            failed += 1
            continue
        a, x = read_image(a_path).rgb, read_image(x_path).rgb
        pa, px = psnr(sharp, a), psnr(sharp, x)
        delta = pa - px
        ok = abs(delta) <= GATE_DB
        verdict = ("ok" if abs(delta) <= SHIP_GATE_DB else "ok (within 0.3 dB gate)") if ok else "FAIL"
        failed += not ok
        print(f"| {name} | {px:.3f} | {pa:.3f} | {delta:+.3f} | {max_abs_error(a, x) * 255:.2f} "
              f"| {psnr(x, a, border_px=0):.1f} | {verdict} |")
    print(f"gate: |arm64 - x86| <= {GATE_DB} dB ground-truth PSNR; {failed} failed")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "inputs":
        make_inputs(Path(argv[1]))
        return 0
    if len(argv) >= 4 and argv[0] == "compare":
        return compare(Path(argv[1]), Path(argv[2]), argv[3:])
    print("usage: python -m benchmarks.arch_diff inputs DIR | compare ARM_DIR X86_DIR ARTIFACT...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
