"""Image I/O: bit depths, grayscale, alpha, EXIF orientation, atomic writes, bad files."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import ExifTags, Image, ImageOps

from benchmarks.videos import make_face_video
from runtime.errors import ImageError
from runtime.photo.imageio import orient, read_image, side_by_side, write_image


def _rgb8(h: int = 24, w: int = 36) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), (xx + yy) % 256], axis=2).astype(np.uint8)


def _rgb16(h: int = 24, w: int = 36) -> np.ndarray:
    return (np.random.default_rng(3).random((h, w, 3)) * 65535).astype(np.uint16)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_colour_round_trip(tmp_path: Path, suffix: str) -> None:
    src = tmp_path / f"in{suffix}"
    px = _rgb16()
    cv2.imwrite(str(src), px[..., ::-1])
    img = read_image(src)
    assert img.meta.bit_depth == 16 and not img.meta.grayscale and img.alpha is None
    np.testing.assert_allclose(img.rgb, px / 65535, atol=1e-6)
    dst = tmp_path / f"out{suffix}"
    write_image(dst, img.rgb, meta=img.meta)
    back = cv2.imread(str(dst), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back[..., ::-1], px)


def test_16bit_grey_stays_16bit_grey(tmp_path: Path) -> None:
    px = (np.random.default_rng(4).random((20, 30)) * 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "g.png"), px)
    img = read_image(tmp_path / "g.png")
    assert img.meta.grayscale and img.meta.bit_depth == 16
    write_image(tmp_path / "o.png", img.rgb, meta=img.meta)
    back = cv2.imread(str(tmp_path / "o.png"), cv2.IMREAD_UNCHANGED)
    assert back.shape == (20, 30) and back.dtype == np.uint16
    np.testing.assert_array_equal(back, px)


@pytest.mark.parametrize("mode, channels, has_alpha, grey", [
    ("RGB", 3, False, False),
    ("RGBA", 4, True, False),
    ("L", 1, False, True),
    ("LA", 2, True, True),
])
def test_8bit_modes_round_trip(tmp_path: Path, mode: str, channels: int, has_alpha: bool, grey: bool) -> None:
    base = _rgb8()
    px = {1: base[..., 0], 2: base[..., :2], 3: base, 4: np.dstack([base, base[..., :1]])}[channels]
    Image.fromarray(px, mode).save(tmp_path / "in.png")
    img = read_image(tmp_path / "in.png")
    assert (img.meta.has_alpha, img.meta.grayscale, img.meta.bit_depth) == (has_alpha, grey, 8)
    assert img.rgb.shape == (24, 36, 3) and img.rgb.dtype == np.float32
    write_image(tmp_path / "out.png", img.rgb, alpha=img.alpha, meta=img.meta)
    with Image.open(tmp_path / "out.png") as out:
        assert out.mode == mode
        np.testing.assert_array_equal(np.asarray(out), px)


def test_palette_with_transparency_keeps_alpha(tmp_path: Path) -> None:
    im = Image.fromarray(_rgb8()).convert("P")
    im.info["transparency"] = 0
    im.save(tmp_path / "p.png", transparency=0)
    img = read_image(tmp_path / "p.png")
    assert img.alpha is not None and img.alpha.min() == 0.0 and img.alpha.max() == 1.0


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    im = Image.fromarray(_rgb8(10, 16))
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(tmp_path / "o.png", exif=exif)
    img = read_image(tmp_path / "o.png")
    with Image.open(tmp_path / "o.png") as ref:
        expected = np.asarray(ImageOps.exif_transpose(ref))
    assert img.meta.orientation == orientation
    np.testing.assert_array_equal((img.rgb * 255 + 0.5).astype(np.uint8), expected)


def test_orient_on_16bit_array() -> None:
    a = np.arange(6, dtype=np.uint16).reshape(2, 3)
    np.testing.assert_array_equal(orient(a, 6), np.array([[3, 0], [4, 1], [5, 2]]))
    assert orient(a, 1) is a


def test_icc_profile_is_kept(tmp_path: Path) -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(_rgb8()).save(tmp_path / "c.jpg", icc_profile=icc)
    img = read_image(tmp_path / "c.jpg")
    write_image(tmp_path / "c.png", img.rgb, meta=img.meta)
    with Image.open(tmp_path / "c.png") as out:
        assert out.info.get("icc_profile") == icc


def _camera_exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Canon", "EOS 5D", orientation
    exif.get_ifd(ExifTags.IFD.Exif).update({0x9003: "2019:07:04 12:30:00", 0xA002: 36, 0xA003: 24})
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "N", 2: (52.0, 31.0, 12.0)})
    return exif


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_exif_is_kept_upright_and_sized(tmp_path: Path, suffix: str) -> None:
    """Date taken, camera and place survive (photo libraries file by them); orientation 1."""
    Image.fromarray(_rgb8()).save(tmp_path / "c.jpg", exif=_camera_exif(orientation=6))
    img = read_image(tmp_path / "c.jpg")
    assert img.rgb.shape == (36, 24, 3)                     # turned upright on read
    upscaled = cv2.resize(img.rgb, (48, 72))
    write_image(tmp_path / f"o{suffix}", upscaled, meta=img.meta)
    with Image.open(tmp_path / f"o{suffix}") as out:
        exif = out.getexif()
        assert (exif[0x010F], exif[0x0110], exif[0x0112], exif[0x0131]) == ("Canon", "EOS 5D", 1, "edgedeblur")
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        assert (sub[0x9003], sub[0xA002], sub[0xA003]) == ("2019:07:04 12:30:00", 48, 72)
        assert exif.get_ifd(ExifTags.IFD.GPSInfo)[1] == "N"
    assert read_image(tmp_path / f"o{suffix}").rgb.shape == (72, 48, 3)    # not turned again


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_outputs_keep_the_icc_profile(tmp_path: Path, suffix: str) -> None:
    """Wide-gamut 16-bit photos (ProPhoto TIFFs) shown without their profile look dull."""
    import tifffile
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    px = _rgb16()
    tifffile.imwrite(tmp_path / "in.tif", px, photometric="rgb", iccprofile=icc)
    img = read_image(tmp_path / "in.tif")
    assert img.meta.bit_depth == 16 and img.meta.icc_profile == icc
    meta = replace(img.meta, exif=_camera_exif(orientation=1).tobytes())
    write_image(tmp_path / f"o{suffix}", img.rgb, meta=meta)
    back = cv2.imread(str(tmp_path / f"o{suffix}"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(back[..., ::-1], px)
    with Image.open(tmp_path / f"o{suffix}") as out:
        assert out.info.get("icc_profile") == icc
        if suffix == ".png":                                # a 16-bit TIFF goes without EXIF
            assert out.getexif().get_ifd(ExifTags.IFD.Exif)[0x9003] == "2019:07:04 12:30:00"


def _video(p: Path) -> None:
    make_face_video(p, size_wh=(64, 64), n_frames=2, blur=False)


def _truncated_jpeg(p: Path) -> None:
    Image.fromarray(_rgb8(200, 200)).save(p, quality=90)
    p.write_bytes(p.read_bytes()[:1500])


@pytest.mark.parametrize("name, make, match", [
    ("cut.jpg", _truncated_jpeg, "truncated or corrupt"),
    ("notes.png", lambda p: p.write_text("this is a text file, not a picture\n"), r"not an image \(the file contains text\)"),
    ("empty.jpg", lambda p: p.write_bytes(b""), r"the file is empty \(0 bytes\)"),
    ("noise.xyz", lambda p: p.write_bytes(bytes(range(256)) * 8), "not an image in a supported format"),
    ("folder.png", lambda p: p.mkdir(), "it is a folder"),
    ("clip.mp4", lambda p: _video(p), r"a video \(MP4/MOV\), not a photo; deblur videos with: edgedeblur run"),
    ("clip.mkv", lambda p: _video(p), r"a video \(Matroska/WebM\)"),
])
def test_bad_inputs(tmp_path: Path, name: str, make, match: str) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / name
    make(p)
    with pytest.raises(ImageError, match=match) as info:
        read_image(p)
    assert str(p) in str(info.value) and "\n" not in str(info.value)


def test_heic_from_a_phone_reads_upright(tmp_path: Path) -> None:
    pytest.importorskip("pillow_heif", reason="the heic extra is not installed")
    from runtime.photo.heif import heif_decoder

    assert heif_decoder()
    rgb = np.zeros((64, 96, 3), np.uint8)
    rgb[:, :48] = (200, 40, 40)                                   # left half red
    rgb[:, 48:] = (40, 40, 200)
    im = Image.fromarray(rgb)
    exif = im.getexif()
    exif[0x0112] = 6                                              # shot turned: shown rotated 90 deg cw
    im.save(tmp_path / "phone.heic", quality=95, exif=exif.tobytes())   # stored as HEIF's own rotation
    got = read_image(tmp_path / "phone.heic").rgb
    assert got.shape == (96, 64, 3)                               # upright, turned once (not twice)
    assert got[:48, :, 0].mean() > 0.6 and got[48:, :, 2].mean() > 0.6   # red on top after the turn


def test_heic_without_its_decoder_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.photo import sniff

    heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(range(256)) * 8
    monkeypatch.setattr(sniff, "heif_decoder", lambda: False)     # as where the extra is not installed
    assert "HEIC photo" in sniff.why_unreadable(heic) and "pip install 'edgedeblur[heic]'" in sniff.NO_HEIF
    monkeypatch.setattr(sniff, "heif_decoder", lambda: True)
    assert "truncated or corrupt" in sniff.why_unreadable(heic)     # a HEIC, not taken for an MP4 video
    (tmp_path / "IMG_0001.HEIC").write_bytes(heic)
    with pytest.raises(ImageError, match="HEIC"):                 # either way the line names HEIC
        read_image(tmp_path / "IMG_0001.HEIC")


def test_missing_input(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="not found"):
        read_image(tmp_path / "nope.jpg")


@pytest.mark.parametrize("dest, alpha, match", [
    ("out.gif", False, "unsupported output format '.gif'"),
    ("out", False, "unsupported output format '.no suffix.'"),
    ("out.jpg", True, "transparency that JPEG cannot store"),
    ("blocker/out.png", False, "does not exist"),        # blocker is a regular file
    ("missing/out.png", False, "folder .*missing does not exist"),
])
def test_write_errors_leave_nothing(tmp_path: Path, dest: str, alpha: bool, match: str) -> None:
    (tmp_path / "blocker").write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())
    rgb = np.zeros((4, 4, 3), np.float32)
    with pytest.raises(ImageError, match=match):
        write_image(tmp_path / dest, rgb, alpha=np.ones((4, 4), np.float32) if alpha else None)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_write_replaces_atomically(tmp_path: Path) -> None:
    p = tmp_path / "o.png"
    p.write_bytes(b"old")
    write_image(p, np.full((4, 4, 3), 0.5, np.float32))
    assert read_image(p).rgb.shape == (4, 4, 3)
    assert [q.name for q in tmp_path.iterdir()] == ["o.png"]


def test_16bit_to_jpeg_reduces_to_8bit(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "i.png"), _rgb16()[..., ::-1])
    img = read_image(tmp_path / "i.png")
    write_image(tmp_path / "o.jpg", img.rgb, meta=img.meta)
    assert read_image(tmp_path / "o.jpg").meta.bit_depth == 8


def test_side_by_side() -> None:
    a, b = np.zeros((100, 60, 3), np.float32), np.ones((100, 60, 3), np.float32)
    strip = side_by_side([a, b], ["before", "after"], gap_px=4)
    assert strip.shape == (100, 124, 3)
    assert side_by_side([a, b], ["x", "y"], max_height_px=50).shape == (50, 68, 3)
    assert strip[:, 64:].mean() > 0.9 and strip[50:, :60].mean() < 0.1


def test_a_long_caption_shrinks_to_fit_its_panel() -> None:
    grey = np.full((120, 160, 3), 0.5, np.float32)
    strip = side_by_side([grey, grey], ["before", "after (small.int8.onnx+nano.int8.onnx)"], gap_px=4)
    after = strip[:, 164:]
    assert not np.allclose(after[:, :80], 0.5)                 # the caption is drawn...
    np.testing.assert_array_equal(after[:, -4:], 0.5)          # ...and stops short of the edge
