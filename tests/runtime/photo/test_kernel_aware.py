"""Tests for runtime.photo.kernel_aware: the branch taken and the gain on TRAIN photos with known blur."""
from __future__ import annotations

import numpy as np
import pytest

from runtime.errors import ConfigError, ImageError
from runtime.lab.degradations import degrade
from runtime.lab.metrics import psnr
from runtime.lab.sample_images import load_sample_scaled
from runtime.photo.kernel_aware import BlurTarget, KernelAwareConfig, KernelMethod, kernel_aware_deblur
from runtime.photo.kernels import camera_shake_kernel, defocus_kernel, linear_motion_kernel


def _photo(name: str, long_side: int = 256) -> np.ndarray:
    return load_sample_scaled(name, long_side)


@pytest.fixture(scope="module")
def coins() -> np.ndarray:
    return _photo("coins")


def _blurred(sharp: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return degrade(sharp, kernel, np.random.default_rng(0), srgb_noise_sigma=0.01)


@pytest.mark.parametrize(("kernel", "method", "min_gain_db"), [
    (defocus_kernel(3.5), KernelMethod.DEFOCUS, 3.0),
    (linear_motion_kernel(13, 30), KernelMethod.LINEAR_MOTION, 3.0),
    (camera_shake_kernel(np.random.default_rng(2), 17), KernelMethod.SHAKE, 3.0),
])
def test_branch_and_gain(coins: np.ndarray, kernel: np.ndarray, method: KernelMethod, min_gain_db: float) -> None:
    blurry = _blurred(coins, kernel)
    result = kernel_aware_deblur(blurry)
    assert result.method is method and result.trusted
    assert result.kernel is not None and abs(float(result.kernel.sum()) - 1) < 1e-4
    assert result.image.shape == coins.shape and result.image.dtype == np.float32
    assert psnr(coins, result.image) - psnr(coins, blurry) > min_gain_db
    assert {"estimate", "deconvolve", "total"} <= set(result.timings_ms)


def test_sharp_photo_comes_back_unchanged(coins: np.ndarray) -> None:
    noisy = np.clip(coins + np.random.default_rng(0).normal(0, 0.01, coins.shape), 0, 1).astype(np.float32)
    result = kernel_aware_deblur(noisy)
    assert result.method is KernelMethod.SHARP and result.trusted and result.kernel is None
    np.testing.assert_array_equal(result.image, noisy)


@pytest.mark.parametrize("image", [
    np.full((160, 200, 3), 0.5, np.float32),            # flat
    np.zeros((160, 200, 3), np.float32),                # black
    np.ones((40, 56, 3), np.float32) * 0.3,             # tiny
    np.random.default_rng(0).random((60, 90, 3)).astype(np.float32),  # tiny noise
])
@pytest.mark.parametrize("target", list(BlurTarget))
def test_featureless_or_tiny_images_are_returned(image: np.ndarray, target: BlurTarget) -> None:
    result = kernel_aware_deblur(image, KernelAwareConfig(target=target))
    assert result.method is KernelMethod.UNSURE and not result.trusted
    np.testing.assert_array_equal(result.image, image)


def test_focus_target_never_runs_the_blind_search(coins: np.ndarray) -> None:
    blurry = _blurred(coins, camera_shake_kernel(np.random.default_rng(2), 17))
    result = kernel_aware_deblur(blurry, KernelAwareConfig(target="defocus"))  # type: ignore[arg-type]
    assert "blind" not in result.timings_ms
    assert result.method in (KernelMethod.DEFOCUS, KernelMethod.UNSURE)


def test_without_blind_search_shake_is_unsure(coins: np.ndarray) -> None:
    blurry = _blurred(coins, camera_shake_kernel(np.random.default_rng(2), 17))
    result = kernel_aware_deblur(blurry, KernelAwareConfig(blind=None))
    assert result.method is KernelMethod.UNSURE
    np.testing.assert_array_equal(result.image, blurry)


@pytest.mark.parametrize(("kernel", "disc"), [(defocus_kernel(3.5), True), (linear_motion_kernel(13, 30), False)])
def test_discs_are_deconvolved_with_their_own_weight(coins: np.ndarray, kernel: np.ndarray, disc: bool) -> None:
    """A disc's inverse holds more detail at a weight where a streak's spectral zeros ring."""
    blurry = _blurred(coins, kernel)
    shipped = kernel_aware_deblur(blurry, KernelAwareConfig(blind=None))
    other = kernel_aware_deblur(blurry, KernelAwareConfig(blind=None, defocus_weight=1000.0))
    assert shipped.method is (KernelMethod.DEFOCUS if disc else KernelMethod.LINEAR_MOTION)
    assert np.array_equal(shipped.image, other.image) is not disc


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"target": "focus"}, "target 'focus' is not one of any, defocus, motion"),
    ({"min_confidence": 1.5}, "min_confidence=1.5"),
    ({"max_fit_ratio": 0.0}, "max_fit_ratio=0.0"),
    ({"switch_fit_ratio": 2.0}, "switch_fit_ratio=2.0"),
    ({"alpha": 0.0}, "alpha=0.0"),
    ({"blind_weight": -1.0}, "blind_weight=-1.0"),
    ({"defocus_weight": 0.0}, "defocus_weight=0.0"),
    ({"estimate_crop_px": 64}, "estimate_crop_px=64"),
])
def test_config_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        KernelAwareConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("image", "match"), [
    (np.zeros((64, 64), np.float32), "HxWx3"),
    (np.zeros((64, 64, 3), np.uint8), "255"),
    (np.full((64, 64, 3), np.inf, np.float32), "NaN or Inf"),
])
def test_bad_images(image: np.ndarray, match: str) -> None:
    with pytest.raises(ImageError, match=match):
        kernel_aware_deblur(image)
