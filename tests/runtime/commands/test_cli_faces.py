"""``edgedeblur faces`` end to end (in-process through runtime.cli.main)."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from facemask.image import read_image_rgb, write_image_rgb
from runtime.cli import main
from runtime.lab.sample_images import load_sample


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("photos")
    for name, suffix in (("astronaut", ".png"), ("grace_hopper", ".jpg"), ("coffee", ".jpg")):
        write_image_rgb(d / f"{name}{suffix}", load_sample(name))
    (d / "notes.jpg").write_text("not an image")
    write_image_rgb(d / "small.png", load_sample("astronaut")[::4, ::4])
    return d


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_text_output_per_photo(photo_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["faces", str(photo_dir / "astronaut.png"), str(photo_dir / "coffee.jpg"), "--quiet"])
    out = capsys.readouterr().out.splitlines()
    assert rc == 0
    assert out[0].endswith("astronaut.png: 1 face (512x512), regions cover 25.0% of the photo")
    assert "score 0.9" in out[1] and "landmarks 468 blur " in out[1] and out[1].endswith("-> region 0")
    assert out[2].strip().startswith("region 0:") and out[2].endswith("256px")
    assert out[3].endswith("coffee.jpg: 0 faces (600x400), regions cover 0.0% of the photo")


def test_json_lists_faces_per_photo(photo_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = [photo_dir / n for n in ("astronaut.png", "grace_hopper.jpg", "coffee.jpg")]
    assert main(["faces", *map(str, photos), "--json", "--tile", "128"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert [d["photo"] for d in docs] == [str(p) for p in photos]
    assert [len(d["faces"]) for d in docs] == [1, 1, 0]
    for doc in docs[:2]:
        face = doc["faces"][0]
        assert face["score"] > 0.8 and face["landmarks"] == 468 and face["region"] == 0
        x0, y0, x1, y1 = doc["regions"][0]["box_xyxy"]
        assert (x1 - x0) == (y1 - y0) == doc["regions"][0]["side_px"] and (x1 - x0) % 128 == 0
        fx0, fy0, fx1, fy1 = face["box_xyxy"]
        assert x0 <= fx0 and y0 <= fy0 and fx1 <= x1 and fy1 <= y1
    assert docs[2]["regions"] == [] and docs[2]["region_coverage"] == 0.0


def test_draw_writes_an_overlay_and_leaves_the_photo(photo_dir: Path, tmp_path: Path) -> None:
    photo = photo_dir / "astronaut.png"
    before = _sha(photo)
    out = tmp_path / "overlay.png"
    assert main(["faces", str(photo), "--draw", str(out), "--quiet"]) == 0
    assert _sha(photo) == before
    overlay, original = read_image_rgb(out), read_image_rgb(photo)
    assert overlay.shape == original.shape
    changed = np.any(overlay != original, axis=2)
    assert changed[90:160, 190:260].mean() > 0.5  # the face is tinted and dotted
    assert not changed[400:, 400:].any()  # far from the face nothing is drawn
    assert sorted(p.name for p in tmp_path.iterdir()) == ["overlay.png"]


@pytest.mark.parametrize("args", [["--backend", "mediapipe"], ["--range", "short"], ["--range", "full"]])
def test_detector_choices_find_the_astronaut(photo_dir: Path, capsys: pytest.CaptureFixture[str],
                                             args: list[str]) -> None:
    assert main(["faces", str(photo_dir / "astronaut.png"), "--json", *args]) == 0
    assert len(json.loads(capsys.readouterr().out)[0]["faces"]) == 1


def test_photo_smaller_than_the_tile_gets_the_largest_tile_that_fits(photo_dir: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["faces", str(photo_dir / "small.png"), "--json", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)[0]
    assert doc["tile"] == 128 and doc["size_wh"] == [128, 128]
    assert all(r["side_px"] <= 128 for r in doc["regions"])


def test_draw_into_a_folder_for_several_photos(photo_dir: Path, tmp_path: Path) -> None:
    photos = [photo_dir / "astronaut.png", photo_dir / "coffee.jpg"]
    assert main(["faces", *map(str, photos), "--draw", str(tmp_path), "--quiet"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["astronaut.faces.png", "coffee.faces.png"]


@pytest.mark.parametrize(("args", "match"), [
    (["{photos}/missing.png"], "cannot open .*missing.png: not found"),
    (["{photos}/notes.jpg"], "cannot read .*notes.jpg: not an image"),
    (["{photos}/astronaut.png", "{photos}/coffee.jpg", "--draw", "{tmp}/one.png"], "OUT must be an existing folder"),
    (["{photos}/astronaut.png", "--draw", "{tmp}/x.gif2"], "unknown image type '.gif2'"),
    (["{photos}/astronaut.png", "--draw", "{tmp}/no/such/dir/x.png"], "does not exist; create it first"),
    (["{photos}/astronaut.png", "--draw", "{photos}/astronaut.png"], "would overwrite an input photo"),
    (["{photos}/astronaut.png", "--backend", "mediapipe", "--range", "full"], "--range full needs --backend litert"),
])
def test_bad_input_is_one_line_exit_1(photo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      args: list[str], match: str) -> None:
    argv = [a.format(tmp=tmp_path, photos=photo_dir) for a in args]
    before = {p.name: _sha(p) for p in photo_dir.iterdir()}
    assert main(["faces", *argv, "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("edgedeblur faces: error: ") and "\n" not in err
    assert re.search(match, err), err
    assert {p.name: _sha(p) for p in photo_dir.iterdir()} == before
    assert list(tmp_path.iterdir()) == []


def test_failure_midway_leaves_only_complete_overlays(photo_dir: Path, tmp_path: Path) -> None:
    photos = [photo_dir / "astronaut.png", photo_dir / "notes.jpg"]
    assert main(["faces", *map(str, photos), "--draw", str(tmp_path), "--quiet"]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["astronaut.faces.png"]
    assert read_image_rgb(tmp_path / "astronaut.faces.png").shape == (512, 512, 3)


def test_a_folder_is_its_photos_and_a_bad_one_is_skipped(photo_dir: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    write_image_rgb(tmp_path / "sliver.png", load_sample("astronaut")[:2])
    assert main(["faces", str(photo_dir), str(tmp_path / "sliver.png"), "--quiet"]) == 1   # notes.jpg is no photo
    captured = capsys.readouterr()
    listed = [line.split(":")[0] for line in captured.out.splitlines() if "faces (" in line or "face (" in line]
    assert [Path(p).name for p in listed] == ["astronaut.png", "coffee.jpg", "grace_hopper.jpg", "small.png"]
    errors = captured.err.strip().splitlines()
    assert len(errors) == 2 and "notes.jpg: not an image" in errors[0] and "too small to hold a face" in errors[1]
    (tmp_path / "empty").mkdir()
    assert main(["faces", str(tmp_path / "empty")]) == 1
    assert "is a folder with no photos in it" in capsys.readouterr().err


def test_faces_on_an_iphone_heic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pillow_heif", reason="the heic extra is not installed")
    from PIL import Image

    from runtime.photo.heif import heif_decoder

    assert heif_decoder()
    Image.fromarray(load_sample("astronaut")).save(tmp_path / "IMG_0001.HEIC", format="HEIF", quality=90)
    assert main(["faces", str(tmp_path / "IMG_0001.HEIC"), "--quiet"]) == 0
    assert "IMG_0001.HEIC: 1 face (512x512)" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["--threshold", "2"], ["--tile", "abc"], ["--max-faces", "0"], ["--range", "far"]])
def test_bad_option_values_are_usage_errors(photo_dir: Path, args: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["faces", str(photo_dir / "astronaut.png"), *args])
    assert info.value.code == 2
