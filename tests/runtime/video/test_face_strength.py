"""Blur-aware face strength: the estimate on a real face photo, the per-track rules on real
detections, exact crops with the fewest covering tiles on a static-shape ONNX graph."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from model_fixtures import build_onnx

from facemask.detector import FaceDetector
from facemask.options import FaceDetectorOptions
from facemask.result import FaceResult
from runtime.engines import create_engine
from runtime.errors import ConfigError
from runtime.video.face_blur import blur_from_sharpness, estimate_blur, inner_face
from runtime.video.face_strength import FaceStrengths, StrengthConfig
from runtime.video.face_tiles import run_face_crop, tile_starts
from runtime.lab.sample_images import load_sample
from runtime.lab.degradations import blur
from runtime.photo.kernels import defocus_kernel


@pytest.fixture(scope="module")
def portrait() -> tuple[np.ndarray, FaceResult]:
    image = load_sample("grace_hopper")
    with FaceDetector.create_from_options(FaceDetectorOptions(max_faces=1)) as det:
        faces = det.process(image)
    assert len(faces) == 1
    return image, faces


def _blurred(image: np.ndarray, radius: float) -> np.ndarray:
    out = blur(image.astype(np.float32) / 255, defocus_kernel(radius))
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


def test_blur_estimate_orders_sharp_below_blurred(portrait: tuple[np.ndarray, FaceResult]) -> None:
    image, faces = portrait
    lm = faces.landmarks_px[0]
    est = [estimate_blur(img, lm) for img in (image, _blurred(image, 1.5), _blurred(image, 4.0))]
    assert est[0].sharpness > est[1].sharpness > est[2].sharpness
    assert est[2].blur == pytest.approx(1.0)
    assert est[0].blur < est[2].blur
    assert est[0].face_px > 100


def test_sensor_noise_does_not_pass_for_detail(portrait: tuple[np.ndarray, FaceResult]) -> None:
    """2 % noise on a defocused face: the fine reading takes it for sharp, the coarse one does not."""
    image, faces = portrait
    lm = faces.landmarks_px[0]
    noise = np.random.default_rng(0).normal(0, 0.02 * 255, image.shape)
    noisy_sharp, noisy_soft = (np.clip(x.astype(np.float32) + noise, 0, 255).round().astype(np.uint8)
                               for x in (image, _blurred(image, 4.0)))
    soft = estimate_blur(noisy_soft, lm)
    assert blur_from_sharpness(soft.sharpness, soft.face_px) == 0.0        # what the fine reading alone said
    assert soft.blur > 0.5
    assert estimate_blur(noisy_sharp, lm).blur == 0.0


def test_large_faces_are_read_in_frame_pixels(portrait: tuple[np.ndarray, FaceResult]) -> None:
    """The model works on a face crop at frame scale, so its blur is read there: a large face is
    cropped about its centre, never shrunk (shrunk, a 570-px face with a 9-px shake read sharp)."""
    image, faces = portrait
    big = cv2.resize(image, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    lm = faces.landmarks_px[0][:, :2] * 4
    patch = inner_face(big, lm)
    assert patch is not None and patch.shape == (256, 256)
    gray = cv2.cvtColor(big, cv2.COLOR_RGB2GRAY).astype(np.float32)
    x0, y0 = np.floor((lm.min(axis=0) + lm.max(axis=0)) / 2 - 128).astype(int)
    assert np.abs(gray[y0:y0 + patch.shape[0], x0:x0 + patch.shape[1]] - patch).max() <= 1.0   # the frame's pixels


def test_tiny_face_counts_as_blurry(portrait: tuple[np.ndarray, FaceResult]) -> None:
    image, faces = portrait
    est = estimate_blur(image, faces.landmarks_px[0] * 0.02)   # a 4-px face
    assert est.blur == 1.0 and est.sharpness == 0.0


def _tracked(faces: FaceResult, t: int) -> FaceResult:
    from dataclasses import replace
    return replace(faces, track_ids=np.array([7]), timestamp_ms=float(t))


def test_sharpest_recent_crop_decides_and_strength_moves_gradually(portrait: tuple[np.ndarray, FaceResult]) -> None:
    image, faces = portrait
    soft = _blurred(image, 4.0)
    strengths = FaceStrengths(StrengthConfig(window_frames=5, rate=0.25, floor=0.0))
    sharp_first = strengths.update(image, _tracked(faces, 0)).strength[0]
    one_blurry = strengths.update(soft, _tracked(faces, 1))
    assert one_blurry.blur[0] == pytest.approx(1.0)
    assert one_blurry.track_blur[0] == pytest.approx(sharp_first)     # the sharp frame still decides
    seq = [strengths.update(soft, _tracked(faces, t)).strength[0] for t in range(2, 12)]
    steps = np.diff([sharp_first, *seq])
    assert np.all(steps >= -1e-6) and np.all(steps <= 0.25 + 1e-6)     # no jumps
    assert seq[-1] > 0.5                                                # sustained blur gets the model


def test_untracked_faces_are_judged_alone(portrait: tuple[np.ndarray, FaceResult]) -> None:
    image, faces = portrait
    strengths = FaceStrengths(StrengthConfig(floor=0.0))
    assert strengths.update(_blurred(image, 4.0), faces).strength[0] == pytest.approx(1.0)
    assert strengths.update(image, faces).strength[0] == pytest.approx(estimate_blur(image, faces.landmarks_px[0]).blur)


@pytest.mark.parametrize("kwargs", [{"window_frames": 0}, {"rate": 0.0}, {"floor": 1.0}])
def test_strength_config_rejects_bad_values(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        StrengthConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("length, tile, expected", [(256, 256, [0]), (200, 256, [0]),
                                                     (470, 256, [0, 214]), (496, 256, [0, 240]),
                                                     (497, 256, [0, 120, 241])])
def test_fewest_tiles_cover_the_crop(length: int, tile: int, expected: list[int]) -> None:
    starts = tile_starts(length, tile, grid=8)
    assert starts == expected
    assert starts[0] == 0 and starts[-1] + tile == max(length, tile)
    assert all(b - a <= tile - 16 for a, b in zip(starts, starts[1:]))


@pytest.fixture(scope="module")
def static_sharpen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_onnx(tmp_path_factory.mktemp("m") / "sharpen64.onnx", kind="sharpen", static_hw=(64, 64))


def test_face_crop_on_static_model_uses_few_tiles_and_skips_empty_ones(static_sharpen: Path) -> None:
    rng = np.random.default_rng(0)
    crop = rng.random((112, 112, 3), dtype=np.float32)
    mask = np.zeros((112, 112), np.float32)
    mask[10:40, 10:40] = 1.0                           # only the top-left tile's area
    with create_engine(static_sharpen) as engine:
        out, px = run_face_crop(engine, crop, mask)
        full, full_px = run_face_crop(engine, crop, np.ones_like(mask))
        small, small_px = run_face_crop(engine, crop[:40, :40], mask[:40, :40])
    assert full_px == 4 * 64 * 64                      # 2 x 2 tiles, not a 3 x 3 grid
    assert px < full_px                                # tiles the mask does not reach are skipped
    assert np.allclose(out[10:40, 10:40], full[10:40, 10:40], atol=1e-5)
    assert small.shape == (40, 40, 3) and small_px == 64 * 64        # padded up to the tile
    assert not np.allclose(full, crop)


def test_decoded_video_is_judged_by_anchors_for_codec_smoothed_faces() -> None:
    """H.264 smooths a sharp face's finest detail: the photo anchors take that for blur, the
    video ones do not, and a defocused face still reads fully blurry."""
    from runtime.lab.degradations import h264_roundtrip

    image = load_sample("astronaut")
    with FaceDetector.create_from_options(FaceDetectorOptions(max_faces=1)) as det:
        lm = det.process(image).landmarks_px[0]
    sharp = (h264_roundtrip(image.astype(np.float32) / 255, 28) * 255 + 0.5).astype(np.uint8)
    soft = (h264_roundtrip(_blurred(image, 2.5).astype(np.float32) / 255, 28) * 255 + 0.5).astype(np.uint8)
    assert estimate_blur(sharp, lm).blur > 0.3
    assert estimate_blur(sharp, lm, coded=True).blur == 0.0
    assert estimate_blur(soft, lm, coded=True).blur == 1.0
