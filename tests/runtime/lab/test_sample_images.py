"""Tests for runtime.lab.sample_images: every photo loads, and the eval/train split holds."""
from __future__ import annotations

import numpy as np
import pytest

from runtime.errors import ConfigError
from runtime.lab import sample_images
from runtime.lab.sample_images import EVAL_IMAGES, FACE_IMAGES, TRAIN_IMAGES, load_sample, load_sample_scaled

ALL_NAMES = EVAL_IMAGES + TRAIN_IMAGES


@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_sample_loads_as_rgb_uint8(name: str) -> None:
    img = load_sample(name)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert min(img.shape[:2]) >= 128
    assert img.flags.c_contiguous
    assert img.std() > 5  # a real picture, not a blank


def test_grey_samples_are_expanded_to_three_equal_channels() -> None:
    img = load_sample("camera")
    np.testing.assert_array_equal(img[..., 0], img[..., 2])


def test_eval_and_train_are_disjoint_and_cover_everything() -> None:
    assert not set(EVAL_IMAGES) & set(TRAIN_IMAGES)
    assert set(ALL_NAMES) == set(sample_images._LOADERS)
    assert len(set(ALL_NAMES)) == len(ALL_NAMES)
    assert set(EVAL_IMAGES) == {"astronaut", "grace_hopper", "coffee", "chelsea"}


def test_faces_are_evaluation_images() -> None:
    assert set(FACE_IMAGES) <= set(EVAL_IMAGES)


def test_no_train_image_duplicates_an_eval_photo() -> None:
    """Catch the same photo registered under two names (e.g. a resized copy)."""
    def signature(name: str) -> np.ndarray:
        img = load_sample(name).astype(np.float32)
        h, w = img.shape[:2]
        return img[: h - h % 8, : w - w % 8].reshape(8, h // 8, 8, w // 8, 3).mean(axis=(1, 3))

    for ev in EVAL_IMAGES:
        for tr in TRAIN_IMAGES:
            a, b = signature(ev), signature(tr)
            assert np.abs(a - b).mean() > 5, (ev, tr)


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match="astronaut"):
        load_sample("lena")


@pytest.mark.parametrize(("name", "long_side", "shape"), [("coins", 256, (202, 256, 3)), ("astronaut", 640, (640, 640, 3))])
def test_scaled_samples_are_float_with_the_asked_long_side(name: str, long_side: int, shape: tuple[int, ...]) -> None:
    img = load_sample_scaled(name, long_side)
    assert img.shape == shape and img.dtype == np.float32 and 0 <= img.min() and img.max() <= 1
