"""Issue 14: what a hostile or unlucky user does to ``edgedeblur run``/``deblur``/``models``.

Each case gives one clear line and a non-zero exit, modifies no file the command reads and
leaves no partial output; a recording killed with SIGKILL still plays. Real files, real
child processes (signals, memory limits, concurrent runs), the real pipeline.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import sys
import zlib
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from cli_process import error_lines, run_cli, small_disk, start_cli, wait_for
from model_fixtures import build_onnx

from benchmarks.videos import make_face_video
from runtime.cli import main
from runtime.energy.power_models import load_power_models
from runtime.errors import ConfigError, ModelLoadError
from runtime.manifest import Manifest, sha256_file

GIB = 1 << 30


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_face_video(tmp_path_factory.mktemp("clip") / "a.mp4", size_wh=(160, 120), n_frames=6,
                           n_faces=1, seed=3).path


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), (np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8))
    return path


@pytest.fixture
def kernel(tmp_path: Path) -> Path:
    k = np.zeros((9, 9), np.uint8)
    k[4, 2:7] = 255
    path = tmp_path / "k.png"
    cv2.imwrite(str(path), k)
    return path


def _one_error_line(err: str) -> str:
    lines = error_lines(err)
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _flat_png(path: Path, value: int) -> Path:
    cv2.imwrite(str(path), np.full((16, 16, 3), value, np.uint8))
    return path


# --- outputs that are inputs -------------------------------------------------------------

@pytest.mark.parametrize("stats_on", ["source", "output"])
def test_stats_json_on_the_source_or_the_recording_is_refused_up_front(
        clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], stats_on: str) -> None:
    src, out = tmp_path / "a.mp4", tmp_path / "b.mp4"
    shutil.copy(clip, src)
    before = src.read_bytes()
    rc = main(["run", "--no-progress", "--source", str(src), "-o", str(out), "--faces", "light",
               "--max-frames", "2", "--stats-json", str(src if stats_on == "source" else out)])
    assert rc == 1
    assert "--stats-json" in _one_error_line(capsys.readouterr().err)
    assert src.read_bytes() == before and not out.exists()


@pytest.mark.parametrize("extra, clash", [
    (["-o", "k.png", "--kernel", "k.png"], "--kernel"),
    (["-o", "y.png", "--kernel", "k.png", "--compare", "k.png"], "--kernel"),
    (["-o", "y.png", "--kernel", "k.png", "--compare", "y.png"], "-o"),
    (["-o", "y.png", "--kernel", "k.png", "--compare", "x.png"], "photo"),
])
def test_every_file_deblur_reads_is_an_input(photo: Path, kernel: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                             extra: list[str], clash: str) -> None:
    before = {p.name: p.read_bytes() for p in (photo, kernel)}
    monkeypatch.chdir(tmp_path)
    assert main(["deblur", "x.png", "--method", "rl", "-q", *extra]) == 1
    assert f"also the {clash}" in _one_error_line(capsys.readouterr().err)
    assert {p.name: p.read_bytes() for p in (photo, kernel)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.png", "x.png"]


def test_folder_run_rechecks_renamed_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    _flat_png(tmp_path / "d1" / "a.png.jpg", 40)  # -> out/a.png.png
    _flat_png(tmp_path / "d2" / "a.jpg", 120)     # -> out/a.png
    _flat_png(tmp_path / "d2" / "a.png", 200)     # a.png taken, a.png.png taken -> a.png.1.png
    out = tmp_path / "out"
    assert main(["deblur", str(tmp_path / "d1"), str(tmp_path / "d2"), "-o", str(out), "--method", "unsharp"]) == 0
    assert "deblurred 3 of 3" in capsys.readouterr().out
    means = sorted(round(float(cv2.imread(str(p)).mean())) for p in out.glob("*.png"))
    assert means == [40, 120, 200]


def test_existing_output_is_kept_without_overwrite(photo: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = _flat_png(tmp_path / "y.png", 7)
    before = out.read_bytes()
    assert main(["deblur", str(photo), "-o", str(out), "--method", "unsharp", "-q"]) == 1
    assert "already exists; pass --overwrite" in _one_error_line(capsys.readouterr().err)
    assert out.read_bytes() == before
    assert main(["deblur", str(photo), "-o", str(out), "--method", "unsharp", "-q", "--overwrite"]) == 0
    assert out.read_bytes() != before


def test_exclusive_publish_never_replaces_a_file_that_appeared_meanwhile(tmp_path: Path) -> None:
    from facemask.files import publish

    target = tmp_path / "a.png"
    target.write_bytes(b"theirs")
    tmp = tmp_path / ".a.png.tmp"
    tmp.write_bytes(b"mine")
    assert publish(tmp, target, exclusive=True) == tmp_path / "a.1.png"
    assert target.read_bytes() == b"theirs" and (tmp_path / "a.1.png").read_bytes() == b"mine"
    assert not tmp.exists()


def test_concurrent_folder_runs_lose_nothing(tmp_path: Path) -> None:
    """Three processes deblur same-named photos into one folder at once: every photo ends up
    in its own file or is reported; none silently replaces another's output."""
    values = {"d1": 30, "d2": 130, "d3": 230}
    for d, value in values.items():
        (tmp_path / d).mkdir()
        for i in range(4):
            _flat_png(tmp_path / d / f"p{i}.png", value)
    procs = {d: start_cli(["deblur", d, "-o", "out", "--method", "unsharp", "-q"], tmp_path) for d in values}
    errors = {d: p.communicate(timeout=300)[1] for d, p in procs.items()}
    outputs = [round(float(cv2.imread(str(p)).mean())) for p in (tmp_path / "out").glob("*.png")]
    for d, value in values.items():
        refused = errors[d].count("already exists")
        assert outputs.count(value) + refused == 4, (d, outputs, errors[d])


# --- model bundles --------------------------------------------------------------------

def _bundle(tmp_path: Path, **changes: object) -> Path:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    model = build_onnx(bundle / "m.onnx")
    entry = {"id": "m.fp32.onnx", "model": "m", "path": "m.onnx", "format": "onnx", "precision": "fp32",
             "sha256": sha256_file(model), "input": {"name": "x"}, "output": {"name": "out"}, **changes}
    (bundle / "manifest.json").write_text(json.dumps({"schema_version": 1, "artifacts": [entry]}))
    return bundle


def test_manifest_path_outside_the_bundle_is_refused(tmp_path: Path, photo: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    outside = build_onnx(tmp_path / "outside.onnx")
    bundle = _bundle(tmp_path, path="../outside.onnx", sha256=sha256_file(outside))
    rc = main(["deblur", str(photo), "-o", str(tmp_path / "y.png"), "--models-dir", str(bundle),
               "--model", "m.fp32", "--method", "model", "-q"])
    assert rc == 1
    assert "must be inside the manifest folder" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "y.png").exists()


def test_manifest_link_leading_outside_the_bundle_is_refused(tmp_path: Path) -> None:
    outside = build_onnx(tmp_path / "outside.onnx")
    bundle = _bundle(tmp_path, path="link.onnx", id="m.fp32.onnx", sha256=sha256_file(outside))
    (bundle / "link.onnx").symlink_to(outside)
    manifest = Manifest.load(bundle / "manifest.json")
    with pytest.raises(ModelLoadError, match="leads outside"):
        manifest.path_of(manifest.artifacts[0])


@pytest.mark.parametrize("changes, match", [
    ({"input": "str"}, "'input' must be an object"),
    ({"multiple_of": "8"}, "'multiple_of' must be an integer"),
    ({"sha256": 5}, "'sha256' must be a string"),
    ({"metrics": [1, 2]}, "'metrics' must be an object"),
    ({"input": {"name": "x", "scale": "big"}}, "'scale' must be a number"),
    ({"notes": ["a"]}, "'notes' must be an object"),
])
def test_manifest_fields_of_the_wrong_type_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         changes: dict[str, object], match: str) -> None:
    bundle = _bundle(tmp_path, **changes)
    assert main(["models", "--models-dir", str(bundle)]) == 1
    assert match in _one_error_line(capsys.readouterr().err)


def test_deeply_nested_manifest_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_text('{"schema_version": 1, "artifacts": [{"notes": '
                                          + "[" * 100_000 + "]" * 100_000 + "}]}")
    assert main(["models", "--models-dir", str(bundle)]) == 1
    assert "nested too deeply" in _one_error_line(capsys.readouterr().err)


def test_deeply_nested_power_models_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "pm.json"
    path.write_text('{"models": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_power_models(path)


# --- tracebacks that were -------------------------------------------------------------

@pytest.mark.parametrize("library, match", [("/nonexistent.so", "absent or broken"),
                                            ("libc.so.6", "not a LiteRT delegate")])
def test_bad_delegate_is_one_line_and_nothing_at_exit(photo: Path, tmp_path: Path, library: str,
                                                      match: str) -> None:
    done = run_cli(["deblur", photo, "-o", "y.png", "--model", "nano.int8.tflite", "--method", "model",
                    "--delegate", library, "-q"], tmp_path)
    assert done.returncode == 1
    assert match in _one_error_line(done.stderr) and "Exception ignored" not in done.stderr


def _png_144mp(path: Path) -> Path:
    """A real, valid 12000x12000 RGB PNG (all black), written without holding it in memory."""
    w = h = 12000

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z = zlib.compressobj(1)
    row = b"\0" * (1 + 3 * w)
    body = b"".join(z.compress(row * 100) for _ in range(h // 100)) + z.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


def test_huge_photo_under_a_memory_limit_is_one_line(tmp_path: Path) -> None:
    big = _png_144mp(tmp_path / "big.png")
    done = run_cli(["deblur", big, "-o", "y.png", "--method", "unsharp", "-q"], tmp_path, memory_bytes=4 * GIB)
    assert done.returncode == 1
    assert "MP limit" in _one_error_line(done.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.png"]


def test_device_file_as_input_is_one_line(tmp_path: Path) -> None:
    done = run_cli(["deblur", "/dev/zero", "-o", "y.png", "--method", "unsharp", "-q"], tmp_path,
                   memory_bytes=2 * GIB, timeout_s=120)
    assert done.returncode == 1
    assert "not a regular file" in _one_error_line(done.stderr)


def test_model_that_outputs_garbage_gets_a_warning(photo: Path, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    scaled = build_onnx(tmp_path / "scaled.onnx", kind="scaled")
    with caplog.at_level("WARNING"):
        assert main(["deblur", str(photo), "-o", str(tmp_path / "y.png"), "--model", str(scaled),
                     "--method", "model", "-q"]) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("scaled.onnx" in w and "not a deblurring model" in w for w in warnings), warnings


def test_well_behaved_model_gets_no_warning(photo: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        assert main(["deblur", str(photo), "-o", str(tmp_path / "y.png"), "--model",
                     str(build_onnx(tmp_path / "id.onnx")), "--method", "model", "-q"]) == 0
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


# --- run: cameras, recordings, modes ------------------------------------------------------

def _absent_camera() -> int:
    return next(i for i in range(7, 64) if not Path(f"/dev/video{i}").exists())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="camera nodes are /dev/videoN on Linux")
@pytest.mark.parametrize("form", ["index", "node"])
def test_missing_camera_fails_at_once(capsys: pytest.CaptureFixture[str], form: str) -> None:
    n = _absent_camera()
    assert main(["run", "--no-progress", "--source", str(n) if form == "index" else f"/dev/video{n}"]) == 1
    err = capsys.readouterr().err
    assert f"no camera /dev/video{n}" in _one_error_line(err) and "reconnect" not in err


def test_existing_recording_is_kept_without_overwrite(clip: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.mp4"
    out.write_bytes(b"an earlier recording")
    assert main(["run", "--no-progress", "--source", str(clip), "-o", str(out), "--faces", "none",
                 "--max-frames", "2"]) == 1
    assert "already exists; pass --overwrite" in _one_error_line(capsys.readouterr().err)
    assert out.read_bytes() == b"an earlier recording"
    assert main(["run", "--no-progress", "--source", str(clip), "-o", str(out), "--faces", "none",
                 "--max-frames", "2", "--overwrite"]) == 0
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 2


def test_outputs_get_normal_file_modes(clip: Path, photo: Path, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        assert main(["run", "--no-progress", "--source", str(clip), "-o", str(tmp_path / "o.mp4"),
                     "--faces", "none", "--max-frames", "2", "--stats-json", str(tmp_path / "s.json")]) == 0
        assert main(["run", "--no-progress", "--source", str(clip), "-o", str(tmp_path / "frames"),
                     "--faces", "none", "--max-frames", "1"]) == 0
        assert main(["deblur", str(photo), "-o", str(tmp_path / "y.png"), "--method", "unsharp", "-q"]) == 0
    finally:
        os.umask(old)
    for path in (tmp_path / "o.mp4", tmp_path / "s.json", *(tmp_path / "frames").iterdir(), tmp_path / "y.png"):
        assert path.stat().st_mode & 0o777 == 0o644, path


def test_recording_killed_with_sigkill_plays_and_next_run_points_to_it(tmp_path: Path) -> None:
    long_clip = make_face_video(tmp_path / "long.mp4", size_wh=(320, 240), n_frames=150, n_faces=1, seed=4).path
    proc = start_cli(["run", "--no-progress", "--source", long_clip, "-o", "rec.mp4", "--faces", "full",
                      "--background", "full"], tmp_path)

    def partials() -> list[Path]:
        return [p for p in tmp_path.iterdir() if p.name.startswith(".rec.mp4.partial-")]

    wait_for(lambda: any(p.stat().st_size > 30_000 for p in partials()), proc)   # past the first fragment
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    [partial] = partials()
    with av.open(str(partial)) as c:
        frames = sum(1 for _ in c.decode(video=0))
    assert 0 < frames < 150
    done = run_cli(["run", "--no-progress", "--source", long_clip, "-o", "rec.mp4", "--faces", "none",
                    "--max-frames", "1"], tmp_path)
    assert done.returncode == 0
    assert f"partial recording (playable up to the kill) is {partial.name}" in done.stderr.replace(str(tmp_path) + "/", "")
    assert partial.exists()   # pointed to, not deleted: it is the user's only copy


def test_recording_onto_a_full_disk_is_one_line_and_keeps_what_it_took(tmp_path: Path) -> None:
    source = make_face_video(tmp_path / "in.mp4", size_wh=(320, 240), n_frames=60, n_faces=1, seed=4).path
    before = sha256_file(source)
    with small_disk(tmp_path / "disk", "40k") as disk:      # the recording needs ~70 kB
        done = run_cli(["run", "--no-progress", "--source", source, "-o", disk / "rec.mp4", "--faces", "none"],
                       tmp_path)
        assert done.returncode == 1
        line = _one_error_line(done.stderr)
        assert "the disk is full; what was recorded is kept in" in line and "-o" in line, line
        [partial] = list(disk.iterdir())            # no rec.mp4: only the partial file, named in the line
        assert partial.name.startswith(".rec.mp4.partial-") and str(partial) in line
    assert sha256_file(source) == before


@pytest.mark.parametrize("mode", [["--method", "unsharp"], ["--faces", "full"]])
def test_folder_run_stops_at_a_full_disk(tmp_path: Path, mode: list[str]) -> None:
    album = tmp_path / "album"
    album.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):      # noise: each PNG is ~100 kB, so the first one already does not fit
        cv2.imwrite(str(album / f"p{i}.png"), rng.integers(0, 256, (160, 200, 3), dtype=np.uint8))
    before = {p.name: p.read_bytes() for p in album.iterdir()}
    with small_disk(tmp_path / "disk", "32k") as disk:
        done = run_cli(["deblur", album, "-o", disk / "out", *mode], tmp_path)
        assert done.returncode == 1
        assert "cannot write" in _one_error_line(done.stderr) and "the disk is full" in done.stderr
        if "--faces" not in mode:
            assert "deblurred 0 of 4 photos" in done.stdout
            assert "1 failed, 3 not started (the disk is full)" in done.stdout
        assert [p.name for p in (disk / "out").iterdir() if p.name != "edgedeblur-settings.toml"] == []
    assert {p.name: p.read_bytes() for p in album.iterdir()} == before


def test_compare_onto_a_full_disk_names_the_compare_option(photo: Path, tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "4k") as disk:          # the photo goes elsewhere; its compare does not fit
        done = run_cli(["deblur", photo, "-o", tmp_path / "y.png", "--method", "unsharp",
                        "--compare", disk / "cmp.png"], tmp_path)
        assert done.returncode == 1
        line = _one_error_line(done.stderr)
        assert "cmp.png: the disk is full" in line and line.endswith("(--compare)"), line
        assert list(disk.iterdir()) == []
