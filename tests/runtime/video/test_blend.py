"""Soft-mask pasting, uniform mixing and border tapers."""
from __future__ import annotations

import numpy as np
import pytest

from runtime.errors import ConfigError
from runtime.video.blend import mix, paste_patches


def _frame() -> np.ndarray:
    return np.full((40, 50, 3), 100, np.uint8)


def test_full_mask_replaces_the_patch_area_only() -> None:
    frame = _frame()
    patch = np.full((10, 12, 3), 0.8, np.float32)
    paste_patches(frame, [patch], [np.ones((10, 12), np.float32)], np.array([[5, 7]]))
    assert np.all(frame[7:17, 5:17] == 204)
    frame[7:17, 5:17] = 100
    assert np.all(frame == 100)


@pytest.mark.parametrize("strength, mask_value, expected", [
    (1.0, 0.0, 100), (0.0, 1.0, 100), (0.5, 1.0, 150), (1.0, 0.25, 125), (0.5, 0.5, 125),
])
def test_strength_and_mask_scale_the_change(strength: float, mask_value: float, expected: int) -> None:
    frame = _frame()
    patch = np.full((8, 8, 3), 200 / 255, np.float32)
    paste_patches(frame, [patch], [np.full((8, 8), mask_value, np.float32)], np.array([[0, 0]]), strength)
    assert np.all(frame[:8, :8] == expected)


def test_patches_hanging_over_the_edge_are_clipped() -> None:
    frame = _frame()
    patch = np.ones((10, 10, 3), np.float32)
    mask = np.ones((10, 10), np.float32)
    paste_patches(frame, [patch, patch, patch], [mask, mask, mask], np.array([[-5, -5], [45, 35], [100, 100]]))
    assert np.all(frame[:5, :5] == 255) and np.all(frame[35:, 45:] == 255)
    assert frame[5:35, 5:45].max() == 100


def test_later_patches_go_on_top_and_sizes_may_differ() -> None:
    frame = _frame()
    paste_patches(frame, [np.zeros((20, 20, 3), np.float32), np.ones((10, 10, 3), np.float32)],
                  [np.ones((20, 20), np.float32), np.ones((10, 10), np.float32)], np.array([[0, 0], [5, 5]]))
    assert frame[0, 0, 0] == 0 and frame[6, 6, 0] == 255


@pytest.mark.parametrize("patches, masks, origins", [
    ([np.zeros((4, 4, 3), np.float32)], [np.zeros((4, 4), np.float32)], np.zeros((2, 2), int)),
    ([np.zeros((4, 4, 3), np.float32)], [np.zeros((5, 5), np.float32)], np.zeros((1, 2), int)),
    ([np.zeros((4, 4, 3), np.float32)], [], np.zeros((1, 2), int)),
])
def test_mismatched_inputs_raise(patches: list[np.ndarray], masks: list[np.ndarray], origins: np.ndarray) -> None:
    with pytest.raises(ConfigError):
        paste_patches(_frame(), patches, masks, origins)


def test_strength_outside_unit_interval_raises() -> None:
    with pytest.raises(ConfigError, match="strength"):
        paste_patches(_frame(), [], [], np.zeros((0, 2), int), strength=1.5)


@pytest.mark.parametrize("strength, expected", [(0.0, 100), (1.0, 200), (0.5, 150)])
def test_mix(strength: float, expected: int) -> None:
    out = mix(_frame(), np.full((40, 50, 3), 200, np.uint8), strength)
    assert np.all(out == expected)


def test_mix_writes_into_out_and_checks_shapes() -> None:
    processed = np.full((40, 50, 3), 200, np.uint8)
    assert mix(_frame(), processed, 0.5, out=processed) is processed and processed[0, 0, 0] == 150
    with pytest.raises(ConfigError, match="shapes"):
        mix(_frame(), np.zeros((4, 4, 3), np.uint8), 0.5)


# The light path (runtime.video.sharpen) lives here too: it is the cheap whole-frame blend.

@pytest.mark.parametrize("downscale", [1, 2])
def test_unsharp_raises_edge_contrast_and_keeps_flat_areas(downscale: int) -> None:
    from runtime.video.sharpen import UnsharpConfig, UnsharpMask

    img = np.full((64, 80, 3), 60, np.uint8)
    img[:, 40:] = 180
    img[:8] = 120  # a flat band away from the edge
    sharpener = UnsharpMask(UnsharpConfig(amount=1.0, downscale=downscale))
    out = sharpener.apply(img, strength=1.0)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert out[32, 38, 0] < 60 and out[32, 41, 0] > 180  # overshoot on both sides of the edge
    assert np.array_equal(out[30:, :30], img[30:, :30])
    same = sharpener.apply(img, strength=0.0)
    assert np.array_equal(same, img) and same is not img


def test_unsharp_writes_into_out_and_validates() -> None:
    from runtime.video.sharpen import UnsharpConfig, UnsharpMask

    img = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    out = np.empty_like(img)
    assert UnsharpMask().apply(img, 0.5, out=out) is out
    with pytest.raises(ConfigError):
        UnsharpMask().apply(img, 1.5)
    for bad in ({"amount": 0.0}, {"sigma_px": 0.0}, {"downscale": 5}):
        with pytest.raises(ConfigError):
            UnsharpConfig(**bad)  # type: ignore[arg-type]
