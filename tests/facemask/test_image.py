"""Frame checks (dtype, channels, size, colour order) and atomic image I/O."""
from __future__ import annotations

import os
from contextlib import nullcontext as does_not_raise
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_process import small_disk

from facemask.errors import FaceMaskError
from facemask.image import ColorOrder, read_image_rgb, to_rgb, write_image_rgb

RGB = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)


@pytest.mark.parametrize(("image", "raises", "match"), [
    (RGB, does_not_raise(), None),
    (np.zeros((1, 1, 3), np.uint8), does_not_raise(), None),
    (RGB.tolist(), pytest.raises(FaceMaskError), "not a numpy array"),
    (RGB[..., 0], pytest.raises(FaceMaskError), "grayscale.*COLOR_GRAY2RGB"),
    (np.zeros((4, 5, 4), np.uint8), pytest.raises(FaceMaskError), "4 channels.*drop alpha"),
    (np.zeros((4, 5, 2), np.uint8), pytest.raises(FaceMaskError), r"shape \(4, 5, 2\).*HxWx3"),
    (np.zeros((2, 4, 5, 3), np.uint8), pytest.raises(FaceMaskError), "HxWx3"),
    (RGB.astype(np.float32) / 255, pytest.raises(FaceMaskError), r"float32.*\* 255"),
    (RGB.astype(np.uint16) * 256, pytest.raises(FaceMaskError), "uint16.*>> 8"),
    (RGB.astype(np.int64), pytest.raises(FaceMaskError), "int64, expected uint8"),
    (np.zeros((0, 0, 3), np.uint8), pytest.raises(FaceMaskError), r"empty \(0x0"),
    (np.zeros((0, 7, 3), np.uint8), pytest.raises(FaceMaskError), r"empty \(7x0"),
    (np.zeros((2, 9000, 3), np.uint8), pytest.raises(FaceMaskError), "9000x2.*max_side_px=8192"),
])
def test_to_rgb_checks(image: object, raises: object, match: str | None) -> None:
    with raises as info:  # type: ignore[attr-defined]
        out = to_rgb(image)
    if match is None:
        assert out.dtype == np.uint8 and out.flags.c_contiguous
        np.testing.assert_array_equal(out, image)
    else:
        assert info.match(match)


def test_to_rgb_names_the_frame_in_errors() -> None:
    with pytest.raises(FaceMaskError, match="^frame 7 is grayscale"):
        to_rgb(np.zeros((4, 4), np.uint8), name="frame 7")


def test_bgr_order_is_converted_and_input_untouched() -> None:
    bgr = RGB[..., ::-1].copy()
    before = bgr.copy()
    out = to_rgb(bgr, ColorOrder.BGR)
    np.testing.assert_array_equal(out, RGB)
    np.testing.assert_array_equal(bgr, before)


def test_non_contiguous_view_becomes_contiguous() -> None:
    view = np.zeros((8, 8, 3), np.uint8)[::2, ::2]
    assert not view.flags.c_contiguous
    assert to_rgb(view).flags.c_contiguous


def test_max_side_is_configurable() -> None:
    with pytest.raises(FaceMaskError, match="max_side_px=4"):
        to_rgb(RGB, max_side_px=4)


def test_read_write_round_trip_keeps_rgb_order(tmp_path: Path) -> None:
    img = np.zeros((6, 8, 3), np.uint8)
    img[..., 0] = 200  # pure red in RGB
    path = write_image_rgb(tmp_path / "red.png", img)
    np.testing.assert_array_equal(read_image_rgb(path), img)
    assert cv2.imread(str(path))[0, 0].tolist() == [0, 0, 200]  # OpenCV sees BGR red
    assert [p.name for p in tmp_path.iterdir()] == ["red.png"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's owner-only 0o600


@pytest.mark.parametrize(("content", "match"), [
    (None, "not found"),
    (b"", "cannot decode"),
    (b"not an image at all", "cannot decode"),
])
def test_read_image_errors(tmp_path: Path, content: bytes | None, match: str) -> None:
    path = tmp_path / "x.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FaceMaskError, match=match):
        read_image_rgb(path)


def test_failed_write_leaves_existing_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.xyz"
    target.write_bytes(b"keep me")
    with pytest.raises(FaceMaskError, match="out.xyz"):
        write_image_rgb(target, RGB)
    assert target.read_bytes() == b"keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["out.xyz"]


def test_write_onto_a_full_disk_names_the_file(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "16k") as disk:
        noise = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)   # ~57 kB as PNG
        with pytest.raises(FaceMaskError, match=r"cannot write .*draw\.png: the disk is full"):
            write_image_rgb(disk / "draw.png", noise)
        assert list(disk.iterdir()) == []
