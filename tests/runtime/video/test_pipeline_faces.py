"""Faces first, do no harm: auto strength leaves sharp faces alone and restores blurry ones,
small frames and photos work, photo face priority, per-face blur in the statistics. Real
face models, real ONNX Runtime sessions on tiny generated graphs, generated media."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from model_fixtures import build_onnx

from benchmarks.videos import FaceVideo, make_face_video
from runtime.cli import main
from runtime.photo.imageio import read_image
from runtime.video.pipeline import AUTO, FacePriorityPipeline, PipelineConfig
from runtime.lab.sample_images import load_sample
from runtime.video.frames import Frame
from runtime.video.sources import open_source
from runtime.lab.degradations import blur
from runtime.photo.kernels import defocus_kernel


@pytest.fixture(scope="module")
def sharpen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_onnx(tmp_path_factory.mktemp("m") / "sharpen.onnx", kind="sharpen")


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    """Grace Hopper's portrait at 512 px: a sharp face of ~200 px."""
    return np.ascontiguousarray(load_sample("grace_hopper")[:512, :512])


def _defocus(image: np.ndarray, radius: float) -> np.ndarray:
    out = blur(image.astype(np.float32) / 255, defocus_kernel(radius))
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


def _clip(image: np.ndarray, n: int) -> list[Frame]:
    return [Frame(image, i, i * 33.3) for i in range(n)]


def test_auto_strength_leaves_a_sharp_face_and_restores_a_blurry_one(portrait: np.ndarray, sharpen: Path) -> None:
    config = PipelineConfig(model=sharpen, faces_strength=AUTO)
    with FacePriorityPipeline(config) as pipe:
        sharp = [pipe.process(f) for f in _clip(portrait, 6)]
    with FacePriorityPipeline(config) as pipe:
        soft = [pipe.process(f) for f in _clip(_defocus(portrait, 3.0), 6)]
    assert all(len(r.faces) == 1 for r in sharp + soft)
    assert sharp[-1].strengths.strength[0] == 0.0 and sharp[-1].model_pixels == 0
    assert np.array_equal(sharp[-1].image_rgb, portrait)
    assert soft[-1].strengths.blur[0] > 0.9 and soft[-1].strengths.strength[0] > 0.9
    assert soft[0].model_pixels > 0 and not np.array_equal(soft[-1].image_rgb, _defocus(portrait, 3.0))


def test_unchanged_face_crop_reuses_the_model_output(portrait: np.ndarray, sharpen: Path) -> None:
    with FacePriorityPipeline(PipelineConfig(model=sharpen)) as pipe:
        results = [pipe.process(f) for f in _clip(_defocus(portrait, 3.0), 4)]
    assert results[0].model_pixels > 0
    assert [r.model_pixels for r in results[1:]] == [0, 0, 0]            # same crop: output reused
    for r in results[1:]:        # the masks follow the landmarks; the deblurred pixels are the first frame's
        assert np.abs(r.image_rgb.astype(int) - results[0].image_rgb).mean() < 0.5


def test_frame_smaller_than_a_tile_gets_its_faces_restored(portrait: np.ndarray, sharpen: Path) -> None:
    small = cv2.resize(_defocus(portrait, 2.0), (320, 320), interpolation=cv2.INTER_AREA)[40:280]
    with FacePriorityPipeline(PipelineConfig(model=sharpen)) as pipe:      # tile 256 > 240 rows
        result = pipe.process(Frame(np.ascontiguousarray(small), 0, 0.0))
    assert result.image_rgb.shape == small.shape and len(result.faces) == 1
    assert result.model_pixels > 0 and not np.array_equal(result.image_rgb, small)


@pytest.fixture(scope="module")
def small_video(tmp_path_factory: pytest.TempPathFactory) -> FaceVideo:
    return make_face_video(tmp_path_factory.mktemp("v") / "qvga.mp4", size_wh=(320, 240), n_frames=8,
                           n_faces=1, seed=2)


def test_run_on_a_320x240_clip_finds_and_restores_faces(small_video: FaceVideo, sharpen: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out, stats = tmp_path / "out.mp4", tmp_path / "stats.json"
    rc = main(["run", "--no-progress", "--source", str(small_video.path), "-o", str(out), "--model", str(sharpen),
               "--faces-strength", "1", "--stats", "--stats-json", str(stats)])
    assert rc == 0
    doc = json.loads(stats.read_text())
    assert doc["faces_per_frame"] > 0.5 and doc["model_pixels_per_frame"] > 0
    with open_source(str(out)) as a, open_source(str(small_video.path)) as b:
        assert any(not np.array_equal(x.image_rgb, y.image_rgb) for x, y in zip(a, b))


def test_run_reports_per_face_blur(small_video: FaceVideo, sharpen: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    stats = tmp_path / "stats.json"
    assert main(["run", "--no-progress", "--source", str(small_video.path), "--model", str(sharpen),
                 "--stats", "--stats-json", str(stats)]) == 0
    doc = json.loads(stats.read_text())
    assert doc["faces_strength"] == "auto" and len(doc["face_blur_last"]) == 1
    assert 0.0 <= doc["face_blur_mean"] <= 1.0
    assert "face blur" in capsys.readouterr().err


def test_run_rejects_a_bad_strength(small_video: FaceVideo, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--source", str(small_video.path), "--faces-strength", "sharp"])
    assert "'auto'" in capsys.readouterr().err


def test_faces_on_a_320x240_photo_with_blur(portrait: np.ndarray, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    photo = tmp_path / "qvga.png"
    cv2.imwrite(str(photo), cv2.resize(portrait, (320, 320))[40:280, :, ::-1])
    assert main(["faces", str(photo), "--json", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)[0]
    assert len(doc["faces"]) == 1 and doc["faces"][0]["region"] == 0 and doc["tile"] == 240
    assert 0.0 <= doc["faces"][0]["blur"] <= 1.0


def test_deblur_faces_changes_faces_keeps_background_and_zooms(portrait: np.ndarray, sharpen: Path,
                                                              tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, dst, cmp = tmp_path / "p.png", tmp_path / "p.sharp.png", tmp_path / "cmp.png"
    soft = _defocus(portrait, 2.0)
    cv2.imwrite(str(src), soft[:, :, ::-1])
    before = src.read_bytes()
    rc = main(["deblur", str(src), "-o", str(dst), "--faces", "full", "--background", "none",
               "--model", str(sharpen), "--compare", str(cmp)])
    assert rc == 0 and src.read_bytes() == before
    out = (read_image(dst).rgb * 255 + 0.5).astype(np.uint8)
    changed = np.any(out != soft, axis=2)
    assert changed.any() and not changed[:, :40].any()             # the face changed, the far left did not
    assert "1 face, model on" in capsys.readouterr().out
    assert read_image(cmp).rgb.shape[0] > 512                        # zoomed faces below the pair


def test_deblur_faces_says_when_a_sharp_face_is_left_as_taken(portrait: np.ndarray, sharpen: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "p.png"
    cv2.imwrite(str(src), portrait[:, :, ::-1])
    assert main(["deblur", str(src), "-o", str(tmp_path / "o.png"), "--faces", "full", "--model", str(sharpen)]) == 0
    assert "1 face, sharp enough to leave as taken" in capsys.readouterr().out


def test_deblur_faces_reads_models_from_models_dir(portrait: np.ndarray, sharpen: Path, tmp_path: Path) -> None:
    import shutil

    from model_fixtures import manifest_row, write_manifest

    models = tmp_path / "candidate"
    models.mkdir()
    shutil.copy(sharpen, models / "small.fp32.onnx")                  # 'small' here is the sharpen net
    write_manifest(models, [manifest_row(models / "small.fp32.onnx", "small")])
    src = tmp_path / "p.png"
    cv2.imwrite(str(src), _defocus(portrait, 2.0)[:, :, ::-1])
    common = ["--faces", "full", "--background", "none", "--faces-strength", "1", "-q"]
    assert main(["deblur", str(src), "-o", str(tmp_path / "by_dir.png"), "--model", "small",
                 "--models-dir", str(models), *common]) == 0
    assert main(["deblur", str(src), "-o", str(tmp_path / "by_path.png"), "--model", str(sharpen), *common]) == 0
    assert (tmp_path / "by_dir.png").read_bytes() == (tmp_path / "by_path.png").read_bytes()


def test_deblur_faces_refuses_classical_methods(portrait: np.ndarray, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "p.png"
    cv2.imwrite(str(src), portrait[:, :, ::-1])
    assert main(["deblur", str(src), "--faces", "full", "--method", "unsharp"]) == 1
    assert "--faces" in capsys.readouterr().err
