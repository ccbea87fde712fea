"""``edgedeblur run`` end to end: generated mp4s through the real pipeline to real outputs."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from model_fixtures import build_onnx

from benchmarks.videos import FaceVideo, make_face_video, truncate_file, variable_rate_clip
from runtime.catalog import FILE_VIDEO_MODEL, LIVE_VIDEO_MODEL
from runtime.cli import main
from runtime.lab.metrics import psnr
from runtime.video.sources import open_source

SIZE_WH = (640, 360)
N_FRAMES = 24


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> FaceVideo:
    return make_face_video(tmp_path_factory.mktemp("cli") / "talk.mp4", size_wh=SIZE_WH,
                           n_frames=N_FRAMES, n_faces=1, seed=5, audio=True)


@pytest.fixture(scope="module")
def sharpen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_onnx(tmp_path_factory.mktemp("m") / "sharpen.onnx", kind="sharpen")


def _read(path: Path) -> list[np.ndarray]:
    with open_source(str(path)) as source:
        return [f.image_rgb for f in source]


def _run(*args: str | Path) -> int:
    return main(["run", "--no-progress", *map(str, args)])


def _face_psnr(video: FaceVideo, i: int, image: np.ndarray) -> float:
    x0, y0, x1, y1 = video.face_boxes(i)[0].round().astype(int)
    return psnr(video.sharp_frame(i)[y0:y1, x0:x1] / 255.0, image[y0:y1, x0:x1] / 255.0, border_px=0)


def test_video_in_video_out_with_stats_and_audio(video: FaceVideo, sharpen: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out, stats = tmp_path / "sharp.mp4", tmp_path / "stats.json"
    rc = _run("--source", video.path, "-o", out, "--model", sharpen, "--faces", "full",
              "--background", "none", "--stats", "--stats-json", stats, "--crf", "10")
    assert rc == 0
    assert "wrote" in capsys.readouterr().err
    before, after = _read(video.path), _read(out)
    assert len(after) == N_FRAMES and after[0].shape == (SIZE_WH[1], SIZE_WH[0], 3)
    gains = [_face_psnr(video, i, a) - _face_psnr(video, i, b) for i, (a, b) in enumerate(zip(after, before))]
    assert np.mean(gains) > 0.1
    x0, y0, x1, y1 = video.face_boxes(5)[0].round().astype(int)
    far = np.ones(after[5].shape[:2], bool)
    far[max(y0 - 150, 0):y1 + 150, max(x0 - 150, 0):x1 + 150] = False
    assert psnr(before[5][far] / 255.0, after[5][far] / 255.0, border_px=0) > 40  # only re-encoding noise
    doc = json.loads(stats.read_text())
    assert doc["frames"] == N_FRAMES and doc["fps"] > 0 and doc["faces"] == "full"
    assert 0 < doc["model_pixels_per_frame"] <= 2 * 256 * 256
    for stage in ("decode", "faces", "inference", "blend", "encode"):
        assert doc["stages"][stage]["p95_ms"] >= doc["stages"][stage]["p50_ms"] > 0
    with av.open(str(out)) as c:
        assert c.streams.audio and c.streams.audio[0].codec_context.name == "aac"


def test_background_none_leaves_the_background_untouched(video: FaceVideo, sharpen: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    assert _run("--source", video.path, "-o", out, "--model", sharpen, "--max-frames", "8") == 0
    before = _read(video.path)[:8]
    after = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in sorted(out.iterdir())]
    assert len(after) == 8
    for i, (b, a) in enumerate(zip(before, after)):
        x0, y0, x1, y1 = video.face_boxes(i)[0].round().astype(int)
        changed = np.any(a != b, axis=2)
        changed[max(y0 - 150, 0):y1 + 150, max(x0 - 150, 0):x1 + 150] = False
        assert not changed.any(), f"frame {i}: background pixels changed"
        assert np.any(a[y0:y1, x0:x1] != b[y0:y1, x0:x1]) or i < 2  # faces fade in over the first frames


def test_a_video_written_from_a_video_keeps_the_untouched_samples(video: FaceVideo, sharpen: Path,
                                                                 tmp_path: Path) -> None:
    """Pixels the run did not change leave with the source's own YUV samples (no RGB round trip):
    at crf 0, bit for bit."""
    out = tmp_path / "out.mp4"
    assert _run("--source", video.path, "-o", out, "--model", sharpen, "--max-frames", "8", "--crf", "0") == 0
    with av.open(str(video.path)) as a, av.open(str(out)) as b:
        pairs = list(zip([f.to_ndarray(format="yuv420p") for f in a.decode(video=0)][:8],
                         [f.to_ndarray(format="yuv420p") for f in b.decode(video=0)], strict=True))
    h = SIZE_WH[1]
    for i, (before, after) in enumerate(pairs):
        x0, y0, x1, y1 = video.face_boxes(i)[0].round().astype(int)
        outside = np.ones((h, SIZE_WH[0]), bool)
        outside[max(y0 - 150, 0):y1 + 150, max(x0 - 150, 0):x1 + 150] = False
        assert np.array_equal(before[:h][outside], after[:h][outside]), f"frame {i}: untouched luma re-quantised"
        assert not np.array_equal(before[:h][~outside], after[:h][~outside]) or i < 2   # the face was deblurred


def test_a_sharp_clip_the_run_leaves_alone_comes_back_as_it_was(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Default strength (auto) leaves sharp faces alone: no frame changes, so no re-encode."""
    sharp = make_face_video(tmp_path / "sharp.mp4", size_wh=SIZE_WH, n_frames=12, blur=False, seed=5, audio=True)
    out = tmp_path / "out.mp4"
    assert _run("--source", sharp.path, "-o", out) == 0
    assert "copied as it was" in capsys.readouterr().err
    with av.open(str(sharp.path)) as a, av.open(str(out)) as b:
        assert [bytes(p) for p in a.demux(video=0)] == [bytes(p) for p in b.demux(video=0)]
        assert b.streams.audio


def test_a_video_file_gets_the_quality_model_on_every_crop_by_default(video: FaceVideo, tmp_path: Path) -> None:
    stats = tmp_path / "stats.json"
    assert _run("--source", video.path, "-o", tmp_path / "out.mp4", "--max-frames", "3", "--stats-json", stats) == 0
    doc = json.loads(stats.read_text())
    assert doc["model"] == FILE_VIDEO_MODEL != LIVE_VIDEO_MODEL
    assert doc["reuse_crops"] is False          # nothing is dropped on a file: no output is reused


def test_background_light_changes_the_background(video: FaceVideo, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    assert _run("--source", video.path, "-o", out, "--faces", "none", "--background", "light",
                "--max-frames", "2") == 0
    first = cv2.cvtColor(cv2.imread(str(out / "frame_000000.png")), cv2.COLOR_BGR2RGB)
    assert np.mean(first != _read(video.path)[0]) > 0.3


def test_truncated_source_finalises_a_playable_output(video: FaceVideo, sharpen: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    cut = truncate_file(video.path, tmp_path / "cut.mp4", 0.6)
    readable = len(_read(cut))
    assert 0 < readable < N_FRAMES
    out = tmp_path / "out.mp4"
    assert _run("--source", cut, "-o", out, "--model", sharpen) == 1      # bad input, like a cut photo
    err = capsys.readouterr().err.strip()
    assert f"ended after {readable} of the {N_FRAMES} frames" in err and "complete up to there" in err
    assert "Traceback" not in err
    assert len(_read(out)) == readable


def test_missing_source_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("--source", tmp_path / "nope.mp4", "-o", tmp_path / "o.mp4") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("edgedeblur run: error:") and "not found" in err and "\n" not in err
    assert not (tmp_path / "o.mp4").exists()


def test_output_equal_to_input_is_refused_and_input_kept(video: FaceVideo, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    digest = hashlib.sha256(video.path.read_bytes()).hexdigest()
    assert _run("--source", video.path, "-o", video.path) == 1
    assert "is also the --source input" in capsys.readouterr().err
    assert hashlib.sha256(video.path.read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("args, match", [
    (["-o", "out.txt"], "give a video file"),
    (["--faces-strength", "2"], "faces-strength"),
    (["--max-frames", "0"], "max-frames"),
    (["--model", "no-such-model"], "no-such-model"),
    (["-o", "out.mp4", "--crf", "60"], "--crf 60 must be in 0..51"),
    (["-o", "out.mp4", "--preset", "slowest"], "--preset 'slowest' unknown; did you mean 'slower'?"),
])
def test_bad_options_fail_cleanly(video: FaceVideo, sharpen: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str], args: list[str], match: str) -> None:
    args = [str(tmp_path / a) if a.endswith((".txt", ".mp4")) else a for a in args]
    model = [] if "--model" in args else ["--model", str(sharpen)]
    assert _run("--source", video.path, *model, *args) == 1
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == []


def test_preview_without_a_display_carries_on(video: FaceVideo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    stats = tmp_path / "s.json"
    assert _run("--source", video.path, "--faces", "light", "--preview", "--max-frames", "3",
                "--stats-json", stats) == 0
    assert "preview disabled" in capsys.readouterr().err
    assert json.loads(stats.read_text())["frames"] == 3


def test_audio_is_reported_lost_for_image_outputs(video: FaceVideo, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("--source", video.path, "-o", tmp_path / "imgs", "--faces", "light", "--max-frames", "1") == 0
    assert "audio" in capsys.readouterr().err


def test_a_variable_rate_phone_clip_keeps_its_timing(video: FaceVideo, tmp_path: Path) -> None:
    """Re-timed at the average rate, a clip whose middle dropped to 10 fps drifts off its audio."""
    times = variable_rate_clip(video.path, tmp_path / "vfr.mp4", slow=range(8, 14))
    out = tmp_path / "out.mp4"
    assert _run("--source", tmp_path / "vfr.mp4", "-o", out, "--faces", "light") == 0
    with av.open(str(out)) as c:
        got = [float(f.pts * f.time_base) * 1000 for f in c.decode(video=0)]
        audio_s = float(c.streams.audio[0].duration * c.streams.audio[0].time_base)
    assert got == pytest.approx(times, abs=1.0)
    assert audio_s == pytest.approx(times[-1] / 1000, abs=0.1)


def test_a_folder_of_mixed_sizes_is_refused_before_any_video_is_written(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    folder = tmp_path / "shots"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((48, 64, 3)) * 255).astype(np.uint8)).save(folder / "a.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6                                               # stored 48 wide, shown 64 wide: the same size
    Image.fromarray((rng.random((64, 48, 3)) * 255).astype(np.uint8)).save(folder / "b.jpg", exif=exif)
    assert _run("--source", folder, "-o", tmp_path / "ok.mp4", "--faces", "light") == 0
    Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)).save(folder / "c.png")
    assert _run("--source", folder, "-o", tmp_path / "mixed.mp4", "--faces", "light") == 1
    err = capsys.readouterr().err
    assert "a video needs one frame size" in err and "c.png 32x32" in err and "Traceback" not in err
    assert not (tmp_path / "mixed.mp4").exists()


@pytest.mark.parametrize("kind, coded", [("FILE", True), ("STREAM", True), ("CAMERA", False), ("FOLDER", False)])
def test_decoded_video_sources_judge_face_blur_with_the_video_anchors(kind: str, coded: bool) -> None:
    from runtime.cli import build_parser
    from runtime.commands.run import pipeline_config
    from runtime.video.frames import SourceInfo, SourceKind

    args = build_parser().parse_args(["run", "--source", "x"])
    info = SourceInfo(SourceKind[kind], "x", (640, 360), 30.0, None)
    assert pipeline_config(args, info).strength.coded_video is coded


def test_models_dir_is_where_model_names_are_looked_up(video: FaceVideo, sharpen: Path, tmp_path: Path) -> None:
    import shutil

    from model_fixtures import manifest_row, write_manifest

    models = tmp_path / "candidate"
    models.mkdir()
    shutil.copy(sharpen, models / "small.fp32.onnx")                  # 'small' here is the sharpen net
    write_manifest(models, [manifest_row(models / "small.fp32.onnx", "small")])
    common = ["--faces", "full", "--faces-strength", "1", "--max-frames", "3", "--crf", "0"]
    assert _run("--source", video.path, "-o", tmp_path / "by_dir.mp4", "--model", "small", "--models-dir", models,
                *common) == 0
    assert _run("--source", video.path, "-o", tmp_path / "by_path.mp4", "--model", sharpen, *common) == 0
    assert _run("--source", video.path, "-o", tmp_path / "shipped.mp4", "--model", "small", *common) == 0
    by_dir, by_path, shipped = (_read(tmp_path / f"{n}.mp4") for n in ("by_dir", "by_path", "shipped"))
    assert all(np.array_equal(a, b) for a, b in zip(by_dir, by_path))
    assert not all(np.array_equal(a, b) for a, b in zip(by_dir, shipped))


def test_images_that_cannot_be_decoded_fail_the_run_in_one_line(sharpen: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A source that gives no frame is an error, not a silent success; a folder's unreadable
    images are named at the end and fail the run, and its good frames are kept."""
    folder = tmp_path / "shots"
    folder.mkdir()
    (folder / "b_broken.jpg").write_text("not a photo")
    assert _run("--source", folder / "b_broken.jpg", "-o", tmp_path / "one.mp4", "--model", sharpen) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"edgedeblur run: error: {folder / 'b_broken.jpg'} gave no frames: b_broken.jpg is not an image "
                   "OpenCV can decode; check it or give another --source"]
    assert not (tmp_path / "one.mp4").exists()
    cv2.imwrite(str(folder / "a_good.png"), np.full((48, 64, 3), 90, np.uint8))
    assert _run("--source", folder, "-o", tmp_path / "out", "--model", sharpen) == 1
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("edgedeblur run:")]
    assert err[-1] == (f"edgedeblur run: error: 1 image of {folder} could not be decoded and was left out "
                       "(b_broken.jpg); the others are kept")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a_good.png"]
