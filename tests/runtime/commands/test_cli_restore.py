"""``edgedeblur deblur`` with the restore chain and presets, and ``edgedeblur presets``, end to end."""
from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from runtime.cli import main
from runtime.lab.sample_images import load_sample_scaled


pytestmark = pytest.mark.usefixtures("user_dir")     # every test: its own empty user presets folder


def _photo(path: Path, seed: int) -> Path:
    img = load_sample_scaled("rocket", 160)[:64, 8 * seed:8 * seed + 80]
    Image.fromarray((img * 255).round().astype(np.uint8)).save(path, quality=92)
    return path


@pytest.fixture
def album(tmp_path: Path) -> Path:
    d = tmp_path / "album"
    d.mkdir()
    for i in range(3):
        _photo(d / f"p{i}.jpg", i)
    (d / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return d


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _err_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_single_photo_chain(tmp_path: Path, restore_models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _photo(tmp_path / "photo.jpg", 0)
    out = tmp_path / "photo.print.png"
    assert main(["deblur", str(src), "--denoise", "auto", "--upscale", "2", "-o", str(out),
                 "--models-dir", str(restore_models), "--compare", str(tmp_path / "cmp.png")]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    with Image.open(out) as im:
        assert im.size == (160, 128)
    with Image.open(tmp_path / "cmp.png") as im:        # before (Lanczos to the same size) | after
        assert im.size == (2 * 160 + 8, 128)
    assert not (tmp_path / "edgedeblur-settings.toml").exists()    # recorded for folder runs


def test_album_with_preset_records_settings_and_repeats(tmp_path: Path, album: Path, restore_models: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    before = _digests(album)
    out = tmp_path / "printed"
    code = main(["deblur", str(album), "--preset", "portrait", "-o", str(out), "--models-dir", str(restore_models)])
    captured = capsys.readouterr()
    assert code == 1                                   # the broken photo
    assert _digests(album) == before
    assert sorted(p.name for p in out.iterdir()) == ["edgedeblur-settings.toml", "p0.png", "p1.png", "p2.png"]
    for i in range(3):
        with Image.open(out / f"p{i}.png") as im:
            assert im.size == (160, 128)             # portrait upscales x2
    line = _err_line(captured.err)
    assert line.startswith("edgedeblur deblur: error: cannot read") and "broken.jpg" in line
    summary = [s for s in captured.out.splitlines() if s.startswith("restored")]
    assert summary and "restored 3 of 4 photos into" in summary[0] and "s a photo; 1 failed" in summary[0]
    assert f"settings: {out / 'edgedeblur-settings.toml'}" in captured.out
    record = tomllib.loads((out / "edgedeblur-settings.toml").read_text())
    assert record["mode"] == "focus" and record["upscale"] == 2 and record["denoise"] == "auto"
    assert record["recorded"]["preset"] == "portrait (built-in)"
    assert record["recorded"]["upscale_model"].startswith("x2.fp32.onnx sha256:")
    (album / "broken.jpg").unlink()
    again = tmp_path / "again"
    assert main(["deblur", str(album), "--preset", str(out / "edgedeblur-settings.toml"), "-o", str(again),
                 "--models-dir", str(restore_models), "-q"]) == 0
    assert {k: v for k, v in _digests(again).items() if k.endswith(".png")} == \
        {k: v for k, v in _digests(out).items() if k.endswith(".png")}


def test_flags_override_the_preset(tmp_path: Path, album: Path, restore_models: Path) -> None:
    (album / "broken.jpg").unlink()
    out = tmp_path / "out"
    assert main(["deblur", str(album), "--preset", "portrait", "--upscale", "1", "--strength", "0.5",
                 "--denoise", "0.5", "-o", str(out), "--models-dir", str(restore_models), "-q"]) == 0
    with Image.open(out / "p0.png") as im:
        assert im.size == (80, 64)
    record = tomllib.loads((out / "edgedeblur-settings.toml").read_text())
    assert record["upscale"] == 1 and record["strength"] == 0.5 and record["mode"] == "focus"
    assert record["denoise"] == 0.5 and record["denoise_strength"] == 1   # the preset's auto strength is dropped


def test_rerun_with_same_settings_keeps_one_record_other_settings_add_one(tmp_path: Path, album: Path,
                                                                        restore_models: Path) -> None:
    (album / "broken.jpg").unlink()
    out = tmp_path / "out"
    common = ["deblur", str(album), "-o", str(out), "--models-dir", str(restore_models), "-q", "--overwrite"]
    assert main([*common, "--preset", "action"]) == 0
    assert main([*common, "--preset", "action"]) == 0
    assert sorted(p.name for p in out.glob("*.toml")) == ["edgedeblur-settings.toml"]
    assert main([*common, "--preset", "low-light"]) == 0
    assert sorted(p.name for p in out.glob("*.toml")) == ["edgedeblur-settings.1.toml", "edgedeblur-settings.toml"]


@pytest.mark.parametrize("args, expected", [
    (["--upscale", "3"], "edgedeblur deblur: error: --upscale 3 must be 1, 2 or 4 (4 = the x2 model twice)"),
    (["--denoise", "lots"], "edgedeblur deblur: error: --denoise 'lots' must be off, auto or a strength in [0, 1]"),
    (["--denoise", "0.5", "--denoise-strength", "0.5"], "edgedeblur deblur: error: --denoise-strength applies to "
     "--denoise auto"),
    (["--upscale-strength", "1.5"], "edgedeblur deblur: error: --upscale-strength 1.5 is outside [0, 1]"),
    (["--preset", "portrat"], "edgedeblur deblur: error: unknown preset 'portrat'; did you mean 'portrait'?"),
    (["--upscale", "2", "--faces", "full"], "edgedeblur deblur: error: --faces runs face priority alone"),
    (["--upscale", "2", "--upscale-model", "denoise"], "edgedeblur deblur: error: --upscale-model "
     "denoise.fp32.onnx has scale 1; the upscale link needs an x2 upscaler"),
])
def test_bad_chain_options_one_line(tmp_path: Path, restore_models: Path, capsys: pytest.CaptureFixture[str],
                                    args: list[str], expected: str) -> None:
    src = _photo(tmp_path / "photo.jpg", 0)
    assert main(["deblur", str(src), "--models-dir", str(restore_models), *args]) == 1
    assert _err_line(capsys.readouterr().err).startswith(expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "photo.jpg"]


def test_bad_preset_file_names_the_file(tmp_path: Path, album: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "my.toml"
    bad.write_text("upscale = 2\nstrenght = 0.5\n")
    assert main(["deblur", str(album), "--preset", str(bad), "-o", str(tmp_path / "out")]) == 1
    line = _err_line(capsys.readouterr().err)
    assert f"preset {bad}: unknown key 'strenght'; did you mean 'strength'?" in line
    assert not (tmp_path / "out").exists()


def test_presets_lists_builtin_and_user(user_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in ("portrait", "action", "old-scan", "low-light"):
        assert f"  {name} " in out
    assert 'mode = "focus", strength = 0.8, denoise = "auto", denoise_strength = 0.6, upscale = 2' in out
    assert "your presets: none yet" in out
    (user_dir / "print.toml").write_text('description = "big prints"\nupscale = 4\n')
    (user_dir / "oops.toml").write_text("upscale = 'x'\n")
    assert main(["presets"]) == 1
    captured = capsys.readouterr()
    assert "  print " in captured.out and "big prints" in captured.out and str(user_dir / "print.toml") in captured.out
    assert "oops.toml" in _err_line(captured.err)


def test_presets_prints_one_as_toml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets", "old-scan"]) == 0
    text = capsys.readouterr().out
    assert tomllib.loads(text) == {"description": tomllib.loads(text)["description"], "mode": "focus",
                                   "strength": 0.6, "denoise": 0.8, "upscale": 2}
