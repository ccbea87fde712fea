"""``edgedeblur deblur`` end to end: outputs, naming, and every bad input failing cleanly."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model_fixtures import build_onnx
from runtime.cli import main

EDGEDEBLUR = Path(sys.executable).parent / "edgedeblur"


def _photo(path: Path, mode: str = "RGB", size: tuple[int, int] = (40, 56), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    px = (rng.random((size[0], size[1], channels)) * 255).astype(np.uint8)
    Image.fromarray(px[..., 0] if channels == 1 else px, mode).save(path, **({"quality": 90} if path.suffix == ".jpg" else {}))
    return path


def _truncated(path: Path) -> Path:
    _photo(path, size=(160, 160))
    path.write_bytes(path.read_bytes()[:700])
    return path


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def model(tmp_path: Path) -> str:
    (tmp_path / "m").mkdir()
    return str(build_onnx(tmp_path / "m" / "identity.onnx"))


@pytest.fixture
def album(tmp_path: Path) -> Path:
    d = tmp_path / "album"
    d.mkdir()
    _photo(d / "good1.jpg")
    _photo(d / "good2.png", "RGBA", seed=1)
    _photo(d / "grey.png", "L", seed=2)
    _truncated(d / "cut.jpg")
    (d / "notes.png").write_text("shopping list: eggs, milk\n")
    (d / "empty.jpg").write_bytes(b"")
    (d / "readme.txt").write_text("not an image suffix: ignored")
    return d


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_single_file_default_name(tmp_path: Path, model: str, capsys: pytest.CaptureFixture[str]) -> None:
    src = _photo(tmp_path / "photo.jpg")
    before = src.read_bytes()
    assert main(["deblur", str(src), "--model", model]) == 0
    out = tmp_path / "photo.sharp.png"
    assert out.exists() and f"wrote {out}" in capsys.readouterr().out
    assert src.read_bytes() == before
    with Image.open(out) as im:
        assert im.size == (56, 40) and im.mode == "RGB"


def test_single_file_to_output_and_compare(tmp_path: Path, model: str) -> None:
    src = _photo(tmp_path / "photo.png", "RGBA")
    out, cmp_ = tmp_path / "res" / "sharp.png", tmp_path / "cmp.png"
    assert main(["deblur", str(src), "-o", str(out), "--compare", str(cmp_), "--strength", "0.5",
                 "--model", model, "--quiet"]) == 0
    with Image.open(out) as im:
        assert im.mode == "RGBA"                 # alpha kept
    with Image.open(cmp_) as im:
        assert im.size == (2 * 56 + 8, 40)


@pytest.mark.parametrize("given, written", [("new/", "new/photo.png"), ("v1.2/", "v1.2/photo.png"),
                                            ("restored", "restored/photo.png"), ("x.jpg", "x.jpg")])
def test_single_file_output_that_names_a_folder(tmp_path: Path, model: str, given: str, written: str) -> None:
    """A trailing "/" or a new name without a suffix is a folder to create, as people type it;
    a name with a suffix is the file itself."""
    src = _photo(tmp_path / "photo.jpg")
    assert main(["deblur", str(src), "-o", str(tmp_path / "out") + "/" + given, "--model", model, "-q"]) == 0
    assert (tmp_path / "out" / written).is_file()


def test_folder_with_good_and_bad_files(tmp_path: Path, album: Path, model: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    before = _digests(album)
    out = tmp_path / "album_out"
    assert main(["deblur", str(album), "-o", str(out), "--model", model, "--strength", "0.7"]) == 1
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["edgedeblur-settings.toml", "good1.png", "good2.png", "grey.png"]
    errors = captured.err.strip().splitlines()
    assert "Traceback" not in captured.err and len(errors) == 3
    for name, why in (("cut.jpg", "truncated"), ("notes.png", "contains text"), ("empty.jpg", "0 bytes")):
        assert any(name in line and why in line and line.startswith("edgedeblur deblur: error:")
                   for line in errors), (name, errors)
    assert "deblurred 3 of 6 photos" in captured.out
    assert _digests(album) == before
    with Image.open(out / "grey.png") as im:
        assert im.mode == "L"


def test_videos_in_a_folder_are_left_alone_with_a_note(tmp_path: Path, model: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.videos import make_face_video

    album = tmp_path / "phone"
    album.mkdir()
    _photo(album / "IMG_0001.jpg")
    make_face_video(album / "IMG_0002.MOV", size_wh=(64, 64), n_frames=2, blur=False)
    assert main(["deblur", str(album), "-o", str(tmp_path / "out"), "--model", model]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["IMG_0001.png", "edgedeblur-settings.toml"]
    note = _one_line(capsys.readouterr().err)
    assert "1 video left alone (IMG_0002.MOV)" in note and "edgedeblur run --source" in note


def test_folder_default_output_is_sibling(album: Path, model: str) -> None:
    for bad in ("cut.jpg", "notes.png", "empty.jpg"):
        (album / bad).unlink()
    assert main(["deblur", str(album), "--model", model, "-q"]) == 0
    assert sorted(p.name for p in (album.parent / "album_sharp").iterdir()) == [
        "edgedeblur-settings.toml", "good1.png", "good2.png", "grey.png"]


def _text_png(p: Path) -> Path:
    p.write_text("hello, I am text")
    return p


def _empty(p: Path) -> Path:
    p.write_bytes(b"")
    return p


def test_a_photo_named_twice_is_deblurred_once(album: Path, model: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    photo = album / "good1.jpg"
    out = tmp_path / "out"
    assert main(["deblur", str(photo), str(album / "." / "good1.jpg"), "--model", model, "-o", f"{out}/"]) == 0
    assert [p.name for p in out.iterdir()] == ["good1.png"]          # not also good1.jpg.png
    assert "deblurred 1 of 1 photos" in capsys.readouterr().out


@pytest.mark.parametrize("fmt, names, formats", [
    ("same", ["good1.jpg", "good2.png", "grey.png", "scan.png"], ["JPEG", "PNG", "PNG", "PNG"]),
    ("jpg", ["good1.jpg", "grey.jpg", "scan.jpg"], ["JPEG", "JPEG", "JPEG"]),   # good2 has alpha
    ("webp", ["good1.webp", "good2.webp", "grey.webp", "scan.webp"], ["WEBP"] * 4),
])
def test_folder_output_format(tmp_path: Path, album: Path, model: str, capsys: pytest.CaptureFixture[str],
                              fmt: str, names: list[str], formats: list[str]) -> None:
    for bad in ("cut.jpg", "notes.png", "empty.jpg"):
        (album / bad).unlink()
    _photo(album / "scan.gif", seed=3)                 # no GIF writer: "same" makes it PNG
    out = tmp_path / fmt
    rc = main(["deblur", str(album), "-o", str(out), "--model", model, "--format", fmt, "-q"])
    assert sorted(p.name for p in out.iterdir() if p.suffix != ".toml") == names
    for name, kind in zip(names, formats):
        with Image.open(out / name) as im:
            assert im.format == kind and im.size == (56, 40)
    err = capsys.readouterr().err
    if fmt == "jpg":                                   # the transparent photo gets one line, the rest is written
        assert rc == 1 and "good2.jpg" in _one_line(err) and "transparency that JPEG cannot store" in err
    else:
        assert rc == 0 and not err


@pytest.mark.parametrize("name, make, message", [
    ("cut.jpg", _truncated, "cut.jpg: the file is truncated or corrupt"),
    ("text.png", _text_png, r"text.png: not an image \(the file contains text\)"),
    ("zero.jpg", _empty, r"zero.jpg: the file is empty \(0 bytes\)"),
])
def test_bad_single_inputs(tmp_path: Path, model: str, capsys: pytest.CaptureFixture[str], name: str,
                           make, message: str) -> None:  # type: ignore[no-untyped-def]
    src = make(tmp_path / name)
    before = _digests(tmp_path)
    assert main(["deblur", str(src), "--model", model]) == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("edgedeblur deblur: error: cannot read")
    assert __import__("re").search(message, line)
    assert _digests(tmp_path) == before               # inputs untouched, no output written


@pytest.mark.parametrize("extra, message", [
    (["--strength", "1.5"], r"--strength 1.5 is outside [0, 1]"),
    (["--strength", "-1"], r"--strength -1.0 is outside [0, 1]"),
    (["--mode", "focal"], "did you mean 'focus'"),
    (["--method", "wiener"], "--method wiener needs the blur kernel"),
    (["--model", "smal"], "unknown model 'smal'"),
    (["--model", "nothere.onnx"], "cannot open nothere.onnx: not found"),
    (["-o", "{blocker}/out.png"], "cannot create output folder"),
    (["-o", "{tmp}/out.gif"], "unsupported output format '.gif'"),
    (["--compare", "{tmp}/c.bmp", "--tile", "8"], "--tile 8 is too small"),
])
def test_bad_options(tmp_path: Path, model: str, capsys: pytest.CaptureFixture[str], extra: list[str],
                     message: str) -> None:
    src = _photo(tmp_path / "photo.jpg")
    (tmp_path / "blocker").write_text("a file where a folder is expected")
    before = _digests(tmp_path)
    extra = [e.format(blocker=tmp_path / "blocker", tmp=tmp_path) for e in extra]
    argv = ["deblur", str(src), *extra] + ([] if "--model" in extra else ["--model", model])
    assert main(argv) == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("edgedeblur deblur: error:") and message in line, line
    assert _digests(tmp_path) == before


def test_unwritable_output_folder_for_folder_input(tmp_path: Path, album: Path, model: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "blocker").write_text("x")
    before = _digests(album)
    assert main(["deblur", str(album), "-o", str(tmp_path / "blocker" / "out"), "--model", model]) == 1
    assert "cannot create output folder" in _one_line(capsys.readouterr().err)
    assert _digests(album) == before


def test_never_overwrites_inputs_without_flag(tmp_path: Path, model: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    src = _photo(tmp_path / "p.png")
    before = src.read_bytes()
    assert main(["deblur", str(src), "-o", str(src), "--model", model]) == 1
    assert "refusing to overwrite the input" in _one_line(capsys.readouterr().err)
    assert src.read_bytes() == before
    assert main(["deblur", str(src), "-o", str(src), "--model", model, "--overwrite", "-q"]) == 0


def test_output_that_is_another_input_is_listed(tmp_path: Path, model: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    a = _photo(tmp_path / "a.png")
    b = _photo(tmp_path / "a.sharp.png", seed=3)      # a.png's default output name
    before = b.read_bytes()
    assert main(["deblur", str(a), str(b), "--model", model, "-q"]) == 1
    assert "refusing to overwrite the input" in _one_line(capsys.readouterr().err)
    assert b.read_bytes() == before and (tmp_path / "a.sharp.sharp.png").exists()


def test_classical_method_with_kernel(tmp_path: Path) -> None:
    src = _photo(tmp_path / "p.png", size=(48, 48))
    k = np.zeros((7, 7), np.uint8)
    k[3, 1:6] = 255
    Image.fromarray(k).save(tmp_path / "k.png")
    assert main(["deblur", str(src), "--method", "wiener", "--kernel", str(tmp_path / "k.png"), "-q"]) == 0
    assert (tmp_path / "p.sharp.png").exists()


def test_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "nothing").mkdir()
    assert main(["deblur", str(tmp_path / "nothing"), "--method", "unsharp"]) == 1
    assert "no images found" in _one_line(capsys.readouterr().err)


def test_console_script(tmp_path: Path, model: str) -> None:
    """The installed ``edgedeblur`` entry point runs, and fails with one line on bad input."""
    src = _photo(tmp_path / "p.jpg")
    ok = subprocess.run([str(EDGEDEBLUR), "deblur", str(src), "--model", model, "-o", str(tmp_path / "o.png")],
                        capture_output=True, text=True, timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "o.png").exists()
    bad = subprocess.run([str(EDGEDEBLUR), "deblur", str(src), "--strength", "1.5"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 1 and bad.stderr.strip() == (
        "edgedeblur deblur: error: --strength 1.5 is outside [0, 1]; use 0 (unchanged) to 1 (full deblur), "
        "e.g. --strength 0.7")


def test_animations_get_a_note_that_only_their_first_frame_was_deblurred(
        tmp_path: Path, model: str, capsys: pytest.CaptureFixture[str]) -> None:
    album = tmp_path / "album"
    album.mkdir()
    frames = [Image.open(_photo(tmp_path / f"f{i}.png", seed=i)).convert("RGB") for i in range(3)]
    frames[0].save(album / "wave.gif", save_all=True, append_images=frames[1:])
    frames[0].save(album / "loop.webp", save_all=True, append_images=frames[1:])
    frames[0].save(album / "still.png")
    assert main(["deblur", str(album), "-o", str(tmp_path / "out"), "--model", model]) == 0
    note = _one_line(capsys.readouterr().err)
    assert "2 animations (loop.webp, wave.gif): only the first frame was deblurred" in note
    assert "edgedeblur run --source loop.webp -o loop.mp4" in note
    assert main(["deblur", str(album / "still.png"), "-o", str(tmp_path / "still.png"), "--model", model]) == 0
    assert capsys.readouterr().err == ""


def test_subfolders_with_photos_are_named_not_silently_skipped(tmp_path: Path, model: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    album = tmp_path / "album"
    (album / "2024" / "june").mkdir(parents=True)
    (album / "empty").mkdir()
    (album / ".thumbs").mkdir()
    _photo(album / "top.jpg")
    _photo(album / "2024" / "june" / "deep.jpg")
    _photo(album / ".thumbs" / "t.jpg")
    assert main(["deblur", str(album), "-o", str(album / "sharp"), "--model", model]) == 0
    assert sorted(p.name for p in (album / "sharp").iterdir()) == ["edgedeblur-settings.toml", "top.png"]
    note = _one_line(capsys.readouterr().err)
    assert "1 subfolder with photos left alone (2024)" in note and "give subfolders as inputs" in note
    assert main(["deblur", str(album), "-o", str(album / "sharp"), "--model", model, "--overwrite"]) == 0
    assert "(2024)" in _one_line(capsys.readouterr().err)      # its own output folder is not one of them
