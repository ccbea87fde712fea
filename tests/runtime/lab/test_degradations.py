"""Tests for runtime.lab.degradations: kernels, the linear-light blur model, noise and the camera pipeline."""
from __future__ import annotations

from contextlib import nullcontext as does_not_raise
from typing import Callable, ContextManager

import numpy as np
import pytest

from runtime.errors import ConfigError
from runtime.lab.degradations import (NoiseConfig, add_noise, blur, blur_valid, convolve, degrade, h264_roundtrip,
                                      jpeg_roundtrip, random_kernel)
from runtime.photo.kernels import (BlurFamily, camera_shake_kernel, defocus_kernel, gaussian_kernel, linear_motion_kernel,
                                   linear_to_srgb, srgb_to_linear)


def _moments(k: np.ndarray) -> tuple[float, float, float, float, float]:
    """(centroid dy, centroid dx) from the centre pixel, var_y, var_x, cov_xy (row axis down)."""
    ys, xs = np.mgrid[: k.shape[0], : k.shape[1]]
    cy, cx = float((k * ys).sum()), float((k * xs).sum())
    var_y = float((k * (ys - cy) ** 2).sum())
    var_x = float((k * (xs - cx) ** 2).sum())
    cov = float((k * (ys - cy) * (xs - cx)).sum())
    return cy - (k.shape[0] - 1) / 2, cx - (k.shape[1] - 1) / 2, var_y, var_x, cov


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from runtime.lab.sample_images import load_sample

    return load_sample("coffee")[::4, ::4].astype(np.float32) / 255


def test_srgb_transfer_round_trip_and_known_values() -> None:
    x = np.linspace(0, 1, 1001, dtype=np.float32)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=2e-6)
    assert srgb_to_linear(np.float32([0.5]))[0] == pytest.approx(0.21404, abs=1e-4)
    assert linear_to_srgb(np.float32([0.18]))[0] == pytest.approx(0.46135, abs=1e-4)
    assert np.all(np.diff(srgb_to_linear(x)) >= 0)
    np.testing.assert_array_equal(srgb_to_linear(np.float32([-0.5, 1.5])), [0.0, 1.0])


KERNELS: list[tuple[str, Callable[[], np.ndarray], bool]] = [
    ("motion 9 @ 0", lambda: linear_motion_kernel(9, 0), True),
    ("motion 15 @ 37", lambda: linear_motion_kernel(15, 37), True),
    ("motion 4.5 @ 120", lambda: linear_motion_kernel(4.5, 120), True),
    ("defocus 0.7", lambda: defocus_kernel(0.7), True),
    ("defocus 4", lambda: defocus_kernel(4), True),
    ("gaussian 1.5", lambda: gaussian_kernel(1.5), True),
    ("shake 13", lambda: camera_shake_kernel(np.random.default_rng(0), 13), True),
    ("shake 21 off-centre", lambda: camera_shake_kernel(np.random.default_rng(1), 21, recentre=False), False),
]


@pytest.mark.parametrize(("name", "make", "centred"), KERNELS, ids=[k[0] for k in KERNELS])
def test_kernel_invariants(name: str, make: Callable[[], np.ndarray], centred: bool) -> None:
    k = make()
    assert k.dtype == np.float32 and k.ndim == 2
    assert k.shape[0] % 2 == 1 and k.shape[1] % 2 == 1
    assert k.min() >= 0 and k.sum() == pytest.approx(1.0, abs=1e-5)
    dy, dx, *_ = _moments(k)
    if centred:
        assert abs(dy) < 0.05 and abs(dx) < 0.05


@pytest.mark.parametrize(
    ("make", "raises"),
    [
        (lambda: linear_motion_kernel(1, 0), does_not_raise()),
        (lambda: linear_motion_kernel(0.5, 0), pytest.raises(ConfigError, match="motion length")),
        (lambda: defocus_kernel(0), pytest.raises(ConfigError, match="defocus radius")),
        (lambda: gaussian_kernel(-1), pytest.raises(ConfigError, match="gaussian sigma")),
        (lambda: camera_shake_kernel(np.random.default_rng(0), 1.5), pytest.raises(ConfigError, match="extent")),
        (lambda: NoiseConfig(read_sigma=-0.1), pytest.raises(ConfigError, match="read_sigma")),
    ],
)
def test_invalid_parameters(make: Callable[[], object], raises: ContextManager[object]) -> None:
    with raises:
        make()


@pytest.mark.parametrize(
    ("angle", "horizontal"),
    [(0.0, True), (180.0, True), (90.0, False)],
)
def test_motion_kernel_direction(angle: float, horizontal: bool) -> None:
    _, _, var_y, var_x, _ = _moments(linear_motion_kernel(11, angle))
    assert (var_x > 10 * var_y) if horizontal else (var_y > 10 * var_x)


def test_motion_angle_is_counter_clockwise() -> None:
    """45 degrees goes right and *up*, i.e. towards smaller row indices."""
    *_, cov = _moments(linear_motion_kernel(15, 45))
    assert cov < -5
    *_, cov = _moments(linear_motion_kernel(15, 135))
    assert cov > 5


def test_motion_kernel_length() -> None:
    k = linear_motion_kernel(9, 0)
    row = k[k.shape[0] // 2]
    assert row.sum() == pytest.approx(1.0, abs=1e-5)
    assert row.sum() / row.max() == pytest.approx(9, abs=0.3)  # effective length: mass / peak


def test_defocus_kernel_is_a_disc() -> None:
    k = defocus_kernel(4)
    c = k.shape[0] // 2
    assert k[c, c] == pytest.approx(k[c, c + 3], rel=1e-6)  # flat inside
    assert k[c, c + 5] == 0  # nothing beyond r + 1
    np.testing.assert_allclose(k, k.T, atol=1e-7)


@pytest.mark.parametrize("seed", range(6))
def test_camera_shake_extent_and_determinism(seed: int) -> None:
    k = camera_shake_kernel(np.random.default_rng(seed), 17, recentre=False)
    ys, xs = np.nonzero(k > 1e-6)
    assert max(ys.ptp(), xs.ptp()) + 1 in range(16, 20)
    np.testing.assert_array_equal(k, camera_shake_kernel(np.random.default_rng(seed), 17, recentre=False))


def test_recentring_only_translates_the_shake_kernel() -> None:
    """The recentred kernel keeps its spread: recentring must not crop the trajectory."""
    for seed in range(60):
        raw = camera_shake_kernel(np.random.default_rng(seed), 21, recentre=False)
        rec = camera_shake_kernel(np.random.default_rng(seed), 21)
        _, _, vy0, vx0, _ = _moments(raw)
        dy, dx, vy1, vx1, _ = _moments(rec)
        assert abs(dy) < 0.05 and abs(dx) < 0.05, seed
        # bilinear resampling may add up to 0.25 px^2 per axis; cropping removes far more
        assert abs(vy1 - vy0) < 0.3 and abs(vx1 - vx0) < 0.3, seed


@pytest.mark.parametrize("family", list(BlurFamily))
def test_random_kernel_per_family(family: BlurFamily) -> None:
    rng = np.random.default_rng(7)
    for _ in range(5):
        spec = random_kernel(rng, family, max_extent_px=21)
        assert spec.family is family
        assert spec.kernel.sum() == pytest.approx(1.0, abs=1e-5)
        assert 0 < spec.size_px <= 21
        assert max(spec.kernel.shape) <= 21 + 4 + 2


def test_convolve_is_true_convolution() -> None:
    """A delta reproduces the kernel unflipped; an asymmetric kernel tells us."""
    k = np.zeros((5, 5), np.float32)
    k[1, 3], k[2, 2], k[4, 0] = 0.5, 0.3, 0.2
    img = np.zeros((21, 21, 3), np.float32)
    img[10, 10] = 1
    out = convolve(img, k)
    np.testing.assert_allclose(out[8:13, 8:13, 0], k, atol=1e-7)


def test_blur_keeps_flat_fields_and_borders(photo: np.ndarray) -> None:
    flat = np.full((40, 50, 3), 0.6, np.float32)
    np.testing.assert_allclose(blur(flat, defocus_kernel(5)), flat, atol=1e-5)
    out = blur(photo, linear_motion_kernel(15, 30))
    assert out.shape == photo.shape and out.dtype == np.float32
    # reflect padding: no dark frame at the border
    assert abs(out[:3].mean() - photo[:3].mean()) < 0.05


def test_blur_happens_in_linear_light() -> None:
    """Half black, half white, blurred: the edge pixel is 50 % *light*, not 50 % sRGB."""
    img = np.zeros((9, 10, 3), np.float32)
    img[:, 5:] = 1
    k = np.zeros((1, 3), np.float32)
    k[0, :2] = 0.5  # true convolution: averages a pixel with its right neighbour
    out = blur(img, k)
    assert out[4, 4, 0] == pytest.approx(float(linear_to_srgb(np.float32([0.5]))[0]), abs=1e-5)


def test_blur_valid_shape(photo: np.ndarray) -> None:
    k = defocus_kernel(3)
    out = blur_valid(photo, k)
    assert out.shape == (photo.shape[0] - k.shape[0] + 1, photo.shape[1] - k.shape[1] + 1, 3)
    np.testing.assert_allclose(out, blur(photo, k)[4:-4, 4:-4], atol=1e-6)


def test_add_noise_statistics(rng: np.random.Generator) -> None:
    flat = np.full((200, 200, 3), 0.25, np.float32)
    read = add_noise(flat, NoiseConfig(read_sigma=0.02), rng)
    assert read.std() == pytest.approx(0.02, rel=0.05)
    shot = add_noise(flat, NoiseConfig(shot_gain=0.004), rng)
    assert shot.std() == pytest.approx(np.sqrt(0.004 * 0.25), rel=0.05)
    assert read.mean() == pytest.approx(0.25, abs=1e-3)


def test_jpeg_roundtrip_keeps_colours(photo: np.ndarray) -> None:
    out = jpeg_roundtrip(photo, 95)
    assert out.shape == photo.shape and out.dtype == np.float32
    assert np.abs(out - photo).mean() < 0.025
    # colour order survives the BGR encoder: the red channel stays the red channel
    red = np.zeros((16, 16, 3), np.float32)
    red[..., 0] = 1
    assert jpeg_roundtrip(red, 90)[..., 0].mean() > 0.9


def test_degrade_pipeline(photo: np.ndarray) -> None:
    k = defocus_kernel(2)
    np.testing.assert_allclose(degrade(photo, k, np.random.default_rng(0)), blur(photo, k), atol=1e-6)
    a = degrade(photo, k, np.random.default_rng(5), srgb_noise_sigma=0.01)
    b = degrade(photo, k, np.random.default_rng(5), srgb_noise_sigma=0.01)
    np.testing.assert_array_equal(a, b)
    assert 0.008 < float(np.std(a - blur(photo, k))) < 0.011
    assert a.min() >= 0 and a.max() <= 1
    v = degrade(photo, k, np.random.default_rng(0), valid=True)
    assert v.shape == blur_valid(photo, k).shape
    j = degrade(photo, k, np.random.default_rng(0), jpeg_quality=50)
    assert 0 < np.abs(j - blur(photo, k)).mean() < 0.03


def test_h264_roundtrip_costs_detail_not_colour(photo: np.ndarray) -> None:
    odd = photo[:95, :127]
    fine, coarse = h264_roundtrip(odd, 18), h264_roundtrip(odd, 36)
    assert fine.shape == coarse.shape == (94, 126, 3) and fine.dtype == np.float32    # 4:2:0 needs even sizes
    err = [float(np.abs(out - odd[:94, :126]).mean()) for out in (fine, coarse)]
    assert err[0] < 0.04 and err[0] < 0.6 * err[1]          # CRF 18 keeps most detail, CRF 36 much less
    np.testing.assert_allclose(fine.mean(axis=(0, 1)), odd[:94, :126].mean(axis=(0, 1)), atol=0.01)
