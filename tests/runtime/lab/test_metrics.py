"""Tests for runtime.lab.metrics on a real package photo."""
from __future__ import annotations

from contextlib import nullcontext as does_not_raise
from typing import ContextManager

import cv2
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from runtime.errors import ConfigError
from runtime.lab.metrics import AlignedScore, aligned_psnr, max_abs_error, psnr, ssim
from runtime.lab.sample_images import load_sample


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    img = load_sample("coffee")
    return cv2.resize(img, (192, 128), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def test_psnr_of_known_mse(photo: np.ndarray) -> None:
    noisy = photo + np.float32(0.01)  # MSE exactly 1e-4 -> 40 dB
    assert psnr(photo, noisy) == pytest.approx(40.0, abs=1e-3)
    assert psnr(photo, photo) == 100.0


def test_psnr_ignores_the_border(photo: np.ndarray) -> None:
    damaged = photo.copy()
    damaged[:20] = 0
    assert psnr(photo, damaged, border_px=20) == 100.0
    assert psnr(photo, damaged, border_px=10) < 30


def test_ssim_matches_skimage(photo: np.ndarray, rng: np.random.Generator) -> None:
    noisy = np.clip(photo + rng.normal(0, 0.05, photo.shape), 0, 1).astype(np.float32)
    ref = structural_similarity(photo[20:-20, 20:-20], noisy[20:-20, 20:-20], channel_axis=2,
                                gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                data_range=1.0)
    assert ssim(photo, noisy) == pytest.approx(ref, abs=1e-4)
    assert ssim(photo, photo) == pytest.approx(1.0)
    assert ssim(photo[..., 0], noisy[..., 0]) < 0.99


@pytest.mark.parametrize("shift_yx", [(0, 0), (3, -2), (-4, 4), (1, 0)])
def test_aligned_psnr_undoes_a_translation(photo: np.ndarray, shift_yx: tuple[int, int]) -> None:
    moved = np.roll(photo, shift_yx, axis=(0, 1))
    score = aligned_psnr(photo, moved)
    assert score == AlignedScore(100.0, (-shift_yx[0], -shift_yx[1]))
    if shift_yx != (0, 0):
        assert psnr(photo, moved) < 35


def test_aligned_psnr_is_never_below_plain_psnr(photo: np.ndarray) -> None:
    soft = cv2.GaussianBlur(photo, (0, 0), 1.5)
    assert aligned_psnr(photo, soft).psnr_db >= psnr(photo, soft)
    assert aligned_psnr(photo, soft).shift_yx == (0, 0)


def test_max_abs_error(photo: np.ndarray) -> None:
    other = photo.copy()
    other[5, 7, 1] += 0.25
    assert max_abs_error(photo, other) == pytest.approx(0.25)
    assert max_abs_error(photo, photo) == 0.0


@pytest.mark.parametrize(
    ("shape_b", "border_px", "raises"),
    [
        ((128, 192, 3), 20, does_not_raise()),
        ((128, 190, 3), 20, pytest.raises(ConfigError, match="differ in shape")),
        ((128, 192, 3), 64, pytest.raises(ConfigError, match="border_px=64")),
        ((128, 192, 3), -1, pytest.raises(ConfigError, match="border_px=-1")),
    ],
)
def test_metric_argument_checks(photo: np.ndarray, shape_b: tuple[int, ...], border_px: int,
                                raises: ContextManager[object]) -> None:
    other = np.zeros(shape_b, np.float32)
    with raises:
        psnr(photo, other, border_px=border_px)
    with raises:
        ssim(photo, other, border_px=border_px)


def test_aligned_psnr_needs_border_for_the_shift(photo: np.ndarray) -> None:
    with pytest.raises(ConfigError, match="max_shift_px"):
        aligned_psnr(photo, photo, border_px=2, max_shift_px=4)
    with pytest.raises(ConfigError, match="differ in shape"):
        max_abs_error(photo, photo[1:])
