"""Benchmark pictures are small JPEGs that still show what they are for."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks.pictures import write_comparison_strip, write_picture
from runtime.lab.metrics import psnr
from runtime.lab.sample_images import EVAL_IMAGES, load_sample


def test_a_strip_keeps_its_detail_at_a_fraction_of_the_png_size(tmp_path: Path) -> None:
    rgb = load_sample(EVAL_IMAGES[0])
    out = write_picture(tmp_path / "strip.jpg", rgb)
    back = cv2.imread(str(out), cv2.IMREAD_COLOR)[..., ::-1]
    ok, png = cv2.imencode(".png", rgb[..., ::-1])
    assert ok and out.stat().st_size < len(png) / 2
    assert psnr(rgb / 255.0, back / 255.0, 0) > 36
    assert [p.name for p in tmp_path.iterdir()] == ["strip.jpg"]       # no temp file left behind


def test_float_pictures_are_clipped_and_rounded(tmp_path: Path) -> None:
    blocks = np.zeros((8, 24, 3), np.float32)          # one flat 8x8 JPEG block each
    blocks[:, :8], blocks[:, 8:16], blocks[:, 16:] = 0.5, 2.0, -1.0
    back = cv2.imread(str(write_picture(tmp_path / "g.jpg", blocks)), cv2.IMREAD_COLOR).astype(int)
    assert abs(back[4, 4, 0] - 128) <= 1 and back[4, 12, 0] >= 254 and back[4, 20, 0] <= 1


def test_other_formats_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.jpg"):
        write_picture(tmp_path / "strip.png", np.zeros((4, 4, 3), np.uint8))
    assert not list(tmp_path.iterdir())


def test_a_comparison_strip_puts_input_first_and_sharp_last(tmp_path: Path) -> None:
    cell = {k: np.full((16, 16, 3), v, np.float32) for k, v in (("input", 0.0), ("a", 0.5), ("sharp", 1.0))}
    crops = {"input": [cell["input"]] * 2, "sharp": [cell["sharp"]] * 2, "a": [cell["a"]] * 3}
    write_comparison_strip(tmp_path, crops, "two examples")
    strip = cv2.imread(str(tmp_path / "strip.jpg"), cv2.IMREAD_GRAYSCALE).astype(int)
    assert strip.shape == (32, 48)                       # rows stop at the shortest column
    assert strip[8, 8] <= 2 and abs(strip[8, 24] - 128) <= 2 and strip[8, 40] >= 253
    assert (tmp_path / "strip.txt").read_text() == "columns: input | a | sharp\nrows: two examples\n"
    write_comparison_strip(tmp_path / "none", {"input": [], "sharp": [], "a": []})
    assert not (tmp_path / "none").exists()
