"""Tests for runtime.photo.estimate: blind estimates on package photos with known synthetic blur."""
from __future__ import annotations

import numpy as np
import pytest

from runtime.errors import ConfigError, ImageError
from runtime.photo.classical import wiener
from runtime.photo.estimate import (BlurEstimate, EstimateConfig, classify_blur, estimate_defocus, estimate_motion,
                                    fit_kernels)
from runtime.lab.degradations import blur, convolve, degrade
from runtime.lab.metrics import psnr
from runtime.lab.sample_images import load_sample_scaled
from runtime.photo.kernels import BlurFamily, BlurSpace, camera_shake_kernel, defocus_kernel, linear_motion_kernel


def _photo(name: str, long_side: int = 320) -> np.ndarray:
    return load_sample_scaled(name, long_side)


def _blurred(name: str, kernel: np.ndarray, seed: int = 0) -> np.ndarray:
    return degrade(_photo(name), kernel, np.random.default_rng(seed), srgb_noise_sigma=0.01)


def _angle_error(a: float, b: float) -> float:
    return abs((a - b + 90.0) % 180.0 - 90.0)


@pytest.mark.parametrize(("name", "radius"), [("astronaut", 2.0), ("coffee", 3.0), ("grace_hopper", 4.0),
                                              ("chelsea", 5.0), ("astronaut", 6.0), ("coffee", 2.5)])
def test_defocus_radius_within_half_a_pixel(name: str, radius: float) -> None:
    est = estimate_defocus(_blurred(name, defocus_kernel(radius)))
    assert est.family is BlurFamily.DEFOCUS
    assert abs(est.size_px - radius) <= 0.5
    assert est.confidence > 0.5
    assert est.kernel.shape == defocus_kernel(est.size_px).shape


@pytest.mark.parametrize(("name", "length", "angle"), [("astronaut", 7, 20.0), ("grace_hopper", 11, 75.0),
                                                       ("coffee", 15, 130.0), ("chelsea", 21, 160.0),
                                                       ("astronaut", 9, 0.0)])
def test_motion_length_and_angle(name: str, length: float, angle: float) -> None:
    est = estimate_motion(_blurred(name, linear_motion_kernel(length, angle)))
    assert est.family is BlurFamily.LINEAR_MOTION
    assert est.angle_deg is not None and 0.0 <= est.angle_deg < 180.0
    assert abs(est.size_px - length) <= 2.0
    assert _angle_error(est.angle_deg, angle) <= 8.0


@pytest.mark.parametrize(
    ("name", "kernel", "family"),
    [
        ("grace_hopper", defocus_kernel(3), BlurFamily.DEFOCUS),
        ("chelsea", defocus_kernel(5), BlurFamily.DEFOCUS),
        ("coffee", linear_motion_kernel(15, 45), BlurFamily.LINEAR_MOTION),
        ("astronaut", linear_motion_kernel(21, 100), BlurFamily.LINEAR_MOTION),
    ],
)
def test_classify_clear_cases(name: str, kernel: np.ndarray, family: BlurFamily) -> None:
    est = classify_blur(_blurred(name, kernel))
    assert est.family is family
    assert est.confidence >= 0.5 and not est.is_sharp


@pytest.mark.parametrize("name", ["astronaut", "coffee", "grace_hopper"])
def test_sharp_photo_is_classified_unblurred(name: str) -> None:
    sharp = _photo(name)
    noisy = np.clip(sharp + np.random.default_rng(0).normal(0, 0.01, sharp.shape), 0, 1)
    est = classify_blur(noisy.astype(np.float32))
    assert est.is_sharp and est.size_px == 0.0
    assert est.kernel.shape == (1, 1)


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("estimator", [classify_blur, estimate_defocus, estimate_motion])
def test_featureless_image_gets_zero_confidence(value: float, estimator) -> None:
    est = estimator(np.full((160, 200, 3), value, np.float32))
    assert est.is_sharp and est.confidence == 0.0


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("estimator", [classify_blur, estimate_defocus, estimate_motion])
def test_white_noise_gets_zero_confidence(estimator) -> None:
    # a flat spectrum: no power-law image in it, so no blur can be read from it (the fits'
    # amplitudes come out negative; the confidence was NaN and numpy warned on stderr)
    est = estimator(np.random.default_rng(0).random((300, 400, 3)).astype(np.float32))
    assert est.is_sharp and est.confidence == 0.0


def test_unexplained_blur_falls_back_to_camera_shake_with_low_confidence() -> None:
    # a seeded shake trajectory with no dominant direction (checked: neither model fits)
    est = classify_blur(_blurred("grace_hopper", camera_shake_kernel(np.random.default_rng(4), 19)))
    assert est.family is BlurFamily.CAMERA_SHAKE
    assert est.confidence < 0.5
    assert est.angle_deg is None and est.kernel.ndim == 2


def test_estimate_drives_wiener_close_to_the_true_kernel() -> None:
    sharp = _photo("chelsea")
    k = defocus_kernel(4)
    blurry = degrade(sharp, k, np.random.default_rng(3), srgb_noise_sigma=0.01)
    est = classify_blur(blurry)
    assert psnr(sharp, wiener(blurry, est.kernel)) > psnr(sharp, wiener(blurry, k)) - 0.3


def test_estimate_is_deterministic() -> None:
    blurry = _blurred("coffee", linear_motion_kernel(11, 60))
    a, b = estimate_motion(blurry), estimate_motion(blurry)
    assert (a.size_px, a.angle_deg, a.residual) == (b.size_px, b.angle_deg, b.residual)
    assert isinstance(a, BlurEstimate)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patch_px": 100}, "power of two"),
        ({"patch_px": 16}, "power of two"),
        ({"max_radius_px": 0.5}, "max_radius_px"),
        ({"max_length_px": 80}, "max_length_px"),
    ],
)
def test_config_validation(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        EstimateConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((100, 300, 3), np.float32), "smaller than the estimator patch"),
        (np.zeros((200, 200), np.float32), "HxWx3"),
        (np.full((200, 200, 3), np.nan, np.float32), "NaN"),
    ],
)
def test_bad_images_raise(image: np.ndarray, match: str) -> None:
    with pytest.raises(ImageError, match=match):
        classify_blur(image)


def test_smaller_patch_handles_small_images() -> None:
    small = _blurred("coffee", defocus_kernel(3))[:96, :160]
    est = estimate_defocus(small, EstimateConfig(patch_px=64, max_radius_px=6, max_length_px=24))
    assert abs(est.size_px - 3) <= 1.0


_IDENTITY = np.ones((1, 1), np.float32)


@pytest.mark.parametrize("kernel", [defocus_kernel(4), camera_shake_kernel(np.random.default_rng(2), 17)])
def test_fit_kernels_prefers_the_true_kernel(kernel: np.ndarray) -> None:
    """'coins' is a TRAIN image; its true blur fits the spectrum ~3x better than no blur."""
    blurry = _blurred("coins", kernel)
    none_fit, true_fit, wrong_fit = fit_kernels(blurry, [_IDENTITY, kernel, linear_motion_kernel(15, 90)])
    assert true_fit < 0.5 * none_fit and true_fit < wrong_fit


def test_fit_kernels_prefers_no_blur_on_a_sharp_photo() -> None:
    sharp = _photo("coins")
    noisy = np.clip(sharp + np.random.default_rng(0).normal(0, 0.01, sharp.shape), 0, 1).astype(np.float32)
    none_fit, disc_fit = fit_kernels(noisy, [_IDENTITY, defocus_kernel(3)])
    assert none_fit < disc_fit


def test_fit_kernels_rejects_a_kernel_larger_than_the_patch() -> None:
    with pytest.raises(ConfigError, match="exceeds the estimator patch 64 px"):
        fit_kernels(_photo("coins"), [np.ones((65, 65), np.float32)], EstimateConfig(patch_px=64))


@pytest.mark.parametrize("space", list(BlurSpace))
@pytest.mark.parametrize(("kernel", "family", "size"), [(defocus_kernel(3.5), BlurFamily.DEFOCUS, 3.5),
                                                        (linear_motion_kernel(13, 30), BlurFamily.LINEAR_MOTION, 13)],
                         ids=["disc", "streak"])
@pytest.mark.parametrize("name", ["camera", "coins"])  # TRAIN_IMAGES
def test_estimates_find_the_space_the_blur_happened_in(name: str, kernel: np.ndarray, family: BlurFamily,
                                                       size: float, space: BlurSpace) -> None:
    """A linear-light fit alone read sRGB-made r3.5 defocus on 'coins' as r1.7."""
    sharp = _photo(name, 256)
    blurred = blur(sharp, kernel) if space is BlurSpace.LINEAR else convolve(sharp, kernel)
    noisy = np.clip(blurred + np.random.default_rng(0).normal(0, 0.005, sharp.shape), 0, 1).astype(np.float32)
    est = classify_blur(noisy)
    assert est.space is space and est.family is family
    assert abs(est.size_px - size) <= 0.15 * size
