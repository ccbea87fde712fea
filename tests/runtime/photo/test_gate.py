"""The sharpness gate: where the model's correction applies, and what it costs in memory."""
from __future__ import annotations

import tracemalloc

import cv2
import numpy as np

from runtime.lab.sample_images import load_sample
from runtime.photo.deblur import DeblurConfig, Method, deblur_image
from runtime.photo.gate import apply_gate, strength_map


def _half_blurred() -> np.ndarray:
    """Fine texture everywhere, sharp on the left, Gaussian-blurred (sigma 2) on the right."""
    noise = np.random.default_rng(0).random((384, 512, 3), dtype=np.float32)
    sharp = 0.2 + 0.6 * cv2.GaussianBlur(noise, (0, 0), 0.8)
    out = sharp.copy()
    out[:, 256:] = cv2.GaussianBlur(sharp, (0, 0), 2.0)[:, 256:]
    return out


def test_strength_keeps_sharp_regions_and_corrects_blurry_ones() -> None:
    strength = strength_map(_half_blurred())[..., 0]
    assert strength.shape == (384, 512)
    assert np.median(strength[:, 40:200]) < 0.3 < 0.9 < np.median(strength[:, 320:480])
    flat = np.full((64, 64, 3), 0.5, np.float32)
    np.testing.assert_allclose(strength_map(flat), 1.0)        # nothing to judge: the model changes little


def test_gate_blends_into_one_new_image() -> None:
    """out = input + strength * (restored - input), and a 48 MP photo needs one more image for
    it (it needed four)."""
    image = _half_blurred()
    restored = np.clip(image + np.float32(0.05), 0, 1)
    expected = image + strength_map(image) * (restored - image)
    tracemalloc.start()
    try:
        out = apply_gate(image, restored)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float32 and peak < 2 * image.nbytes
    in_place = apply_gate(image, restored, out=restored)
    assert in_place is restored
    np.testing.assert_array_equal(in_place, expected)


def test_a_photo_left_as_it_was_is_a_copy_and_the_input_is_untouched() -> None:
    """The kernel path hands back a photo it left alone; it must not be the caller's array."""
    photo = load_sample("coffee")[:128, :160].astype(np.float32) / 255.0
    before = photo.copy()
    result = deblur_image(photo, DeblurConfig(method=Method.KERNEL))
    assert not np.shares_memory(result.image, photo)
    np.testing.assert_array_equal(photo, before)
